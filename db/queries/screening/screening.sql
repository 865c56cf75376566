-- The screening module's queries; they touch the screening schema only.

-- name: CorpusInsert :exec
INSERT INTO screening.corpora (id, body, documents, created_at)
VALUES (@id, @body, @documents, @created_at)
ON CONFLICT (id) DO NOTHING;

-- name: CorpusGet :one
SELECT id, body FROM screening.corpora WHERE id = @id;

-- name: CorpusLatest :one
SELECT id, created_at FROM screening.corpora ORDER BY created_at DESC, id LIMIT 1;

-- name: JobCorpusGet :one
SELECT corpus_id FROM screening.jobs WHERE job_id = @job_id;

-- name: JobCorpusPin :one
-- Pins the job to corpus_id unless it is pinned already, and returns the
-- pin that holds.
WITH ins AS (
    INSERT INTO screening.jobs (job_id, org_id, corpus_id, pinned_at)
    VALUES (@job_id, @org_id, @corpus_id, @now)
    ON CONFLICT (job_id) DO NOTHING
    RETURNING corpus_id
)
SELECT corpus_id FROM ins
UNION ALL
SELECT corpus_id FROM screening.jobs WHERE job_id = @job_id
LIMIT 1;

-- name: JobCorpusRepin :exec
-- A re-screening moves the job to the current corpus.
INSERT INTO screening.jobs (job_id, org_id, corpus_id, pinned_at)
VALUES (@job_id, @org_id, @corpus_id, @now)
ON CONFLICT (job_id) DO UPDATE SET corpus_id = excluded.corpus_id, pinned_at = excluded.pinned_at;

-- name: ResultsUpsert :many
-- Stores a batch of scores (one row per application, arrays in step) and
-- returns the applications whose result changed: new, or a different
-- input hash or model version. An unchanged result is not written at all.
-- The status from the snapshot is taken only when it is newer than the one
-- the status events wrote.
INSERT INTO screening.results AS r (
    application_id, job_id, org_id, candidate_id, status, status_at, submitted_at, gender, domicile_province,
    eligible, score, reasons, breakdown, model_version, corpus_id, input_hash, scored_at)
SELECT u.application_id, u.job_id, u.org_id, u.candidate_id, u.status, u.status_at, u.submitted_at,
       nullif(u.gender, ''), nullif(u.domicile_province, ''), u.eligible, u.score::numeric(5, 2), u.reasons,
       u.breakdown, @model_version::text, nullif(@corpus_id::text, ''), u.input_hash, @scored_at::timestamptz
FROM (
    -- Arrays unnested in the select list are zipped (they have equal lengths).
    SELECT unnest(@application_ids::uuid[]) AS application_id, unnest(@job_ids::uuid[]) AS job_id,
           unnest(@org_ids::uuid[]) AS org_id, unnest(@candidate_ids::uuid[]) AS candidate_id,
           unnest(@statuses::text[]) AS status, unnest(@status_ats::timestamptz[]) AS status_at,
           unnest(@submitted_ats::timestamptz[]) AS submitted_at,
           unnest(@genders::text[]) AS gender, unnest(@provinces::text[]) AS domicile_province,
           unnest(@eligibles::boolean[]) AS eligible, unnest(@scores::float8[]) AS score,
           unnest(@reasons::jsonb[]) AS reasons, unnest(@breakdowns::jsonb[]) AS breakdown,
           unnest(@input_hashes::bytea[]) AS input_hash
) u
ON CONFLICT (application_id) DO UPDATE SET
    job_id = excluded.job_id, org_id = excluded.org_id, candidate_id = excluded.candidate_id,
    status = CASE WHEN r.status_at IS NULL OR r.status_at < excluded.status_at THEN excluded.status ELSE r.status END,
    status_at = greatest(r.status_at, excluded.status_at),
    submitted_at = excluded.submitted_at, gender = excluded.gender, domicile_province = excluded.domicile_province,
    eligible = excluded.eligible, score = excluded.score, reasons = excluded.reasons, breakdown = excluded.breakdown,
    model_version = excluded.model_version, corpus_id = excluded.corpus_id, input_hash = excluded.input_hash,
    scored_at = excluded.scored_at
