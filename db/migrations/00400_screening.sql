-- +goose Up
-- The screening module: the model's results per application, the corpora
-- the text relevance is computed against, the corpus each job is scored
-- with, and the re-screening runs. docs/screening.md describes them.

CREATE SCHEMA screening;
GRANT USAGE ON SCHEMA screening TO pvara_app;

-- corpora: document frequencies of the job corpus (the model's Corpus, as
-- JSON), immutable once written; id is Corpus.ID(), a hash of the content,
-- so two workers building the same corpus write one row. The newest row is
-- the current corpus. Only workers (scope system) read or write them.
CREATE TABLE screening.corpora (
    id         text PRIMARY KEY,
    body       jsonb NOT NULL,
    documents  integer NOT NULL CHECK (documents >= 0),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX corpora_created_idx ON screening.corpora (created_at DESC);

-- jobs: the corpus a job's applications are scored with. It is pinned at
-- the job's first score and moved only by a re-screening of the whole job,
-- so every application of one job is scored against the same corpus and
-- their scores compare.
CREATE TABLE screening.jobs (
    job_id     uuid PRIMARY KEY,
    org_id     uuid NOT NULL,
    corpus_id  text NOT NULL REFERENCES screening.corpora (id),
    pinned_at  timestamptz NOT NULL
);

-- results: one row per application. A row may exist before its score (a
-- status event can arrive before applications.submitted is handled):
-- score, eligible, ... are then NULL and the explanation answers 404.
--
-- gender and domicile_province are copied from the submitted snapshot for
-- the fairness report ONLY; the model's input has no field for gender.
-- status is the application's current status, kept from
-- applications.status_changed/withdrawn (status_at orders them: an older
-- event never overwrites a newer status).
CREATE TABLE screening.results (
    application_id    uuid PRIMARY KEY,
    job_id            uuid NOT NULL,
    org_id            uuid NOT NULL,
    candidate_id      uuid NOT NULL,
    status            text NOT NULL DEFAULT 'submitted'
                      CHECK (status IN ('submitted', 'under_review', 'shortlisted', 'interview', 'offered', 'hired',
                                        'rejected', 'withdrawn')),
    status_at         timestamptz,
    submitted_at      timestamptz,
    gender            text,
    domicile_province text,
    eligible          boolean,
    score             numeric(5, 2) CHECK (score BETWEEN 0 AND 100),
    reasons           jsonb,
    breakdown         jsonb,
    model_version     text,
    corpus_id         text,
    -- input_hash: sha256 of the model's input, the corpus id and the model
    -- version. The same hash means the same result (the model is
    -- deterministic), so a re-score with the same hash writes and publishes
    -- nothing.
    input_hash        bytea,
    scored_at         timestamptz,
    -- rank_key orders the ranking ascending: eligible first, then the best
    -- score, ties by application id. The ranking's Redis sorted set uses the
    -- same integer as its score, and page cursors carry it.
    rank_key          integer GENERATED ALWAYS AS (
        CASE WHEN score IS NULL THEN NULL
             ELSE -((CASE WHEN eligible THEN 100000 ELSE 0 END) + (score * 100)::integer) END
    ) STORED,
    CONSTRAINT results_scored CHECK ((score IS NULL) = (scored_at IS NULL) AND (score IS NULL) = (eligible IS NULL))
);
-- The ranking (and its rebuild into Redis): a job's scored, not withdrawn
-- applications in rank order.
CREATE INDEX results_ranking_idx ON screening.results (job_id, rank_key, application_id)
    WHERE rank_key IS NOT NULL AND status <> 'withdrawn';
-- Fairness report and re-screening totals.
CREATE INDEX results_job_idx ON screening.results (job_id);

-- rescreen_runs: one re-scoring of every application of a job. At most one
-- run per job is queued or running; asking again returns it. A worker
-- claims a run (FOR UPDATE SKIP LOCKED) and holds it by a lease it renews
-- after every batch; a run whose lease expired (its worker died) is claimed
-- again and resumes after cursor, the last application it committed.
-- generation is bumped when the job's criteria change during a run: the
-- run starts over, and the worker's next progress write (conditioned on
-- the generation it read) fails and it reloads the run.
CREATE TABLE screening.rescreen_runs (
    id            uuid PRIMARY KEY,                     -- UUIDv7
    job_id        uuid NOT NULL,
    org_id        uuid NOT NULL,
    status        text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    reason        text NOT NULL CHECK (reason IN ('manual', 'criteria_changed')),
    requested_by  uuid,
    generation    integer NOT NULL DEFAULT 1,
    -- claim identifies the worker's hold on the run (set at each claim):
    -- a worker whose lease was taken over cannot write progress any more.
    claim         uuid,
    cursor        uuid,
    total         integer NOT NULL DEFAULT 0,
    done          integer NOT NULL DEFAULT 0,
    changed       integer NOT NULL DEFAULT 0,
    attempts      integer NOT NULL DEFAULT 0,
    lease_until   timestamptz,
    error         text,
    created_at    timestamptz NOT NULL,
    started_at    timestamptz,
    finished_at   timestamptz
);
CREATE UNIQUE INDEX rescreen_runs_active_idx ON screening.rescreen_runs (job_id) WHERE status IN ('queued', 'running');
CREATE INDEX rescreen_runs_claim_idx ON screening.rescreen_runs (created_at) WHERE status IN ('queued', 'running');
CREATE INDEX rescreen_runs_job_idx ON screening.rescreen_runs (job_id, created_at DESC);

