-- Logins (OpenID Connect): credentials whose governance says `method: login` are issued only
-- after the holder signed in with the login provider it names. The same SQL serves SQLite and
-- PostgreSQL.

-- Whether the offer needs a login (1) before it redeems; who it is for (`subject`: the provider's
-- `sub` the login must have, NULL when anyone may sign in), and when and as whom the holder
-- signed in (the login's claims are then part of `claims`).
ALTER TABLE offers ADD COLUMN needs_login BIGINT NOT NULL DEFAULT 0;
ALTER TABLE offers ADD COLUMN subject TEXT;
ALTER TABLE offers ADD COLUMN logged_in_at BIGINT;
ALTER TABLE offers ADD COLUMN login_subject TEXT;

-- One authorization request (a wallet's, through PAR or /authorize, or the issuer's own web
-- page's: `kind` wallet or page), the login transaction it started with the provider, and the
-- authorization code it ends with. `state`: requested, logging_in (sent to the provider),
-- logged_in, code_issued, used (the code was exchanged), refused. The client, redirect URI, PKCE
-- challenge, the wallet's `state` and DPoP key thumbprint are the wallet's request (NULL on the
-- web journey); `login_state`, `login_nonce` and `login_verifier` are trustc's own request to the
-- provider. `offer_id` is the offer it logs in for (issuer-initiated), or the one the login made.
CREATE TABLE authorizations (
    id TEXT NOT NULL PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    credential TEXT NOT NULL,
    offer_id TEXT REFERENCES offers (id),
    client_id TEXT,
    redirect_uri TEXT,
    code_challenge TEXT,
    wallet_state TEXT,
    dpop_jkt TEXT,
    provider TEXT NOT NULL,
    login_state TEXT,
    login_nonce TEXT,
    login_verifier TEXT,
    code TEXT,
    code_expires_at BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
-- The sweep forgets authorizations (and presentations) that expired, oldest first.
CREATE INDEX authorizations_expiry ON authorizations (expires_at);
CREATE INDEX presentations_expiry ON presentations (expires_at);

-- The audit of every login: which provider, who (`sub`) at which assurance (`acr`), when, and
-- what came of it (logged_in or refused, and why). No other claim: the offer keeps what was
-- copied.
CREATE TABLE logins (
    authorization_id TEXT NOT NULL,
    offer_id TEXT,
    at BIGINT NOT NULL,
    provider TEXT NOT NULL,
    subject TEXT,
    acr TEXT,
    outcome TEXT NOT NULL,
    reason TEXT
);
CREATE INDEX logins_offer ON logins (offer_id, at);

-- Single-use keys (a DPoP proof's `jti`, …): spent once, remembered until some time after they
-- expired (then the proof they came with is refused by its age), then swept. Keyed by the key
-- alone: the same key is refused whatever expiry comes with it.
CREATE TABLE spent_once (
    id TEXT NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX spent_once_expiry ON spent_once (expires_at);
