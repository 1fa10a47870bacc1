-- +goose Up
-- Passkeys (WebAuthn credentials): what verifying an assertion needs
-- (the public key, the sign count, the backup flags) and what the
-- profile lists. users.passkeys mirrors their count, written in the same
-- transactions, like users.external_accounts.
CREATE TABLE passkeys (
    id                 TEXT PRIMARY KEY,
    user_id            TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id      BLOB NOT NULL UNIQUE,
    public_key         BLOB NOT NULL,
    attestation_type   TEXT NOT NULL DEFAULT '',
    attestation_format TEXT NOT NULL DEFAULT '',
    transports         TEXT NOT NULL DEFAULT '',
    aaguid             BLOB,
    sign_count         INTEGER NOT NULL DEFAULT 0,
    user_verified      INTEGER NOT NULL DEFAULT 0,
    backup_eligible    INTEGER NOT NULL DEFAULT 0,
    backup_state       INTEGER NOT NULL DEFAULT 0,
    name               TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    last_used_at       INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX passkeys_user ON passkeys (user_id);
ALTER TABLE users ADD COLUMN passkeys INTEGER NOT NULL DEFAULT 0;

-- WebAuthn ceremonies under way: the challenge and what the library
-- keeps with it, for five minutes, used once (deleted when used).
CREATE TABLE webauthn_challenges (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL DEFAULT '',
    purpose    TEXT NOT NULL,
    session    TEXT NOT NULL,
    expire_at  INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE webauthn_challenges;
ALTER TABLE users DROP COLUMN passkeys;
DROP TABLE passkeys;
