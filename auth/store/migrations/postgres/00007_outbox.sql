-- +goose Up
-- The audit events are also the outbox that webhooks deliver from: each
-- row is written in the transaction of the change it records, so a change
-- and its event commit or roll back together.
-- machine_id: the machine that made the change, when a machine did.
-- object and data: the changed resource's kind and its state at that
-- moment, in the store's shape without secrets (null when the change left
-- nothing to show).
-- dispatched_at: when the webhook dispatcher took the event (null until
-- then). Events recorded before webhooks existed are not delivered.
ALTER TABLE audit_events ADD COLUMN machine_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN object TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN data TEXT;
ALTER TABLE audit_events ADD COLUMN dispatched_at BIGINT;
UPDATE audit_events SET dispatched_at = created_at;
CREATE INDEX audit_events_undispatched ON audit_events (created_at) WHERE dispatched_at IS NULL;

-- +goose Down
DROP INDEX audit_events_undispatched;
ALTER TABLE audit_events DROP COLUMN dispatched_at;
ALTER TABLE audit_events DROP COLUMN data;
ALTER TABLE audit_events DROP COLUMN object;
ALTER TABLE audit_events DROP COLUMN machine_id;
