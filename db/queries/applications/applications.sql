-- ReceiptNext is the number of the next receipt (see the sequence).
-- name: ReceiptNext :one
SELECT nextval('applications.receipt_seq')::bigint AS n;

-- ApplicationSubmit writes a submission in one statement: the duplicate
-- guard (whose primary key refuses a second application by the candidate
-- to the job: unique violation guards_pkey), the receipt number (from
-- ReceiptNext, kept unique by the guard) and the application in its
-- monthly partition. Either all of it is written or none. The first
-- status-history row is not a CTE here: its insert policy checks that the
-- application exists, which a sub-statement of the same statement cannot
-- see (one snapshot), so HistoryInsert follows in the same batch.
-- name: ApplicationSubmit :one
WITH g AS (
    INSERT INTO applications.guards (job_id, candidate_id, application_id, created_at, receipt_number)
    VALUES (@job_id, @candidate_id, @id, @created_at,
            @receipt_number)
    RETURNING receipt_number
), a AS (
    INSERT INTO applications.applications (
        id, created_at, org_id, job_id, candidate_id, receipt_number, cover_letter, candidate_name, cnic_masked,
        gender, date_of_birth, domicile_province, domicile_district, skills, resume_text, profile, phone_enc,
        updated_at)
    SELECT @id, @created_at, @org_id, @job_id, @candidate_id, g.receipt_number, sqlc.narg('cover_letter')::text,
           @candidate_name, @cnic_masked, @gender, @date_of_birth, @domicile_province, @domicile_district,
           @skills::text[], @resume_text, @profile, sqlc.narg('phone_enc')::bytea, @created_at
    FROM g
    RETURNING receipt_number
)
SELECT receipt_number::text FROM a;

-- ApplicationGet reads one application. created_at (the id's timestamp)
-- names its partition, so only one partition is searched.
-- name: ApplicationGet :one
SELECT id, created_at, org_id, job_id, candidate_id, receipt_number, status, version, cover_letter, candidate_name,
       cnic_masked, gender, date_of_birth, domicile_province, domicile_district, skills, resume_text, profile,
       ai_score, eligible, model_version, scored_at, updated_at
FROM applications.applications
WHERE id = @id AND created_at = @created_at;

-- name: ApplicationGetForUpdate :one
SELECT id, created_at, org_id, job_id, candidate_id, receipt_number, status, version, cover_letter, candidate_name,
       cnic_masked, gender, date_of_birth, domicile_province, domicile_district, skills, resume_text, profile,
       ai_score, eligible, model_version, scored_at, updated_at
FROM applications.applications
WHERE id = @id AND created_at = @created_at
FOR UPDATE;

-- ApplicationSetStatus changes the status of a row the caller has locked.
-- name: ApplicationSetStatus :one
UPDATE applications.applications
SET status = @status, version = version + 1, updated_at = @now
WHERE id = @id AND created_at = @created_at AND version = @version
RETURNING id, created_at, org_id, job_id, candidate_id, receipt_number, status, version, cover_letter,
          candidate_name, cnic_masked, gender, date_of_birth, domicile_province, domicile_district, skills,
          resume_text, profile, ai_score, eligible, model_version, scored_at, updated_at;

-- ApplicationListByCandidate is a candidate's own list, newest first, by
-- keyset (before = the last id of the previous page).
-- name: ApplicationListByCandidate :many
SELECT id, created_at, org_id, job_id, candidate_id, receipt_number, status, version, cover_letter, candidate_name,
       cnic_masked, gender, date_of_birth, domicile_province, domicile_district, skills, resume_text, profile,
       ai_score, eligible, model_version, scored_at, updated_at
FROM applications.applications
WHERE candidate_id = @candidate_id
  AND (sqlc.narg('before')::uuid IS NULL OR id < sqlc.narg('before')::uuid)
ORDER BY id DESC
LIMIT @lim;

-- ApplicationListByJob pages through a job's applications in id order.
-- name: ApplicationListByJob :many
SELECT id, created_at, org_id, job_id, candidate_id, receipt_number, status, version, cover_letter, candidate_name,
       cnic_masked, gender, date_of_birth, domicile_province, domicile_district, skills, resume_text, profile,
       ai_score, eligible, model_version, scored_at, updated_at
FROM applications.applications
WHERE job_id = @job_id AND id > @after
ORDER BY id
LIMIT @lim;

-- ApplicationApplyScore stores a screening result unless a newer one is
-- already stored: re-scores may arrive out of order, and a redelivery of
-- the stored one changes nothing (scored_at is not newer than itself).
-- name: ApplicationApplyScore :execrows
UPDATE applications.applications
SET ai_score = @ai_score, eligible = @eligible, model_version = @model_version, scored_at = @scored_at
WHERE id = @id AND created_at = @created_at
  AND (scored_at IS NULL OR scored_at < @scored_at);

-- HistoryInsert writes one status-history row. Its insert policy
-- (migration 00420) refuses a row whose application the caller cannot see
-- or whose org_id and candidate_id are not the application's.
-- name: HistoryInsert :exec
INSERT INTO applications.status_history (id, application_id, org_id, candidate_id, from_status, to_status, reason,
                                         changed_by, changed_at)
VALUES (@id, @application_id, @org_id, @candidate_id, @from_status, @to_status, sqlc.narg('reason'), @changed_by,
        @changed_at);

-- name: HistoryList :many
SELECT id, from_status, to_status, reason, changed_by, changed_at
FROM applications.status_history
WHERE application_id = @application_id
ORDER BY id;
