-- Queries that serve the screening module (through internal/applications/screening.go).

-- ApplicationGetMany reads the applications with the given ids, in no
-- particular order; ids with no row are left out. An id is a UUIDv7 whose
-- time is its row's created_at, which names the partition: the caller
-- bounds created_at by the earliest and latest of them, so only the
-- partitions that can hold them are searched (the bounds are parameters,
-- which PostgreSQL prunes by at execution, even in a generic plan).
-- name: ApplicationGetMany :many
SELECT id, created_at, org_id, job_id, candidate_id, receipt_number, status, version, cover_letter, candidate_name,
       cnic_masked, gender, date_of_birth, domicile_province, domicile_district, skills, resume_text, profile,
       ai_score, eligible, model_version, scored_at, updated_at
FROM applications.applications
WHERE id = ANY(@ids::uuid[]) AND created_at BETWEEN @created_from AND @created_to;

-- ApplicationApplyScores stores many screening results at once, each only
-- when it is newer than the stored one (as ApplicationApplyScore does for
-- one). The arrays are parallel, one element per application, with no
-- application twice (an UPDATE applies one source row per target row, so
-- the caller keeps the newest result of each). created_at is each id's
-- time; created_from and created_to bound them for partition pruning. It
-- returns the ids whose row changed.
-- name: ApplicationApplyScores :many
UPDATE applications.applications a
SET ai_score = s.ai_score, eligible = s.eligible, model_version = s.model_version, scored_at = s.scored_at
FROM (
    -- Arrays unnested in the select list are zipped (they have equal lengths).
    SELECT unnest(@ids::uuid[]) AS id, unnest(@created_ats::timestamptz[]) AS created_at,
           unnest(@ai_scores::float8[])::numeric(5, 2) AS ai_score, unnest(@eligibles::boolean[]) AS eligible,
           unnest(@model_versions::text[]) AS model_version, unnest(@scored_ats::timestamptz[]) AS scored_at
) s
WHERE a.id = s.id AND a.created_at = s.created_at
  AND a.created_at BETWEEN @created_from AND @created_to
  AND (a.scored_at IS NULL OR a.scored_at < s.scored_at)
RETURNING a.id;
