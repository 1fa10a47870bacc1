-- +goose Up
CREATE TABLE organizations (
    id                      TEXT PRIMARY KEY,
    name                    TEXT NOT NULL,
    slug                    TEXT NOT NULL UNIQUE,
    public_metadata         TEXT NOT NULL DEFAULT '{}',
    private_metadata        TEXT NOT NULL DEFAULT '{}',
    max_allowed_memberships BIGINT NOT NULL DEFAULT 0,
    created_by              TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL
);

CREATE TABLE organization_memberships (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (organization_id, user_id)
);
CREATE INDEX organization_memberships_user ON organization_memberships (user_id);

CREATE TABLE organization_invitations (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email            TEXT NOT NULL,
    role             TEXT NOT NULL,
    status           TEXT NOT NULL,
    token_hash       BYTEA NOT NULL UNIQUE,
    inviter_id       TEXT REFERENCES users (id) ON DELETE SET NULL,
    public_metadata  TEXT NOT NULL DEFAULT '{}',
    private_metadata TEXT NOT NULL DEFAULT '{}',
    expires_at       BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
-- At most one open invitation per address and organization.
CREATE UNIQUE INDEX organization_invitations_pending ON organization_invitations (organization_id, email) WHERE status = 'pending';
CREATE INDEX organization_invitations_org ON organization_invitations (organization_id, created_at);

CREATE TABLE actor_tokens (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    actor_user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    actor         TEXT NOT NULL,
    token_hash    BYTEA NOT NULL UNIQUE,
    status        TEXT NOT NULL,
    session_id    TEXT,
    expires_at    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE INDEX sessions_active_organization ON sessions (last_active_organization_id);

-- +goose Down
DROP INDEX sessions_active_organization;
DROP TABLE actor_tokens;
DROP TABLE organization_invitations;
DROP TABLE organization_memberships;
DROP TABLE organizations;
