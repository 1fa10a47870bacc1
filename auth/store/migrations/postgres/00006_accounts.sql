-- +goose Up
-- How each address was verified (Clerk's verification strategy:
-- email_code, ticket, admin, …); '' while unverified.
ALTER TABLE email_addresses ADD COLUMN verification_strategy TEXT NOT NULL DEFAULT '';
-- What this migration assumes: before it, sign-up marked every address
-- verified without checking it, and the backend client and the command
-- line created verified addresses on an operator's word. Those rows keep
-- their state (their owners have been signing in with them, and
-- invitations were accepted against them); they are reported as verified
-- by strategy "admin", as Clerk reports addresses an operator vouched for.
-- Rows marked unverified stay unverified.
UPDATE email_addresses SET verification_strategy = 'admin' WHERE verified = 1;

-- The device a session was started from, for the sessions list.
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN ip_address TEXT NOT NULL DEFAULT '';

-- A sign-up waiting for its email code: no user exists until the code is
-- right. The address is not reserved by it.
CREATE TABLE sign_up_attempts (
    id              TEXT PRIMARY KEY,
    email           TEXT NOT NULL,
    first_name      TEXT NOT NULL DEFAULT '',
    last_name       TEXT NOT NULL DEFAULT '',
    password_hash   TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    created_user_id TEXT,
    abandon_at      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- A sign-in under way (for now: a password reset). user_id is NULL when
-- the address belongs to nobody, which the answers never reveal.
CREATE TABLE sign_in_attempts (
    id         TEXT PRIMARY KEY,
    email      TEXT NOT NULL,
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    status     TEXT NOT NULL,
    expire_at  BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One-time codes, at most one live per subject (a sign-up attempt, a
-- sign-in attempt or an email address): a resend replaces the code. Only
-- a keyed hash of the code is kept.
CREATE TABLE verification_codes (
    subject    TEXT PRIMARY KEY,
    strategy   TEXT NOT NULL,
    email      TEXT NOT NULL,
    code_hash  BYTEA NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0,
    status     TEXT NOT NULL,
    sent_at    BIGINT NOT NULL,
    expire_at  BIGINT NOT NULL
);

-- Every message sent (or, for an unknown address, not sent), so one
-- limiter can count them per address, per IP and per user across
-- instances. Rows older than a day are pruned.
CREATE TABLE mail_log (
    id       TEXT PRIMARY KEY,
    kind     TEXT NOT NULL,
    address  TEXT NOT NULL,
    ip       TEXT NOT NULL,
    user_id  TEXT NOT NULL DEFAULT '',
    sent_at  BIGINT NOT NULL
);
CREATE INDEX mail_log_address ON mail_log (address, sent_at);
CREATE INDEX mail_log_ip ON mail_log (ip, sent_at);
CREATE INDEX mail_log_user ON mail_log (user_id, sent_at);
CREATE INDEX mail_log_time ON mail_log (sent_at);

-- Consecutive failed sign-ins per address, known or not, for the delays
-- that grow between attempts (the per-account lockout is on users).
CREATE TABLE sign_in_failures (
    address    TEXT PRIMARY KEY,
    failures   BIGINT NOT NULL,
    last_at    BIGINT NOT NULL
);

-- Security-relevant changes, written in the transaction of the change.
-- Not tied to users by a foreign key: the record outlives its subject.
CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    user_id     TEXT NOT NULL DEFAULT '',
    actor_id    TEXT NOT NULL DEFAULT '',
    session_id  TEXT NOT NULL DEFAULT '',
    resource_id TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    payload     TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL
);
CREATE INDEX audit_events_user ON audit_events (user_id, created_at);
CREATE INDEX audit_events_time ON audit_events (created_at);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE sign_in_failures;
DROP TABLE mail_log;
DROP TABLE verification_codes;
DROP TABLE sign_in_attempts;
DROP TABLE sign_up_attempts;
ALTER TABLE sessions DROP COLUMN ip_address;
ALTER TABLE sessions DROP COLUMN user_agent;
ALTER TABLE email_addresses DROP COLUMN verification_strategy;
