-- +goose Up
-- A user's id in the operator's own systems (Clerk's external_id), set by
-- the Backend API or kept by an import; unique when set, so a lookup by
-- it finds one user.
ALTER TABLE users ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX users_external_id ON users (external_id) WHERE external_id IS NOT NULL;

-- +goose Down
DROP INDEX users_external_id;
ALTER TABLE users DROP COLUMN external_id;
