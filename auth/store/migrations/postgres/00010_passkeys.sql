-- +goose Up
-- Passkeys (WebAuthn credentials): what verifying an assertion needs
-- (the public key, the sign count, the backup flags) and what the
-- profile lists. users.passkeys mirrors their count, written in the same
-- transactions, like users.external_accounts.
CREATE TABLE passkeys (
    id                 TEXT PRIMARY KEY,
    user_id            TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id      BYTEA NOT NULL UNIQUE,
    public_key         BYTEA NOT NULL,
    attestation_type   TEXT NOT NULL DEFAULT '',
    attestation_format TEXT NOT NULL DEFAULT '',
    transports         TEXT NOT NULL DEFAULT '',
    aaguid             BYTEA,
    sign_count         BIGINT NOT NULL DEFAULT 0,
    user_verified      BIGINT NOT NULL DEFAULT 0,
    backup_eligible    BIGINT NOT NULL DEFAULT 0,
    backup_state       BIGINT NOT NULL DEFAULT 0,
    name               TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    last_used_at       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX passkeys_user ON passkeys (user_id);
ALTER TABLE users ADD COLUMN passkeys BIGINT NOT NULL DEFAULT 0;

-- WebAuthn ceremonies under way: the challenge and what the library
-- keeps with it, for five minutes, used once (deleted when used).
CREATE TABLE webauthn_challenges (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL DEFAULT '',
    purpose    TEXT NOT NULL,
    session    TEXT NOT NULL,
    expire_at  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE webauthn_challenges;
ALTER TABLE users DROP COLUMN passkeys;
DROP TABLE passkeys;
