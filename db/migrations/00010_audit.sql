-- +goose Up
-- The audit log: one append-only row per security-relevant event, linked
-- into a SHA-256 hash chain by a sealer (docs/security.md, "Audit log").
--
-- Writers only INSERT into platform.audit_log, concurrently and without any
-- lock: a chain head that every writer had to read and update until commit
-- would serialise every audited write path (TRAPS.md). A single sealer
-- (maintenance role, advisory lock) links committed entries into
-- platform.audit_chain moments later, in the order it sees them commit.
-- Both tables are insert-only: the application role has INSERT and SELECT
-- and nothing else, and triggers refuse UPDATE, DELETE and TRUNCATE for
-- everyone, the owner included, unless the triggers are disabled.
CREATE TABLE platform.audit_log (
    id          uuid PRIMARY KEY,            -- UUIDv7
    -- tx_id is the writing transaction's id (xid8). pvara_app may not insert
    -- this column (column grants below), so the default always applies; the
    -- sealer uses it with the snapshot horizon to know which entries can no
    -- longer appear late (see platform.audit_chain.watermark).
    tx_id       bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    occurred_at timestamptz NOT NULL,
    org_id      uuid,                        -- the organisation concerned, if any
    actor_id    uuid,                        -- who did it (NULL: anonymous or system)
    actor_role  text NOT NULL DEFAULT '',
    action      text NOT NULL CHECK (action <> ''), -- e.g. auth.login_failed
    resource    text NOT NULL DEFAULT '',    -- e.g. user, application
    resource_id text NOT NULL DEFAULT '',
    ip          text NOT NULL DEFAULT '',
    request_id  text NOT NULL DEFAULT '',
    details     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object') -- never plaintext PII
);
-- The sealer's window scan (tx_id >= watermark, in (tx_id, id) order).
CREATE INDEX audit_log_tx_idx ON platform.audit_log (tx_id, id);
-- GET /v1/audit: an organisation's entries, newest first; one actor's.
-- Partial, so entries without an organisation or actor cost writers nothing.
CREATE INDEX audit_log_org_idx ON platform.audit_log (org_id, id) WHERE org_id IS NOT NULL;
CREATE INDEX audit_log_actor_idx ON platform.audit_log (actor_id, id) WHERE actor_id IS NOT NULL;

-- The chain: link seq holds the hash of entry entry_id's canonical encoding
-- (entry_hash), the previous link's hash (prev_hash; 32 zero bytes for seq
-- 1) and hash = SHA-256(domain || prev_hash || seq || entry_hash). The
-- primary key, UNIQUE(prev_hash) and UNIQUE(entry_id) make a fork
-- impossible even if two sealers ran at once: the second to commit fails.
CREATE TABLE platform.audit_chain (
    seq        bigint PRIMARY KEY CHECK (seq >= 1),
    entry_id   uuid NOT NULL UNIQUE,
    entry_hash bytea NOT NULL CHECK (length(entry_hash) = 32),
    prev_hash  bytea NOT NULL UNIQUE CHECK (length(prev_hash) = 32),
    hash       bytea NOT NULL CHECK (length(hash) = 32),
    sealed_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- watermark: after the batch that wrote this link, every committed entry
    -- with tx_id < watermark is sealed. The next batch scans only entries
    -- with tx_id >= watermark. Not part of the hash: it only bounds work.
    watermark  bigint NOT NULL
);

-- audit_refuse_change makes both tables append-only for every role, owner
-- included. Statement-level, so even an UPDATE or DELETE that matches no row
-- is refused. Tamper drills disable it (session_replication_role = replica
-- or ALTER TABLE ... DISABLE TRIGGER), which needs the owner or a superuser.
-- +goose StatementBegin
CREATE FUNCTION platform.audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION '%.% is append-only: % is not allowed', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON platform.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION platform.audit_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON platform.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION platform.audit_refuse_change();
CREATE TRIGGER audit_chain_append_only BEFORE UPDATE OR DELETE ON platform.audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION platform.audit_refuse_change();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON platform.audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION platform.audit_refuse_change();

-- audit_chain_check_link refuses a link that does not extend the chain: seq
-- 1 must start from the zero hash, seq n must carry the hash of link n-1.
-- With the unique constraints this keeps the chain one straight line, whoever
-- inserts. (A VOLATILE plpgsql trigger sees the rows inserted before it by
-- the same statement, so a multi-row insert of consecutive links works.)
-- +goose StatementBegin
CREATE FUNCTION platform.audit_chain_check_link() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    prev bytea;
BEGIN
    IF NEW.seq = 1 THEN
        prev := decode(repeat('00', 32), 'hex');
    ELSE
        SELECT c.hash INTO prev FROM platform.audit_chain c WHERE c.seq = NEW.seq - 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'audit chain link % has no predecessor', NEW.seq
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    IF NEW.prev_hash IS DISTINCT FROM prev THEN
        RAISE EXCEPTION 'audit chain link % does not follow link %', NEW.seq, NEW.seq - 1
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_chain_check_link BEFORE INSERT ON platform.audit_chain
    FOR EACH ROW EXECUTE FUNCTION platform.audit_chain_check_link();

-- Row-level security: an org_admin's transaction (scope org) sees its
-- organisation's entries only, background work and platform admins (scope
-- system) see all, and a transaction with no scope sees nothing. Anyone may
-- insert: entries are written from every context, anonymous logins included.
ALTER TABLE platform.audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform.audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_log_insert ON platform.audit_log FOR INSERT WITH CHECK (true);
CREATE POLICY audit_log_read ON platform.audit_log FOR SELECT USING (
    current_setting('app.scope', true) = 'system'
    OR (current_setting('app.scope', true) = 'org'
        AND org_id = nullif(current_setting('app.org_id', true), '')::uuid)
);

REVOKE ALL ON platform.audit_log, platform.audit_chain FROM PUBLIC;
GRANT SELECT ON platform.audit_log TO pvara_app;
GRANT INSERT (id, occurred_at, org_id, actor_id, actor_role, action, resource, resource_id, ip, request_id, details)
    ON platform.audit_log TO pvara_app;
GRANT SELECT, INSERT ON platform.audit_chain TO pvara_app;

-- +goose Down
DROP TABLE IF EXISTS platform.audit_chain;
DROP TABLE IF EXISTS platform.audit_log;
DROP FUNCTION IF EXISTS platform.audit_chain_check_link();
DROP FUNCTION IF EXISTS platform.audit_refuse_change();
