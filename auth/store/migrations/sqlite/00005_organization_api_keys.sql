-- +goose Up
-- org_id repeats the subject of an organization's API key, as user_id does
-- for a user's, so the key cannot outlive its organization: deleting the
-- organization deletes its keys, and a key for an unknown organization
-- cannot be stored.
ALTER TABLE machine_tokens ADD COLUMN org_id TEXT REFERENCES organizations (id) ON DELETE CASCADE;

-- Keys stored before this rule for organizations that do not exist (any
-- more) stand for nobody: they go.
DELETE FROM machine_tokens
    WHERE token_type = 'api_key' AND substr(subject, 1, 4) = 'org_'
      AND subject NOT IN (SELECT id FROM organizations);
UPDATE machine_tokens SET org_id = subject
    WHERE token_type = 'api_key' AND substr(subject, 1, 4) = 'org_';
CREATE INDEX machine_tokens_org ON machine_tokens (org_id);

-- +goose Down
DROP INDEX machine_tokens_org;
ALTER TABLE machine_tokens DROP COLUMN org_id;
