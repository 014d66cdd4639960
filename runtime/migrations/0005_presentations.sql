-- Presentations: credentials whose governance names prerequisites are issued only after the
-- holder presented them (OpenID4VP). The same SQL serves SQLite and PostgreSQL.

-- Whether the offer's credential has prerequisites (1) and when they were verified (their claims
-- are then merged into `claims`): such an offer cannot be redeemed before.
ALTER TABLE offers ADD COLUMN needs_presentation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE offers ADD COLUMN presented_at BIGINT;

-- One OpenID4VP request made for an offer, and where its answer is. `state`: pending (waiting for
-- the wallet's response), answered (a response is being verified: a response is accepted once),
-- verified, refused, code_issued (presentation during issuance: the authorization code was
-- handed out), used (the code was exchanged). `auth_session`, `session` and `code` name their
-- request (`<id>.<secret>`); the client, PKCE challenge and redirect URI are those of the wallet's
-- authorization challenge (NULL on the web journey).
CREATE TABLE presentations (
    id TEXT NOT NULL PRIMARY KEY,
    offer_id TEXT NOT NULL REFERENCES offers (id),
    nonce TEXT NOT NULL,
    state TEXT NOT NULL,
    auth_session TEXT,
    client_id TEXT,
    code_challenge TEXT,
    redirect_uri TEXT,
    session TEXT,
    code TEXT,
    code_expires_at BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX presentations_offer ON presentations (offer_id);

-- The audit of every verification: which rule, which issuer, which type and status entry, when,
-- and what came of it (and why, when refused). No claim values: the offer keeps what was copied.
CREATE TABLE verifications (
    presentation_id TEXT NOT NULL,
    offer_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    prerequisite TEXT,
    issuer TEXT,
    vct TEXT,
    status_uri TEXT,
    status_idx BIGINT,
    outcome TEXT NOT NULL,
    reason TEXT
);
CREATE INDEX verifications_offer ON verifications (offer_id, at);
