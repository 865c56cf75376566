-- +goose Up
-- The applications module, part two: applications, their duplicate guard,
-- status history and idempotency keys. docs/applications.md describes the
-- model; the column names of applications.applications are fixed by the
-- cross-module contract (screening and staff search read them).

-- receipt_seq numbers receipts. A sequence takes no lock that lasts until
-- commit (nextval is not transactional), so concurrent submissions keep
-- PostgreSQL's group commit; a rolled-back submission leaves a gap, which a
-- receipt number may have.
CREATE SEQUENCE applications.receipt_seq AS bigint START 100001 CACHE 20;
GRANT USAGE ON SEQUENCE applications.receipt_seq TO pvara_app;

-- applications is range-partitioned by created_at, monthly. created_at is
-- the timestamp of the UUIDv7 id (millisecond precision), so a lookup by id
-- names its partition (WHERE id = $1 AND created_at = <the id's time>).
-- Partitions are created by the partition manager (registered below), at
-- `migrate up` and daily by the maintenance role; a submission that still
-- finds no partition creates its month on demand and retries (there is no
-- DEFAULT partition: attaching a month to a non-empty default would scan
-- and lock it).
CREATE TABLE applications.applications (
    id                uuid NOT NULL,                     -- UUIDv7
    created_at        timestamptz NOT NULL,              -- the id's timestamp
    org_id            uuid NOT NULL,                     -- the job's organisation
    job_id            uuid NOT NULL,                     -- jobs' job (no cross-schema FK)
    candidate_id      uuid NOT NULL,                     -- auth's user
    receipt_number    text NOT NULL,                     -- unique through applications.guards
    status            text NOT NULL DEFAULT 'submitted'
                      CHECK (status IN ('submitted', 'under_review', 'shortlisted', 'interview', 'offered',
                                        'hired', 'rejected', 'withdrawn')),
    -- version is bumped by every status change (optimistic checks, ETag).
    version           integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    cover_letter      text CHECK (char_length(cover_letter) <= 5000),
    -- The candidate as submitted: copied from auth (name, masked CNIC) and
    -- from the profile, so what was true at the deadline is what is judged.
    candidate_name    text NOT NULL,
    cnic_masked       text NOT NULL,
    gender            text NOT NULL CHECK (gender IN ('male', 'female', 'other')),
    date_of_birth     date NOT NULL,
    domicile_province text NOT NULL CHECK (domicile_province IN ('punjab', 'sindh', 'kpk', 'balochistan', 'islamabad', 'gb', 'ajk')),
    domicile_district text NOT NULL,
    skills            text[] NOT NULL DEFAULT '{}',
    resume_text       text NOT NULL DEFAULT '',
    -- profile is the whole submitted profile snapshot (education,
    -- experience, ...) without the phone number.
    profile           jsonb NOT NULL,
    -- phone_enc is AES-256-GCM (fieldcrypt) bound to
    -- "applications.applications.phone:"+id; never stored in clear.
    phone_enc         bytea,
    -- search: candidate name (A), skills (B), résumé (C), 'simple'
    -- configuration (names and romanised Urdu as written). The skills come
    -- from the snapshot's jsonb because array_to_string is not immutable.
    search            tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple'::regconfig, candidate_name), 'A') ||
        setweight(jsonb_to_tsvector('simple'::regconfig, coalesce(profile -> 'skills', '[]'::jsonb), '["string"]'), 'B') ||
        setweight(to_tsvector('simple'::regconfig, resume_text), 'C')
    ) STORED,
    -- The screening result, stored by the consumer of screening.scored;
    -- NULL until scored. A score is applied only when its scored_at is
    -- newer than the stored one.
    ai_score          numeric(5,2) CHECK (ai_score BETWEEN 0 AND 100),
    eligible          boolean,
    model_version     text,
    scored_at         timestamptz,
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);

-- A candidate's own list (GET /v1/me/applications), newest first.
CREATE INDEX applications_candidate_idx ON applications.applications (candidate_id, id DESC);
-- A job's applications in id order (screening's SubmittedForJob, CSV).
CREATE INDEX applications_job_idx ON applications.applications (job_id, id);

INSERT INTO platform.partitioned_tables (schema_name, table_name) VALUES ('applications', 'applications');
-- The current month and the next three exist from the first migration on;
-- the partition manager extends the horizon from there.
SELECT platform.ensure_monthly_partitions('applications', 'applications', now() - interval '1 month', 4);

-- Row-level security: staff (scope org) see their organisation's
-- applications, a candidate (scope user) their own, workers (system) all.
-- Only candidates insert (their own); staff and system update.
ALTER TABLE applications.applications ENABLE ROW LEVEL SECURITY;
ALTER TABLE applications.applications FORCE ROW LEVEL SECURITY;
CREATE POLICY applications_read ON applications.applications FOR SELECT TO pvara_app USING (
    current_setting('app.scope', true) = 'system'
    OR (current_setting('app.scope', true) = 'org'
        AND org_id = nullif(current_setting('app.org_id', true), '')::uuid)
    OR (current_setting('app.scope', true) = 'user'
        AND candidate_id = nullif(current_setting('app.user_id', true), '')::uuid)
);
CREATE POLICY applications_insert ON applications.applications FOR INSERT TO pvara_app WITH CHECK (
    current_setting('app.scope', true) = 'system'
    OR (current_setting('app.scope', true) = 'user'
        AND candidate_id = nullif(current_setting('app.user_id', true), '')::uuid)
);
CREATE POLICY applications_update ON applications.applications FOR UPDATE TO pvara_app USING (
    current_setting('app.scope', true) = 'system'
    OR (current_setting('app.scope', true) = 'org'
        AND org_id = nullif(current_setting('app.org_id', true), '')::uuid)
    OR (current_setting('app.scope', true) = 'user'
        AND candidate_id = nullif(current_setting('app.user_id', true), '')::uuid)
) WITH CHECK (
    current_setting('app.scope', true) = 'system'
    OR (current_setting('app.scope', true) = 'org'
        AND org_id = nullif(current_setting('app.org_id', true), '')::uuid)
    -- A candidate's only change to their application is withdrawing it.
    OR (current_setting('app.scope', true) = 'user'
        AND candidate_id = nullif(current_setting('app.user_id', true), '')::uuid
        AND status = 'withdrawn')
);
GRANT SELECT, INSERT, UPDATE ON applications.applications TO pvara_app;

