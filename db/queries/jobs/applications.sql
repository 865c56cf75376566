-- JobForApplication is what an application submission needs of a job,
-- queued into the submission's own transaction (jobs.Service.QueueForApplication):
-- no description, no criteria, so nothing to decode on the hottest write.
-- name: JobForApplication :one
SELECT id, org_id, status, title, opens_at, closes_at
FROM jobs.jobs
WHERE id = @id;
