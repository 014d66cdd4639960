-- trustc serve: the issuer's store. Portable SQL for SQLite and PostgreSQL (one code path through
-- sqlx `Any`): TEXT and BIGINT columns only, JSON kept as TEXT, times as BIGINT unix seconds,
-- booleans as BIGINT 0/1.

-- One row per credential offer (pre-authorised code flow). `state` is one of offered, redeemed,
-- issued, revoked, locked. The access token is stored only as its SHA-256 (hex).
CREATE TABLE offers (
    id TEXT NOT NULL PRIMARY KEY,
    pre_authorized_code TEXT NOT NULL UNIQUE,
    tx_code TEXT,
    credential TEXT NOT NULL,
    claims TEXT NOT NULL,
    state TEXT NOT NULL,
    tx_attempts BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    redeemed_at BIGINT,
    access_token_hash TEXT UNIQUE,
    token_expires_at BIGINT,
    issued_at BIGINT,
    revoked_at BIGINT
);

-- The status-list entry of each issued credential: a random, unique index in a list.
CREATE TABLE status_entries (
    list_id BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    offer_id TEXT NOT NULL REFERENCES offers (id),
    revoked BIGINT NOT NULL DEFAULT 0,
    issued_at BIGINT NOT NULL,
    PRIMARY KEY (list_id, idx)
);
CREATE INDEX status_entries_offer ON status_entries (offer_id);
-- Only revoked entries: status lists are rebuilt from it.
CREATE INDEX status_entries_revoked ON status_entries (list_id, idx) WHERE revoked = 1;

-- Credential-request nonces (c_nonce): consumed by deleting them, once. Only unconsumed nonces
-- stay, so the sweep scans a small table; no index on expires_at (it would cost every nonce two
-- more page writes).
CREATE TABLE nonces (
    nonce TEXT NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
