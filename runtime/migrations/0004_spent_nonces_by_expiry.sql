-- Spent nonces are keyed by their expiry first: a nonce carries its expiry (runtime/src/nonce.rs),
-- so `(expires_at, nonce)` is as unique as the nonce, new rows land at the end of the key, and
-- the sweep that forgets expired nonces deletes a leading range of the key in bounded chunks
-- instead of scanning the whole table for them. The constraint keeps its name: a second spend
-- of a nonce still violates `spent_nonces_pkey`.
--
-- This is the PostgreSQL form; SQLite, which cannot change a primary key, rebuilds the table
-- (sqlite/0004_spent_nonces_by_expiry.sql).
ALTER TABLE spent_nonces DROP CONSTRAINT spent_nonces_pkey;
ALTER TABLE spent_nonces ADD CONSTRAINT spent_nonces_pkey PRIMARY KEY (expires_at, nonce);
