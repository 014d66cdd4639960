-- Batch issuance and lost responses: while its access token lives, an offer yields credentials
-- over several credential requests (one per key proof, each with its own status entry), up to
-- the governance's `per_offer`. `issued_count` counts them; `issued_at` stays the first
-- issuance. The same SQL serves SQLite and PostgreSQL.
ALTER TABLE offers ADD COLUMN issued_count BIGINT NOT NULL DEFAULT 0;
-- An offer issued before batches yielded exactly one credential.
UPDATE offers SET issued_count = 1 WHERE issued_at IS NOT NULL;