-- guards is the duplicate guard: one row per candidate and job, whatever
-- the month, written in the submission's transaction. Its primary key makes
-- the second of two racing submissions fail (unique violation →
-- 409 duplicate_application); a read-then-write check could not. It also
-- holds the receipt number, unique across every partition.
CREATE TABLE applications.guards (
    job_id         uuid NOT NULL,
    candidate_id   uuid NOT NULL,
    application_id uuid NOT NULL,
    created_at     timestamptz NOT NULL,
    receipt_number text NOT NULL,
    PRIMARY KEY (job_id, candidate_id),
    CONSTRAINT guards_receipt_number_key UNIQUE (receipt_number)
);
ALTER TABLE applications.guards ENABLE ROW LEVEL SECURITY;
ALTER TABLE applications.guards FORCE ROW LEVEL SECURITY;
CREATE POLICY guards_owner ON applications.guards FOR ALL TO pvara_app USING (
    current_setting('app.scope', true) = 'system'
    OR (current_setting('app.scope', true) = 'user'
        AND candidate_id = nullif(current_setting('app.user_id', true), '')::uuid)
) WITH CHECK (
    current_setting('app.scope', true) = 'system'
    OR (current_setting('app.scope', true) = 'user'
        AND candidate_id = nullif(current_setting('app.user_id', true), '')::uuid)
);
GRANT SELECT, INSERT ON applications.guards TO pvara_app;

-- status_history: every status an application has had, the first row
-- written by the submission (from_status NULL).
CREATE TABLE applications.status_history (
    id             uuid PRIMARY KEY,                   -- UUIDv7: time order
    application_id uuid NOT NULL,
    org_id         uuid NOT NULL,
    candidate_id   uuid NOT NULL,
    from_status    text,
    to_status      text NOT NULL,
    reason         text CHECK (char_length(reason) <= 1000),
    changed_by     uuid NOT NULL,
    changed_at     timestamptz NOT NULL
);
CREATE INDEX status_history_application_idx ON applications.status_history (application_id, id);
ALTER TABLE applications.status_history ENABLE ROW LEVEL SECURITY;
ALTER TABLE applications.status_history FORCE ROW LEVEL SECURITY;
CREATE POLICY status_history_read ON applications.status_history FOR SELECT TO pvara_app USING (
    current_setting('app.scope', true) = 'system'
    OR (current_setting('app.scope', true) = 'org'
        AND org_id = nullif(current_setting('app.org_id', true), '')::uuid)
    OR (current_setting('app.scope', true) = 'user'
        AND candidate_id = nullif(current_setting('app.user_id', true), '')::uuid)
);
CREATE POLICY status_history_insert ON applications.status_history FOR INSERT TO pvara_app WITH CHECK (
    current_setting('app.scope', true) = 'system'
    OR (current_setting('app.scope', true) = 'org'
        AND org_id = nullif(current_setting('app.org_id', true), '')::uuid)
    OR (current_setting('app.scope', true) = 'user'
        AND candidate_id = nullif(current_setting('app.user_id', true), '')::uuid)
);
GRANT SELECT, INSERT ON applications.status_history TO pvara_app;

-- idempotency_keys: the response of a write sent with an Idempotency-Key,
-- stored in the write's own transaction. The key is the caller's (user_id);
-- fingerprint is a SHA-256 of the method, the path and the request as read.
-- Rows live 24 hours; the maintenance role purges expired ones.
CREATE TABLE applications.idempotency_keys (
    user_id     uuid NOT NULL,
    key         text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    fingerprint bytea NOT NULL,
    status      integer NOT NULL,
    response    jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_expires_idx ON applications.idempotency_keys (expires_at);
ALTER TABLE applications.idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE applications.idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY idempotency_keys_owner ON applications.idempotency_keys FOR ALL TO pvara_app USING (
    current_setting('app.scope', true) = 'system'
    OR (current_setting('app.scope', true) IN ('user', 'org')
        AND user_id = nullif(current_setting('app.user_id', true), '')::uuid)
) WITH CHECK (
    current_setting('app.scope', true) = 'system'
    OR (current_setting('app.scope', true) IN ('user', 'org')
        AND user_id = nullif(current_setting('app.user_id', true), '')::uuid)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON applications.idempotency_keys TO pvara_app;
ALTER TABLE applications.idempotency_keys SET (autovacuum_vacuum_scale_factor = 0.02);

-- +goose Down
DROP TABLE IF EXISTS applications.idempotency_keys;
DROP TABLE IF EXISTS applications.status_history;
DROP TABLE IF EXISTS applications.guards;
DELETE FROM platform.partitioned_tables WHERE schema_name = 'applications' AND table_name = 'applications';
DROP TABLE IF EXISTS applications.applications;
DROP SEQUENCE IF EXISTS applications.receipt_seq;
