-- SQLite form of ../0004_spent_nonces_by_expiry.sql: the table is rebuilt keyed by
-- `(expires_at, nonce)` (SQLite cannot change a primary key), still WITHOUT ROWID.
CREATE TABLE spent_nonces_new (
    nonce TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (expires_at, nonce)
) WITHOUT ROWID;
INSERT INTO spent_nonces_new (nonce, expires_at) SELECT nonce, expires_at FROM spent_nonces;
DROP TABLE spent_nonces;
ALTER TABLE spent_nonces_new RENAME TO spent_nonces;
