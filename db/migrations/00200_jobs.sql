-- +goose Up
-- The jobs module: postings with structured eligibility criteria, their
-- lifecycle (draft → published → closed) and the stored full-text vector of
-- the public job board.

-- btree_gin lets one GIN index hold a scalar (org_id) next to the tsvector,
-- so an organisation's own search is one index scan (see TRAPS.md).
CREATE EXTENSION IF NOT EXISTS btree_gin;

CREATE SCHEMA jobs;
GRANT USAGE ON SCHEMA jobs TO pvara_app;

CREATE TABLE jobs.jobs (
    id           uuid PRIMARY KEY,                  -- UUIDv7
    org_id       uuid NOT NULL,                     -- auth's organisation (no cross-schema FK)
    status       text NOT NULL DEFAULT 'draft'
                 CHECK (status IN ('draft', 'published', 'closed', 'archived')),
    -- version is bumped by every change; the ETag is built from it.
    version      integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    title        text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    department   text NOT NULL CHECK (char_length(department) BETWEEN 1 AND 120),
    description  text NOT NULL CHECK (char_length(description) BETWEEN 1 AND 20000),
    location     text NOT NULL CHECK (char_length(location) BETWEEN 1 AND 200),
    -- province is where the post is located (the board's ?province= filter);
    -- who may apply is criteria.domicile_provinces.
    province     text CHECK (province IN ('punjab', 'sindh', 'kpk', 'balochistan', 'islamabad', 'gb', 'ajk')),
    grade        text CHECK (char_length(grade) <= 40),
    positions    integer NOT NULL CHECK (positions BETWEEN 1 AND 100000),
    opens_at     timestamptz NOT NULL,
    closes_at    timestamptz NOT NULL,
    -- criteria: {min_education, min_experience_years, age_min, age_max,
    -- age_relaxation_years, required_skills, preferred_skills,
    -- domicile_provinces}, validated by the service.
    criteria     jsonb NOT NULL,
    created_by   uuid NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    closed_at    timestamptz,
    -- The search vector mixes the english configuration (stems: "engineers"
    -- finds "engineer") with simple (every word as written, no stop words
    -- removed, so romanised Urdu such as "naib qasid" or "mulazmat" is
    -- found exactly). Weights: title A, department and skills B,
    -- description C.
    search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, title), 'A') ||
        setweight(to_tsvector('simple'::regconfig, title), 'A') ||
        setweight(to_tsvector('english'::regconfig, department), 'B') ||
        setweight(to_tsvector('simple'::regconfig, department), 'B') ||
        setweight(jsonb_to_tsvector('english'::regconfig,
            coalesce(criteria -> 'required_skills', '[]'::jsonb) || coalesce(criteria -> 'preferred_skills', '[]'::jsonb),
            '["string"]'), 'B') ||
        setweight(jsonb_to_tsvector('simple'::regconfig,
            coalesce(criteria -> 'required_skills', '[]'::jsonb) || coalesce(criteria -> 'preferred_skills', '[]'::jsonb),
            '["string"]'), 'B') ||
        setweight(to_tsvector('english'::regconfig, description), 'C') ||
        setweight(to_tsvector('simple'::regconfig, description), 'C')
    ) STORED,
    CONSTRAINT jobs_dates_order CHECK (closes_at > opens_at),
    CONSTRAINT jobs_published_at CHECK (status = 'draft' OR published_at IS NOT NULL)
);

-- The public board: published jobs newest first. Partial indexes hold only
-- the published rows (a few thousand), not the closed history.
CREATE INDEX jobs_board_idx ON jobs.jobs (published_at DESC, id DESC) WHERE status = 'published';
CREATE INDEX jobs_board_org_idx ON jobs.jobs (org_id, published_at DESC, id DESC) WHERE status = 'published';
-- One per board filter, so a filtered first page is an ordered walk that
-- stops after one page rather than a sort of every published job.
CREATE INDEX jobs_board_province_idx ON jobs.jobs (province, published_at DESC, id DESC) WHERE status = 'published';
CREATE INDEX jobs_board_department_idx ON jobs.jobs (lower(department), published_at DESC, id DESC) WHERE status = 'published';
-- Board search: GIN over the vector of published jobs only.
CREATE INDEX jobs_board_search_idx ON jobs.jobs USING gin (search_vector) WHERE status = 'published';
-- Staff search inside their organisation (every status): composite btree_gin.
CREATE INDEX jobs_org_search_idx ON jobs.jobs USING gin (org_id, search_vector);
-- Staff listings by status, newest first (ids are UUIDv7).
CREATE INDEX jobs_org_status_idx ON jobs.jobs (org_id, status, id DESC);
-- Deadlines (the maintenance close) and future openings (cache lifetimes).
-- These are expression indexes on purpose: the board query's plain
-- `opens_at <= now AND closes_at > now` must not be able to use them. With
-- a few thousand published rows among 200,000 the planner misjudges those
-- ranges and, given plain (closes_at)/(opens_at) partial indexes, bitmap-
-- scans every published row and sorts them (12–60 ms) instead of walking
-- jobs_board_idx in order and stopping after one page (~1 ms). Only the
-- two queries that need them (JobCloseDue, JobNextOpening) spell the
-- expression.
CREATE INDEX jobs_due_idx ON jobs.jobs (timezone('UTC', closes_at)) WHERE status = 'published';
CREATE INDEX jobs_opening_idx ON jobs.jobs (timezone('UTC', opens_at)) INCLUDE (opens_at) WHERE status = 'published';

-- Row-level security. Staff (scope org) see their organisation's jobs in
-- every status; anybody (public, user, org) sees published and closed jobs;
-- drafts and archived jobs are never public; system (workers) sees all. A
-- transaction that sets no scope sees nothing. Writes: only the owning
-- organisation's staff scope, or system.
ALTER TABLE jobs.jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs.jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY jobs_read ON jobs.jobs FOR SELECT TO pvara_app USING (
    current_setting('app.scope', true) = 'system'
    OR (current_setting('app.scope', true) = 'org'
        AND org_id = nullif(current_setting('app.org_id', true), '')::uuid)
    OR (current_setting('app.scope', true) IN ('public', 'user', 'org')
        AND status IN ('published', 'closed'))
);
CREATE POLICY jobs_insert ON jobs.jobs FOR INSERT TO pvara_app WITH CHECK (
    current_setting('app.scope', true) = 'system'
    OR (current_setting('app.scope', true) = 'org'
        AND org_id = nullif(current_setting('app.org_id', true), '')::uuid)
);
CREATE POLICY jobs_update ON jobs.jobs FOR UPDATE TO pvara_app USING (
    current_setting('app.scope', true) = 'system'
    OR (current_setting('app.scope', true) = 'org'
        AND org_id = nullif(current_setting('app.org_id', true), '')::uuid)
) WITH CHECK (
    current_setting('app.scope', true) = 'system'
    OR (current_setting('app.scope', true) = 'org'
        AND org_id = nullif(current_setting('app.org_id', true), '')::uuid)
);
GRANT SELECT, INSERT, UPDATE ON jobs.jobs TO pvara_app;

-- +goose Down
DROP TABLE IF EXISTS jobs.jobs;
DROP SCHEMA IF EXISTS jobs;
-- btree_gin is left installed: other modules' indexes may use it.
