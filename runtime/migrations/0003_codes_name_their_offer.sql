-- Pre-authorised codes and access tokens name their offer: `<offer id>.<secret>`. The runtime
-- finds the offer by its primary key and compares the whole value in constant time, so the
-- unique indexes on the code and on the token's hash go: each was a B-tree on random keys, written
-- at every offer and every redemption, and a lookup whose timing depended on the secret.
-- Codes and tokens handed out before this change no longer redeem (offers expire in minutes).
--
-- This is the PostgreSQL form; SQLite, which cannot drop a column's UNIQUE constraint, rebuilds
-- the tables instead (sqlite/0003_codes_name_their_offer.sql).
ALTER TABLE offers DROP CONSTRAINT offers_pre_authorized_code_key;
ALTER TABLE offers DROP CONSTRAINT offers_access_token_hash_key;
