-- +goose Up
-- The audit log: one append-only row per security-relevant event. The
-- application role may insert and read it, nothing else.
CREATE TABLE platform.audit_log (
    id          uuid PRIMARY KEY,            -- UUIDv7
    occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    org_id      uuid,                        -- the organisation concerned, if any
    actor_id    uuid,                        -- who did it (NULL: anonymous or system)
    actor_role  text NOT NULL DEFAULT '',
    action      text NOT NULL,               -- e.g. auth.login_failed, applications.status_changed
    resource    text NOT NULL DEFAULT '',    -- e.g. user, application
    resource_id text NOT NULL DEFAULT '',
    ip          text NOT NULL DEFAULT '',
    request_id  text NOT NULL DEFAULT '',
    details     jsonb NOT NULL DEFAULT '{}'  -- never plaintext PII
);
CREATE INDEX audit_log_org_idx ON platform.audit_log (org_id, id);
GRANT SELECT, INSERT ON platform.audit_log TO pvara_app;

-- +goose Down
DROP TABLE IF EXISTS platform.audit_log;