WHERE (r.input_hash IS DISTINCT FROM excluded.input_hash OR r.model_version IS DISTINCT FROM excluded.model_version)
  -- A score computed earlier never replaces a later one (a submission's
  -- scoring that waited on a re-screen's row lock), as applications keeps
  -- only the newest scored_at too.
  AND (r.scored_at IS NULL OR r.scored_at < excluded.scored_at)
RETURNING r.application_id;

-- name: ResultStatusSet :exec
-- Applies a status event; creates the row when the event comes before the
-- score. An older event never overwrites a newer status.
INSERT INTO screening.results AS r (application_id, job_id, org_id, candidate_id, status, status_at)
VALUES (@application_id, @job_id, @org_id, @candidate_id, @status, @status_at)
ON CONFLICT (application_id) DO UPDATE SET status = excluded.status, status_at = excluded.status_at
WHERE r.status_at IS NULL OR r.status_at < excluded.status_at;

-- name: ResultGet :one
SELECT application_id, job_id, org_id, candidate_id, status, eligible, score::float8 AS score, reasons, breakdown,
       model_version, corpus_id, scored_at
FROM screening.results
WHERE application_id = @application_id AND scored_at IS NOT NULL;

-- name: ResultsRankOf :many
-- The ranking entries of some applications (what Redis must hold for them):
-- an application is not ranked before its score or once withdrawn.
-- version orders the entries' writes to Redis.
SELECT application_id, job_id, (rank_key IS NOT NULL AND status <> 'withdrawn')::boolean AS ranked,
       coalesce(rank_key, 0)::integer AS rank_key, version
FROM screening.results
WHERE application_id = ANY(@application_ids::uuid[]);

-- name: RankingPage :many
-- The ranking from PostgreSQL (Redis lost it, or a rebuild is under way):
-- keyset on (rank_key, application_id).
SELECT application_id, rank_key::integer AS rank_key
FROM screening.results
WHERE job_id = @job_id AND rank_key IS NOT NULL AND status <> 'withdrawn'
  AND (rank_key, application_id) > (@after_key::integer, @after_id::uuid)
ORDER BY rank_key, application_id
LIMIT @lim;

-- name: RankingAll :many
-- Every ranked application of a job, for rebuilding its sorted set, with
-- the version of each (and of the withdrawn ones, whose versions keep
-- older writes from putting them back).
SELECT application_id, coalesce(rank_key, 0)::integer AS rank_key, version,
       (rank_key IS NOT NULL AND status <> 'withdrawn')::boolean AS ranked
FROM screening.results
WHERE job_id = @job_id;

-- name: ResultsCountForJob :one
SELECT count(*)::integer FROM screening.results WHERE job_id = @job_id;

-- name: FairnessRows :many
-- What the fairness report counts: the job's scored applications that were
-- not withdrawn, with the attributes, the status and the rank order.
SELECT coalesce(gender, '') AS gender, coalesce(domicile_province, '') AS domicile_province, status,
       rank_key::integer AS rank_key, application_id
FROM screening.results
WHERE job_id = @job_id AND rank_key IS NOT NULL AND status <> 'withdrawn'
ORDER BY rank_key, application_id;

-- name: RunActive :one
SELECT id, job_id, org_id, status, reason, requested_by, generation, claim, cursor, total, done, changed, attempts,
       lease_until, error, created_at, started_at, finished_at
FROM screening.rescreen_runs
WHERE job_id = @job_id AND status IN ('queued', 'running');

-- name: RunInsert :one
-- Queues a run unless the job has one queued or running (then nothing is
-- inserted and RunActive returns that one).
INSERT INTO screening.rescreen_runs (id, job_id, org_id, reason, requested_by, total, created_at)
VALUES (@id, @job_id, @org_id, @reason, sqlc.narg('requested_by'), @total, @now)
ON CONFLICT (job_id) WHERE status IN ('queued', 'running') DO NOTHING
RETURNING id, job_id, org_id, status, reason, requested_by, generation, claim, cursor, total, done, changed, attempts,
          lease_until, error, created_at, started_at, finished_at;

-- name: RunRestart :exec
-- The job's criteria changed during a run: start it over (the worker
-- notices the new generation at its next progress write).
UPDATE screening.rescreen_runs
SET generation = generation + 1, cursor = NULL, done = 0, changed = 0, total = greatest(total, @total::integer)
WHERE id = @id;

-- name: RunLatest :one
SELECT id, job_id, org_id, status, reason, requested_by, generation, claim, cursor, total, done, changed, attempts,
       lease_until, error, created_at, started_at, finished_at
FROM screening.rescreen_runs
WHERE job_id = @job_id
ORDER BY created_at DESC, id DESC
LIMIT 1;

-- name: RunClaim :one
-- Claims the oldest queued run, or a running one whose lease expired (its
-- worker died): SKIP LOCKED lets several workers claim at once.
UPDATE screening.rescreen_runs
SET status = 'running', claim = @claim::uuid, lease_until = @lease_until::timestamptz, attempts = attempts + 1,
    started_at = coalesce(started_at, @now::timestamptz)
WHERE id = (
    SELECT id FROM screening.rescreen_runs
    WHERE status = 'queued' OR (status = 'running' AND lease_until < @now::timestamptz)
    ORDER BY created_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING id, job_id, org_id, status, reason, requested_by, generation, claim, cursor, total, done, changed, attempts,
          lease_until, error, created_at, started_at, finished_at;

-- name: RunGet :one
SELECT id, job_id, org_id, status, reason, requested_by, generation, claim, cursor, total, done, changed, attempts,
       lease_until, error, created_at, started_at, finished_at
FROM screening.rescreen_runs
WHERE id = @id;

-- name: RunProgress :execrows
-- Records a committed batch and renews the lease, only if the run is still
-- this worker's generation.
UPDATE screening.rescreen_runs
SET cursor = @cursor, done = done + @batch::integer, changed = changed + @changed::integer,
    total = greatest(total, done + @batch::integer), lease_until = @lease_until::timestamptz
WHERE id = @id AND generation = @generation AND claim = @claim::uuid AND status = 'running';

-- name: RunFinish :execrows
UPDATE screening.rescreen_runs
SET status = @status, finished_at = @now::timestamptz, lease_until = NULL, error = sqlc.narg('error'),
    total = CASE WHEN @status = 'done' THEN done ELSE total END
WHERE id = @id AND generation = @generation AND claim = @claim::uuid AND status = 'running';
