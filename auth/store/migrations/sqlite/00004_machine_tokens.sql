-- +goose Up
-- Machines authenticate with a secret key (only its SHA-256 is kept) and
-- exchange it for M2M tokens.
CREATE TABLE machines (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    secret_hash       BLOB NOT NULL UNIQUE,
    default_token_ttl INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;

-- A machine may request tokens scoped to the machines listed here.
CREATE TABLE machine_scopes (
    from_machine_id TEXT NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    to_machine_id   TEXT NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (from_machine_id, to_machine_id)
) STRICT;
CREATE INDEX machine_scopes_to ON machine_scopes (to_machine_id);

-- Opaque machine tokens: M2M tokens (token_type m2m_token, subject mch_…)
-- and API keys (token_type api_key, subject user_… or org_…). Only the
-- SHA-256 of each secret is kept. machine_id and user_id repeat the subject
-- when it is a machine or a user, so deleting either deletes its tokens.
CREATE TABLE machine_tokens (
    id                TEXT PRIMARY KEY,
    token_type        TEXT NOT NULL,
    secret_hash       BLOB NOT NULL UNIQUE,
    subject           TEXT NOT NULL,
    machine_id        TEXT REFERENCES machines (id) ON DELETE CASCADE,
    user_id           TEXT REFERENCES users (id) ON DELETE CASCADE,
    name              TEXT NOT NULL DEFAULT '',
    description       TEXT NOT NULL DEFAULT '',
    claims            TEXT,
    scopes            TEXT NOT NULL DEFAULT '[]',
    created_by        TEXT REFERENCES users (id) ON DELETE SET NULL,
    expiration        INTEGER NOT NULL DEFAULT 0,
    revoked           INTEGER NOT NULL DEFAULT 0,
    revocation_reason TEXT,
    last_used_at      INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX machine_tokens_subject ON machine_tokens (token_type, subject, created_at);
CREATE INDEX machine_tokens_machine ON machine_tokens (machine_id);
CREATE INDEX machine_tokens_user ON machine_tokens (user_id);
CREATE INDEX machine_tokens_created_by ON machine_tokens (created_by);

-- +goose Down
DROP TABLE machine_tokens;
DROP TABLE machine_scopes;
DROP TABLE machines;
