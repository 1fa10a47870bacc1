-- +goose Up
CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    first_name       TEXT NOT NULL DEFAULT '',
    last_name        TEXT NOT NULL DEFAULT '',
    password_hash    TEXT NOT NULL DEFAULT '',
    public_metadata  TEXT NOT NULL DEFAULT '{}',
    private_metadata TEXT NOT NULL DEFAULT '{}',
    unsafe_metadata  TEXT NOT NULL DEFAULT '{}',
    banned           BIGINT NOT NULL DEFAULT 0,
    failed_sign_ins  BIGINT NOT NULL DEFAULT 0,
    locked_until     BIGINT NOT NULL DEFAULT 0,
    last_sign_in_at  BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

CREATE TABLE email_addresses (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT NOT NULL UNIQUE,
    is_primary BIGINT NOT NULL DEFAULT 0,
    verified   BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX email_addresses_user ON email_addresses (user_id);

CREATE TABLE clients (
    id                     TEXT PRIMARY KEY,
    secret_hash            BYTEA NOT NULL,
    last_active_session_id TEXT,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL
);

CREATE TABLE sessions (
    id                          TEXT PRIMARY KEY,
    client_id                   TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id                     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status                      TEXT NOT NULL,
    last_active_organization_id TEXT,
    actor                       TEXT,
    factor_verified_at          BIGINT NOT NULL,
    expire_at                   BIGINT NOT NULL,
    last_active_at              BIGINT NOT NULL,
    created_at                  BIGINT NOT NULL,
    updated_at                  BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id, status);
CREATE INDEX sessions_client ON sessions (client_id, status);

CREATE TABLE signing_keys (
    kid                   TEXT PRIMARY KEY,
    encrypted_private_key BYTEA NOT NULL,
    created_at            BIGINT NOT NULL,
    retired_at            BIGINT NOT NULL DEFAULT 0
);

-- The example app's items table moved to internal/appdata, which creates
-- it (IF NOT EXISTS) in databases that predate the move.

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE sessions;
DROP TABLE clients;
DROP TABLE email_addresses;
DROP TABLE users;
