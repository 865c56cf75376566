-- Staff search (GET /v1/applications) in relevance order. The searches in
-- recency and score order are built at run time with only the filters
-- present (internal/applications/internal/db/search_shape.go says why).
-- Here every filter is optional (`narg IS NULL OR ...`): the service runs
-- this with plan_cache_mode = force_custom_plan, so PostgreSQL plans each
-- call with the values at hand and folds the absent filters away; ranking
-- every match costs far more than that planning. org_id is always the
-- caller's organisation, and row-level security checks it again.

-- name: ApplicationSearchRelevance :many
-- Text search in relevance order (ts_rank: name matches weigh most, then
-- skills, then the résumé); every match in the organisation is ranked.
SELECT id, created_at, job_id, candidate_id, receipt_number, status, candidate_name, cnic_masked, gender,
       domicile_province, domicile_district, skills, eligible, score_key, updated_at,
       ts_rank(search, websearch_to_tsquery('simple', @query::text))::real AS rank
FROM applications.applications
WHERE org_id = @org_id
  AND search @@ websearch_to_tsquery('simple', @query::text)
  AND (sqlc.narg('job_id')::uuid IS NULL OR job_id = sqlc.narg('job_id')::uuid)
  AND (sqlc.narg('status')::text IS NULL OR status = sqlc.narg('status')::text)
  AND (sqlc.narg('min_score_key')::integer IS NULL OR score_key >= sqlc.narg('min_score_key')::integer)
  AND (sqlc.narg('max_score_key')::integer IS NULL OR score_key BETWEEN 0 AND sqlc.narg('max_score_key')::integer)
  AND (sqlc.narg('province')::text IS NULL OR domicile_province = sqlc.narg('province')::text)
  AND (sqlc.narg('submitted_after')::timestamptz IS NULL OR created_at >= sqlc.narg('submitted_after')::timestamptz)
  AND (sqlc.narg('submitted_before')::timestamptz IS NULL OR created_at < sqlc.narg('submitted_before')::timestamptz)
  AND (sqlc.narg('cursor_rank')::real IS NULL
       OR (ts_rank(search, websearch_to_tsquery('simple', @query::text))::real, id)
          < (sqlc.narg('cursor_rank')::real, sqlc.narg('cursor_id')::uuid))
ORDER BY rank DESC, id DESC
LIMIT @lim;

-- name: ApplicationExportRows :many
-- A job's applications for the CSV export, oldest first. The service reads
-- it row by row (pgx streams the result), never as a slice.
SELECT id, created_at, receipt_number, status, candidate_name, cnic_masked, gender, date_of_birth,
       domicile_province, domicile_district, skills, score_key, eligible, model_version, updated_at
FROM applications.applications
WHERE org_id = @org_id AND job_id = @job_id
ORDER BY created_at, id;

-- name: JobMetrics :many
SELECT status, applications, avg_score FROM applications.job_metrics
WHERE job_id = @job_id AND org_id = @org_id
ORDER BY status;

-- name: MetricsRefreshedAt :one
SELECT refreshed_at FROM applications.metrics_refresh WHERE id;

-- name: MetricsRefresh :one
SELECT applications.refresh_application_metrics()::timestamptz AS refreshed_at;
