-- SQLite form of ../0003_codes_name_their_offer.sql: the offers table is rebuilt without the
-- unique constraints on the code and the token's hash (SQLite cannot drop them). The tables of
-- small rows keyed by random values, status entries and spent nonces, become WITHOUT ROWID:
-- one B-tree each instead of a table plus its primary-key index, so an insert writes one
-- random page instead of two.
--
-- Runs in the migrator's transaction with foreign keys on: the child table is rebuilt against
-- the new parent before the old parent goes, and RENAME carries the reference along.
CREATE TABLE offers_new (
    id TEXT NOT NULL PRIMARY KEY,
    pre_authorized_code TEXT NOT NULL,
    tx_code TEXT,
    credential TEXT NOT NULL,
    claims TEXT NOT NULL,
    state TEXT NOT NULL,
    tx_attempts BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    redeemed_at BIGINT,
    access_token_hash TEXT,
    token_expires_at BIGINT,
    issued_at BIGINT,
    revoked_at BIGINT
);
INSERT INTO offers_new (id, pre_authorized_code, tx_code, credential, claims, state, tx_attempts,
    created_at, expires_at, redeemed_at, access_token_hash, token_expires_at, issued_at,
    revoked_at)
SELECT id, pre_authorized_code, tx_code, credential, claims, state, tx_attempts, created_at,
    expires_at, redeemed_at, access_token_hash, token_expires_at, issued_at, revoked_at
FROM offers;

CREATE TABLE status_entries_new (
    list_id BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    offer_id TEXT NOT NULL REFERENCES offers_new (id),
    revoked BIGINT NOT NULL DEFAULT 0,
    issued_at BIGINT NOT NULL,
    PRIMARY KEY (list_id, idx)
) WITHOUT ROWID;
INSERT INTO status_entries_new (list_id, idx, offer_id, revoked, issued_at)
SELECT list_id, idx, offer_id, revoked, issued_at FROM status_entries;

DROP TABLE status_entries;
DROP TABLE offers;
ALTER TABLE offers_new RENAME TO offers;
ALTER TABLE status_entries_new RENAME TO status_entries;
CREATE INDEX status_entries_offer ON status_entries (offer_id);
CREATE INDEX status_entries_revoked ON status_entries (list_id, idx) WHERE revoked = 1;

CREATE TABLE spent_nonces_new (
    nonce TEXT NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO spent_nonces_new (nonce, expires_at) SELECT nonce, expires_at FROM spent_nonces;
DROP TABLE spent_nonces;
ALTER TABLE spent_nonces_new RENAME TO spent_nonces;
