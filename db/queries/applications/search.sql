-- Staff search (GET /v1/applications) is built at run time with only the
-- filters present: internal/applications/internal/db/search_shape.go says
-- why. Here: the CSV export and the metrics.

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
