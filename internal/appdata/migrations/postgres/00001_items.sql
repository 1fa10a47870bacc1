-- The example app's items, one list per user. Databases created before
-- this migration set existed already have the table (the store's first
-- migration made it); IF NOT EXISTS keeps their rows as they are.

-- +goose Up
CREATE TABLE IF NOT EXISTS items (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS items_user ON items (user_id, created_at);

-- +goose Down
DROP TABLE items;
