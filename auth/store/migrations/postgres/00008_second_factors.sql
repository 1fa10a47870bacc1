-- +goose Up
-- Second factors. The users columns mirror the factor tables, written in
-- the same transactions, so that reading a user (on every token refresh)
-- stays one statement.
ALTER TABLE users ADD COLUMN totp_enabled BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN backup_codes_left BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN mfa_enabled_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN mfa_disabled_at BIGINT NOT NULL DEFAULT 0;

-- A user's authenticator app: the secret sealed with a key derived from
-- CLERK_ENCRYPTION_KEY, unverified until its first code is entered, and
-- the last time step used, so no code is accepted twice.
CREATE TABLE totps (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    secret     BYTEA NOT NULL,
    verified   BIGINT NOT NULL DEFAULT 0,
    last_step  BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Backup codes, single use: only a keyed hash of each is kept.
CREATE TABLE backup_codes (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BYTEA NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- When the session's second factor was last verified (0: never).
ALTER TABLE sessions ADD COLUMN second_factor_verified_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE sessions DROP COLUMN second_factor_verified_at;
DROP TABLE backup_codes;
DROP TABLE totps;
ALTER TABLE users DROP COLUMN mfa_disabled_at;
ALTER TABLE users DROP COLUMN mfa_enabled_at;
ALTER TABLE users DROP COLUMN backup_codes_left;
ALTER TABLE users DROP COLUMN totp_enabled;
