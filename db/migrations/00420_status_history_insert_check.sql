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
-- "Ids name their partition"). It lets the policy's probe name one
-- partition: without it, EXISTS on the id alone probes every monthly
-- partition's index, oldest first, so a new application (in the newest
-- partition) costs a probe of each. An application whose created_at were
-- not its id's time would only make the check refuse (fail closed); the
-- service's reads by id already depend on the same equality. The
-- SQL-standard body is parsed once here and inlined into the policy; the
-- float8 division and to_timestamp's rounding to the microsecond give the
-- exact millisecond (checked over 10^6 random timestamps, 2020–2040).
CREATE FUNCTION applications.uuidv7_time(id uuid) RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN pg_catalog.to_timestamp(
    (('x' || pg_catalog.substr(id::text, 1, 8) || pg_catalog.substr(id::text, 10, 4))::bit(48)::bigint)::float8 / 1000);

DROP POLICY status_history_insert ON applications.status_history;
CREATE POLICY status_history_insert ON applications.status_history FOR INSERT TO pvara_app WITH CHECK (
    (current_setting('app.scope', true) = 'system'
     OR (current_setting('app.scope', true) = 'org'
         AND org_id = nullif(current_setting('app.org_id', true), '')::uuid)
     OR (current_setting('app.scope', true) = 'user'
         AND candidate_id = nullif(current_setting('app.user_id', true), '')::uuid))
    AND EXISTS (
        SELECT 1 FROM applications.applications a
        WHERE a.id = status_history.application_id
          AND a.created_at = applications.uuidv7_time(status_history.application_id)
          AND a.org_id = status_history.org_id
          AND a.candidate_id = status_history.candidate_id)
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
DROP FUNCTION IF EXISTS applications.uuidv7_time(uuid);
