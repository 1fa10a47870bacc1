-- +goose Up
-- Accounts at OAuth and OpenID providers (Google, GitHub, …) linked to a
-- user: one per provider and subject. users.external_accounts mirrors
-- their count, written in the same transactions, so that reading a user
-- without any (on every token refresh) stays one statement.
CREATE TABLE external_accounts (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider         TEXT NOT NULL,
    provider_user_id TEXT NOT NULL,
    email_address    TEXT NOT NULL DEFAULT '',
    email_verified   INTEGER NOT NULL DEFAULT 0,
    first_name       TEXT NOT NULL DEFAULT '',
    last_name        TEXT NOT NULL DEFAULT '',
    username         TEXT NOT NULL DEFAULT '',
    image_url        TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (provider, provider_user_id)
) STRICT;
CREATE INDEX external_accounts_user ON external_accounts (user_id);
ALTER TABLE users ADD COLUMN external_accounts INTEGER NOT NULL DEFAULT 0;

-- The states of finished provider sign-ins, so that each callback is
-- accepted once even if its encrypted cookie is replayed; kept until the
-- flow would have expired anyway.
CREATE TABLE oauth_states (
    state_hash TEXT PRIMARY KEY,
    expire_at  INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE oauth_states;
ALTER TABLE users DROP COLUMN external_accounts;
DROP TABLE external_accounts;
