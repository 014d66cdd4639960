-- Nonces are no longer stored when they are handed out: a c_nonce is a MAC-protected value that
-- carries its own expiry (runtime/src/nonce.rs), so the unauthenticated nonce endpoint writes
-- nothing. What must be shared is which nonces were spent: a nonce is recorded here, once, in the
-- transaction that issues the credential its proof was for, and forgotten (swept) some time after
-- it expired, when no instance accepts it any more.
DROP TABLE nonces;

CREATE TABLE spent_nonces (
    nonce TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    CONSTRAINT spent_nonces_pkey PRIMARY KEY (nonce)
);
