-- Every query that returns a whole job selects the same columns in the same
-- order (everything but search_vector), so store.go converts each
-- generated row type to JobGetRow with a plain type conversion.

-- name: JobInsert :one
INSERT INTO jobs.jobs (id, org_id, status, title, department, description, location, province, grade,
                       positions, opens_at, closes_at, criteria, created_by, created_at, updated_at)
VALUES (@id, @org_id, 'draft', @title, @department, @description, @location, sqlc.narg('province'), sqlc.narg('grade'),
        @positions, @opens_at, @closes_at, @criteria, @created_by, @now, @now)
RETURNING id, org_id, status, version, title, department, description, location, province, grade, positions,
          opens_at, closes_at, criteria, created_by, created_at, updated_at, published_at, closed_at;

-- name: JobGet :one
SELECT id, org_id, status, version, title, department, description, location, province, grade, positions,
       opens_at, closes_at, criteria, created_by, created_at, updated_at, published_at, closed_at
FROM jobs.jobs
WHERE id = @id;

-- name: JobGetForUpdate :one
SELECT id, org_id, status, version, title, department, description, location, province, grade, positions,
       opens_at, closes_at, criteria, created_by, created_at, updated_at, published_at, closed_at
FROM jobs.jobs
WHERE id = @id
FOR UPDATE;

-- name: JobUpdate :one
-- The version predicate makes a stale write update nothing even if a caller
-- skipped the locked read.
UPDATE jobs.jobs
SET title = @title, department = @department, description = @description, location = @location,
    province = sqlc.narg('province'), grade = sqlc.narg('grade'), positions = @positions,
    opens_at = @opens_at, closes_at = @closes_at, criteria = @criteria,
    version = version + 1, updated_at = @now
WHERE id = @id AND version = @version
RETURNING id, org_id, status, version, title, department, description, location, province, grade, positions,
          opens_at, closes_at, criteria, created_by, created_at, updated_at, published_at, closed_at;

-- name: JobSetStatus :one
UPDATE jobs.jobs
SET status = @status,
    published_at = CASE WHEN @status = 'published' THEN @now ELSE published_at END,
    closed_at = CASE WHEN @status = 'closed' THEN sqlc.narg('closed_at')::timestamptz ELSE closed_at END,
    version = version + 1, updated_at = @now
WHERE id = @id AND version = @version
RETURNING id, org_id, status, version, title, department, description, location, province, grade, positions,
          opens_at, closes_at, criteria, created_by, created_at, updated_at, published_at, closed_at;

-- name: JobBoard :many
-- The public board: published jobs open at @now, newest first, keyset
-- paginated on (published_at, id). Optional filters are NULL when unused;
-- the caller runs it with plan_cache_mode = force_custom_plan so each call
-- is planned with its own values (a generic plan cannot pick the partial
-- GIN index for q).
SELECT id, org_id, status, version, title, department, left(description, 280)::text AS excerpt, location, province,
       grade, positions, opens_at, closes_at, criteria, published_at
FROM jobs.jobs
WHERE status = 'published'
  AND opens_at <= @now AND closes_at > @now
  AND (sqlc.narg('org_id')::uuid IS NULL OR org_id = sqlc.narg('org_id'))
  AND (sqlc.narg('province')::text IS NULL OR province = sqlc.narg('province'))
  AND (sqlc.narg('department')::text IS NULL OR lower(department) = lower(sqlc.narg('department')))
  AND (sqlc.narg('q')::text IS NULL
       OR search_vector @@ (websearch_to_tsquery('english', sqlc.narg('q')) || websearch_to_tsquery('simple', sqlc.narg('q'))))
  AND (sqlc.narg('after_published')::timestamptz IS NULL
       OR (published_at, id) < (sqlc.narg('after_published')::timestamptz, sqlc.narg('after_id')::uuid))
ORDER BY published_at DESC, id DESC
LIMIT @lim;

-- name: JobNextOpening :one
-- When the next published job opens: a cached board page must expire then.
-- (The expression matches jobs_opening_idx; see the migration.)
SELECT opens_at
FROM jobs.jobs
WHERE status = 'published' AND timezone('UTC', opens_at) > timezone('UTC', @now::timestamptz)
ORDER BY timezone('UTC', opens_at)
LIMIT 1;

-- name: JobListOrg :many
-- Staff listing of their own organisation, newest first (UUIDv7 ids),
-- keyset on id. A status filter of 'published' means stored as published;
-- the service maps "closed" to stored closed plus published past closes_at.
SELECT id, org_id, status, version, title, department, left(description, 280)::text AS excerpt, location, province,
       grade, positions, opens_at, closes_at, criteria, published_at
FROM jobs.jobs
WHERE org_id = @org_id
  AND (sqlc.narg('statuses')::text[] IS NULL OR status = ANY(sqlc.narg('statuses')::text[]))
  AND (sqlc.narg('open_at')::timestamptz IS NULL OR closes_at > sqlc.narg('open_at'))
  AND (sqlc.narg('due_at')::timestamptz IS NULL OR status <> 'published' OR closes_at <= sqlc.narg('due_at'))
  AND (sqlc.narg('q')::text IS NULL
       OR search_vector @@ (websearch_to_tsquery('english', sqlc.narg('q')) || websearch_to_tsquery('simple', sqlc.narg('q'))))
  AND (sqlc.narg('before_id')::uuid IS NULL OR id < sqlc.narg('before_id'))
ORDER BY id DESC
LIMIT @lim;

-- name: JobCloseDue :many
-- Closes published jobs whose deadline has passed, a batch at a time;
-- SKIP LOCKED lets a concurrent editor's transaction finish undisturbed.
UPDATE jobs.jobs
SET status = 'closed', closed_at = closes_at, version = version + 1, updated_at = @now
WHERE id IN (
    SELECT j.id FROM jobs.jobs j
    WHERE j.status = 'published' AND timezone('UTC', j.closes_at) <= timezone('UTC', @now::timestamptz)
    ORDER BY timezone('UTC', j.closes_at)
    LIMIT @lim
    FOR UPDATE SKIP LOCKED
)
RETURNING id, org_id, version, closed_at;

-- name: JobExists :one
SELECT EXISTS (SELECT 1 FROM jobs.jobs WHERE id = @id);

-- name: JobCorpusTexts :many
-- The texts of published and closed jobs, newest first (UUIDv7 ids), for
-- screening's text-relevance corpus; keyset on id.
SELECT id, title, department, description, criteria
FROM jobs.jobs
WHERE status IN ('published', 'closed')
  AND (sqlc.narg('before_id')::uuid IS NULL OR id < sqlc.narg('before_id'))
ORDER BY id DESC
LIMIT @lim;
