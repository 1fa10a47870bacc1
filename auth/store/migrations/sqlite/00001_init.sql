-- +goose Up
CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    first_name       TEXT NOT NULL DEFAULT '',
    last_name        TEXT NOT NULL DEFAULT '',
    password_hash    TEXT NOT NULL DEFAULT '',
    public_metadata  TEXT NOT NULL DEFAULT '{}',
    private_metadata TEXT NOT NULL DEFAULT '{}',
    unsafe_metadata  TEXT NOT NULL DEFAULT '{}',
    banned           INTEGER NOT NULL DEFAULT 0,
    failed_sign_ins  INTEGER NOT NULL DEFAULT 0,
    locked_until     INTEGER NOT NULL DEFAULT 0,
    last_sign_in_at  INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;

CREATE TABLE email_addresses (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT NOT NULL UNIQUE,
    is_primary INTEGER NOT NULL DEFAULT 0,
    verified   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX email_addresses_user ON email_addresses (user_id);

CREATE TABLE clients (
    id                     TEXT PRIMARY KEY,
    secret_hash            BLOB NOT NULL,
    last_active_session_id TEXT,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    id                          TEXT PRIMARY KEY,
    client_id                   TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id                     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status                      TEXT NOT NULL,
    last_active_organization_id TEXT,
    actor                       TEXT,
    factor_verified_at          INTEGER NOT NULL,
    expire_at                   INTEGER NOT NULL,
    last_active_at              INTEGER NOT NULL,
    created_at                  INTEGER NOT NULL,
    updated_at                  INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id, status);
CREATE INDEX sessions_client ON sessions (client_id, status);

CREATE TABLE signing_keys (
    kid                   TEXT PRIMARY KEY,
    encrypted_private_key BLOB NOT NULL,
    created_at            INTEGER NOT NULL,
    retired_at            INTEGER NOT NULL DEFAULT 0
) STRICT;

-- The example app's items table moved to internal/appdata, which creates
-- it (IF NOT EXISTS) in databases that predate the move.

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE sessions;
DROP TABLE clients;
DROP TABLE email_addresses;
DROP TABLE users;
