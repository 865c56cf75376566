-- +goose Up
-- The applications module, part three: what staff search, the CSV export
-- and the metrics need (docs/applications.md, "Staff search, CSV export and
-- metrics"). Indexes declared on the partitioned table are created on every
-- partition, present and future.

-- score_key is the score in hundredths as an integer, -1 while unscored: the
-- sort key of ?sort=score and of the score filters. An integer, because
-- under row-level security PostgreSQL only uses a condition as an index
-- condition when its operator is leakproof, and numeric comparisons are not
-- (int4 ones are): on ai_score itself, a min_score filter or a score cursor
-- would be checked row by row instead of bounding the index scan.
ALTER TABLE applications.applications
    ADD COLUMN score_key integer NOT NULL GENERATED ALWAYS AS (coalesce(round(ai_score * 100)::integer, -1)) STORED;

-- Newest first inside an organisation (the default listing and every
-- filter that the walk checks on the way: status, province, score range).
CREATE INDEX applications_org_recent_idx ON applications.applications (org_id, created_at DESC, id DESC);
-- One status, newest first (?status=, the commonest filter): a walk of the
-- organisation's index would step over every application in other
-- statuses first, e.g. a deadline's worth of fresh submissions.
CREATE INDEX applications_org_status_idx ON applications.applications (org_id, status, created_at DESC, id DESC);
-- One job's applications, newest first (?job_id=, the CSV export, the
-- metrics of a job).
CREATE INDEX applications_org_job_idx ON applications.applications (org_id, job_id, created_at DESC, id DESC);
-- Best score first (?sort=score), and score ranges.
CREATE INDEX applications_org_score_idx ON applications.applications (org_id, score_key DESC, id DESC);
-- Text search inside one organisation: a composite btree_gin index, so one
-- index scan answers both "this organisation" and "these words".
CREATE INDEX applications_org_search_idx ON applications.applications USING gin (org_id, search);

-- Under row-level security a non-leakproof condition cannot be used as an
-- index condition (it must not see rows the policy would hide), and the
-- text-match operator tsvector @@ tsquery (ts_match_vq) is not marked
-- leakproof: as pvara_app, every text search would then read the whole
-- organisation (500,000 rows for the large one) instead of the GIN index.
-- ts_match_vq only compares its two arguments and raises no error that
-- depends on them, so it is marked leakproof here. Only a superuser may do
-- that; a migration run by another role skips it with a notice, and text
-- search still works, slower (docs/applications.md says how to apply it by
-- hand). The mark is a property of this database's catalogue: pg_dump does
-- not carry it, so a restored database needs `pvara migrate` or the
-- statement again.
-- +goose StatementBegin
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery) LEAKPROOF;
    ELSE
        RAISE NOTICE 'not a superuser: ts_match_vq stays non-leakproof and staff text search cannot use applications_org_search_idx (see docs/applications.md)';
    END IF;
END
$$;
-- +goose StatementEnd

-- The table's read policies name pvara_app. The view below is refreshed as
-- its owner (the role that runs migrations), to whom the forced row-level
-- security would otherwise show no row at all unless it is a superuser:
-- the owner may read everything in the system scope.
CREATE POLICY applications_owner_system ON applications.applications FOR SELECT TO CURRENT_USER
    USING (current_setting('app.scope', true) = 'system');

-- application_metrics: per job and status, how many applications and their
-- average score (of the scored ones). A materialized view, refreshed
-- CONCURRENTLY (readers never wait) by the maintenance role through
-- refresh_application_metrics(); the unique index is what CONCURRENTLY
-- requires.
CREATE MATERIALIZED VIEW applications.application_metrics AS
    SELECT org_id, job_id, status, count(*)::bigint AS applications, round(avg(ai_score), 2) AS avg_score
    FROM applications.applications
    GROUP BY org_id, job_id, status
WITH DATA;
CREATE UNIQUE INDEX application_metrics_key ON applications.application_metrics (job_id, status, org_id);

-- metrics_refresh holds when the view was last refreshed (one row).
CREATE TABLE applications.metrics_refresh (
    id           boolean PRIMARY KEY DEFAULT true CHECK (id),
    refreshed_at timestamptz NOT NULL
);
GRANT SELECT ON applications.metrics_refresh TO pvara_app;

-- A materialized view cannot have row-level security, so pvara_app reads it
-- only through this security-barrier view, which applies the same rule as
-- the table's policy: staff (scope org) see their organisation's rows,
-- system sees all.
CREATE VIEW applications.job_metrics WITH (security_barrier) AS
    SELECT m.org_id, m.job_id, m.status, m.applications, m.avg_score
    FROM applications.application_metrics m
    WHERE current_setting('app.scope', true) = 'system'
       OR (current_setting('app.scope', true) = 'org'
           AND m.org_id = nullif(current_setting('app.org_id', true), '')::uuid);
GRANT SELECT ON applications.job_metrics TO pvara_app;

-- refresh_application_metrics refreshes the view as its owner (pvara_app
-- does not own it), reading the table in the system scope (the table's
-- policies are forced on the owner too), and records when. A view left
-- unpopulated (REFRESH ... WITH NO DATA by hand) cannot be refreshed
-- concurrently: it is then refreshed plainly once.
-- +goose StatementBegin
CREATE FUNCTION applications.refresh_application_metrics() RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t timestamptz := clock_timestamp();
BEGIN
    PERFORM set_config('app.scope', 'system', true);
    IF (SELECT relispopulated FROM pg_class WHERE oid = 'applications.application_metrics'::regclass) THEN
        REFRESH MATERIALIZED VIEW CONCURRENTLY applications.application_metrics;
    ELSE
        REFRESH MATERIALIZED VIEW applications.application_metrics;
    END IF;
    INSERT INTO applications.metrics_refresh (id, refreshed_at) VALUES (true, t)
    ON CONFLICT (id) DO UPDATE SET refreshed_at = excluded.refreshed_at;
    RETURN t;
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION applications.refresh_application_metrics() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION applications.refresh_application_metrics() TO pvara_app;

-- +goose Down
DROP FUNCTION IF EXISTS applications.refresh_application_metrics();
DROP VIEW IF EXISTS applications.job_metrics;
DROP POLICY IF EXISTS applications_owner_system ON applications.applications;
DROP TABLE IF EXISTS applications.metrics_refresh;
DROP MATERIALIZED VIEW IF EXISTS applications.application_metrics;
DROP INDEX IF EXISTS applications.applications_org_search_idx;
DROP INDEX IF EXISTS applications.applications_org_score_idx;
DROP INDEX IF EXISTS applications.applications_org_job_idx;
DROP INDEX IF EXISTS applications.applications_org_status_idx;
DROP INDEX IF EXISTS applications.applications_org_recent_idx;
ALTER TABLE applications.applications DROP COLUMN IF EXISTS score_key;
