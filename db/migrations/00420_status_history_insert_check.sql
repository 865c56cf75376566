-- +goose Up
-- A status-history row must belong to an application the caller can see,
-- with that application's organisation and candidate. The policy of
-- 00310 checked only the caller's own column (a candidate's candidate_id,
-- staff's org_id), so a bug or an injected statement running as pvara_app
-- could put a row into another organisation's view or onto someone else's
-- application. Defence in depth: the database now refuses it.
--
-- The probe runs under the caller's row-level security (a candidate sees
-- their own applications, staff their organisation's), so it also requires
-- the application to be visible to the caller. It cannot see an
-- application inserted by the same statement (data-modifying CTEs share one
-- snapshot): the submission inserts its first history row with a statement
-- of its own, after the application's (docs/applications.md, "Submission").

-- uuidv7_time is the millisecond timestamp of a UUIDv7, which for an
-- application is its created_at (the partition key; docs/applications.md,
-- "Ids name their partition"), so a lookup by id alone can name its
-- partition. An application whose created_at were not its id's time would
-- only make the check below refuse (fail closed); the service's reads by id
-- already depend on the same equality. The SQL-standard body is parsed
-- once here and inlined where it is used; the float8 division and
-- to_timestamp's rounding to the microsecond give the exact millisecond
-- (checked over 10^6 random timestamps, 2020–2040).
CREATE FUNCTION applications.uuidv7_time(id uuid) RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN pg_catalog.to_timestamp(
    (('x' || pg_catalog.substr(id::text, 1, 8) || pg_catalog.substr(id::text, 10, 4))::bit(48)::bigint)::float8 / 1000);

-- history_matches_application tells whether the caller can see application
-- app with organisation org and candidate cand. It runs with the caller's
-- rights (SECURITY INVOKER), so applications' row-level security applies,
-- and STABLE, so it sees the calling statement's snapshot: an application
-- inserted by an earlier statement of the transaction, not by the same one.
--
-- It is a function rather than an EXISTS written into the policy because
-- of what a single-row INSERT pays per execution. Inline, the probe is a
-- subplan correlated to the new row: its Append cannot be pruned before it
-- starts, so every execution initialises every monthly partition's index
-- scan (pruning by uuidv7_time then runs one of them). Here the arguments
-- are plan parameters, so the partition is pruned when the query is
-- planned or started and one index is opened. Measured with pgbench (one
-- single-row history INSERT per transaction, -M prepared, 165,000
-- applications in 11 partitions, three runs each): 142–182 µs without the
-- check, 227–276 µs with the EXISTS inline, 186–233 µs with this function.
-- (An EXISTS on the id alone, without the created_at bound, probes each
-- partition's index oldest first, so a new application costs them all.)
-- +goose StatementBegin
CREATE FUNCTION applications.history_matches_application(app uuid, org uuid, cand uuid) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN EXISTS (
        SELECT 1 FROM applications.applications a
        WHERE a.id = app
          AND a.created_at = applications.uuidv7_time(app)
          AND a.org_id = org
          AND a.candidate_id = cand);
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION applications.history_matches_application(uuid, uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION applications.history_matches_application(uuid, uuid, uuid) TO pvara_app;

-- Beyond the application, the row's author and status: staff write history
-- as themselves; a candidate writes only their own submission's first row
-- and their withdrawal (every other status is a staff decision).
DROP POLICY status_history_insert ON applications.status_history;
CREATE POLICY status_history_insert ON applications.status_history FOR INSERT TO pvara_app WITH CHECK (
    (current_setting('app.scope', true) = 'system'
     OR (current_setting('app.scope', true) = 'org'
         AND org_id = nullif(current_setting('app.org_id', true), '')::uuid
         AND changed_by = nullif(current_setting('app.user_id', true), '')::uuid)
     OR (current_setting('app.scope', true) = 'user'
         AND candidate_id = nullif(current_setting('app.user_id', true), '')::uuid
         AND changed_by = candidate_id
         AND to_status IN ('submitted', 'withdrawn')))
    AND applications.history_matches_application(application_id, org_id, candidate_id)
);

-- +goose Down
DROP POLICY IF EXISTS status_history_insert ON applications.status_history;
CREATE POLICY status_history_insert ON applications.status_history FOR INSERT TO pvara_app WITH CHECK (
    current_setting('app.scope', true) = 'system'
    OR (current_setting('app.scope', true) = 'org'
        AND org_id = nullif(current_setting('app.org_id', true), '')::uuid)
    OR (current_setting('app.scope', true) = 'user'
        AND candidate_id = nullif(current_setting('app.user_id', true), '')::uuid)
);
DROP FUNCTION IF EXISTS applications.history_matches_application(uuid, uuid, uuid);
DROP FUNCTION IF EXISTS applications.uuidv7_time(uuid);
