-- +goose Up
-- A key superseded by a rotation is retired at retire_at (ms), once every
-- token it signed has expired; 0 while it is the active key.
ALTER TABLE signing_keys ADD COLUMN retire_at BIGINT NOT NULL DEFAULT 0;

CREATE TABLE jwt_templates (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL UNIQUE,
    claims                TEXT NOT NULL,
    lifetime              BIGINT NOT NULL DEFAULT 60,
    allowed_clock_skew    BIGINT NOT NULL DEFAULT 5,
    signing_algorithm     TEXT NOT NULL DEFAULT 'RS256',
    -- NULL when the instance key signs; otherwise the custom HS256 secret
    -- or RS256 private key, encrypted with CLERK_ENCRYPTION_KEY.
    encrypted_signing_key BYTEA,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);

-- +goose Down
DROP TABLE jwt_templates;
ALTER TABLE signing_keys DROP COLUMN retire_at;