-- Row-level security, as for jobs: staff (scope org) read their
-- organisation's rows; a candidate (scope user) reads the results of their
-- own applications; workers (scope system) read and write everything. A
-- transaction that sets no scope sees nothing. The API writes only
-- re-screening requests (scope org, own organisation).
ALTER TABLE screening.corpora ENABLE ROW LEVEL SECURITY;
ALTER TABLE screening.corpora FORCE ROW LEVEL SECURITY;
CREATE POLICY corpora_system ON screening.corpora FOR ALL TO pvara_app
    USING (current_setting('app.scope', true) = 'system')
    WITH CHECK (current_setting('app.scope', true) = 'system');
GRANT SELECT, INSERT ON screening.corpora TO pvara_app;

ALTER TABLE screening.jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE screening.jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY jobs_system ON screening.jobs FOR ALL TO pvara_app
    USING (current_setting('app.scope', true) = 'system')
    WITH CHECK (current_setting('app.scope', true) = 'system');
CREATE POLICY jobs_org_read ON screening.jobs FOR SELECT TO pvara_app USING (
    current_setting('app.scope', true) = 'org'
    AND org_id = nullif(current_setting('app.org_id', true), '')::uuid
);
GRANT SELECT, INSERT, UPDATE ON screening.jobs TO pvara_app;

ALTER TABLE screening.results ENABLE ROW LEVEL SECURITY;
ALTER TABLE screening.results FORCE ROW LEVEL SECURITY;
CREATE POLICY results_system ON screening.results FOR ALL TO pvara_app
    USING (current_setting('app.scope', true) = 'system')
    WITH CHECK (current_setting('app.scope', true) = 'system');
CREATE POLICY results_read ON screening.results FOR SELECT TO pvara_app USING (
    (current_setting('app.scope', true) = 'org'
        AND org_id = nullif(current_setting('app.org_id', true), '')::uuid)
    OR (current_setting('app.scope', true) = 'user'
        AND candidate_id = nullif(current_setting('app.user_id', true), '')::uuid)
);
GRANT SELECT, INSERT, UPDATE ON screening.results TO pvara_app;

ALTER TABLE screening.rescreen_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE screening.rescreen_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY rescreen_runs_system ON screening.rescreen_runs FOR ALL TO pvara_app
    USING (current_setting('app.scope', true) = 'system')
    WITH CHECK (current_setting('app.scope', true) = 'system');
CREATE POLICY rescreen_runs_org ON screening.rescreen_runs FOR ALL TO pvara_app USING (
    current_setting('app.scope', true) = 'org'
    AND org_id = nullif(current_setting('app.org_id', true), '')::uuid
) WITH CHECK (
    current_setting('app.scope', true) = 'org'
    AND org_id = nullif(current_setting('app.org_id', true), '')::uuid
);
GRANT SELECT, INSERT, UPDATE ON screening.rescreen_runs TO pvara_app;

-- +goose Down
DROP TABLE IF EXISTS screening.rescreen_runs;
DROP TABLE IF EXISTS screening.results;
DROP TABLE IF EXISTS screening.jobs;
DROP TABLE IF EXISTS screening.corpora;
DROP SCHEMA IF EXISTS screening;
