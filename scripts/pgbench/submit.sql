-- The submission transaction of POST /v1/jobs/{job_id}/applications, as
-- pgbench runs it (docs/benchmarks.md, "Applications (load harness)"): the
-- statements of applications.Service.submitOnce, in its two round trips
-- (pipelines), as pvara_app under row-level security. Run by
-- scripts/bench-load.sh (LOAD_PGBENCH=1), which creates the loadbench.cands
-- and loadbench.jobs lookup tables (the reserved candidates, the open jobs).
--
-- What differs from the server, on purpose: the candidate that applies is
-- a fresh random id (app.user_id is switched to it after the profile read),
-- so no run can collide with an earlier one; ids are UUIDv7-like from the
-- clock; the outbox payload and audit details have the server's shape and
-- size. The server also reads the job and the candidate's name before the
-- transaction (two short reads): those are not in this script.
\set c random(1, :ncands)
\set j random(1, :njobs)
\set k random(1, 1000000000)
\startpipeline
BEGIN;
SELECT set_config('app.scope', 'user', true), set_config('app.org_id', '', true),
       set_config('app.user_id', (SELECT id::text FROM loadbench.cands WHERE n = :c), true);
SELECT pg_try_advisory_xact_lock(:k::bigint)::bool AS locked;
SELECT fingerprint, status, response FROM applications.idempotency_keys
WHERE user_id = current_setting('app.user_id')::uuid AND key = 'pgbench-' || :k AND expires_at > now();
SELECT user_id, version, date_of_birth, gender, domicile_province, domicile_district, education, experience,
       skills, resume_text, phone_enc, created_at, updated_at
FROM applications.profiles WHERE user_id = current_setting('app.user_id')::uuid;
SELECT nextval('applications.receipt_seq')::bigint AS n;
\endpipeline
\startpipeline
SELECT set_config('app.user_id', gen_random_uuid()::text, true);
WITH v AS (
    SELECT (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7'
            || substr(md5(random()::text), 1, 19))::uuid AS id,
           date_trunc('milliseconds', clock_timestamp()) AS at,
           current_setting('app.user_id')::uuid AS cand,
           (SELECT id FROM loadbench.jobs WHERE n = :j) AS job,
           (SELECT org_id FROM loadbench.jobs WHERE n = :j) AS org,
           'PV26-' || lpad(:k::text, 10, '0') AS receipt
), g AS (
    INSERT INTO applications.guards (job_id, candidate_id, application_id, created_at, receipt_number)
    SELECT job, cand, id, at, receipt FROM v
    RETURNING receipt_number
), a AS (
    INSERT INTO applications.applications (
        id, created_at, org_id, job_id, candidate_id, receipt_number, cover_letter, candidate_name, cnic_masked,
        gender, date_of_birth, domicile_province, domicile_district, skills, resume_text, profile, phone_enc,
        updated_at)
    SELECT v.id, v.at, v.org, v.job, v.cand, g.receipt_number,
           'I would like to apply for this post; my profile lists my qualifications.', 'Ayesha Khan', '35202-*******-1',
           'female', '1995-03-04', 'punjab', 'Lahore', ARRAY['python', 'accounting', 'report writing'],
           'experienced professional with a record of delivering projects in government and private sector worked on accounts audits procurement software reporting data analysis',
           '{"version":1,"date_of_birth":"1995-03-04","gender":"female","domicile_province":"punjab","domicile_district":"Lahore","education":[{"level":"matric","field":"Accounting","institution":"NUST","year":2011},{"level":"bachelor","field":"Accounting","institution":"NUST","year":2015}],"experience":[{"title":"Officer","employer":"WAPDA","start_date":"2019-03-01"}],"skills":["python","accounting","report writing"],"resume_text":"experienced professional with a record of delivering projects in government and private sector worked on accounts audits procurement software reporting data analysis","updated_at":"2025-11-29T07:00:00Z"}',
           NULL, v.at
    FROM v, g
    RETURNING receipt_number
), h AS (
    INSERT INTO applications.status_history (id, application_id, org_id, candidate_id, from_status, to_status,
                                             reason, changed_by, changed_at)
    SELECT gen_random_uuid(), v.id, v.org, v.cand, NULL, 'submitted', NULL, v.cand, v.at FROM v, g
)
SELECT receipt_number::text FROM a;
INSERT INTO platform.outbox (id, topic, event_key, lane, payload, headers)
VALUES (gen_random_uuid(), 'pvara.applications.submitted', gen_random_uuid()::text, :k % 64,
        '{"id":"01938f4e-0000-7000-8000-000000000000","type":"applications.submitted","version":1,"occurred_at":"2026-11-29T07:00:00.000000000Z","org_id":"01938f4e-0000-7000-8000-000000000001","subject":"01938f4e-0000-7000-8000-000000000002","data":{"application_id":"01938f4e-0000-7000-8000-000000000002","job_id":"01938f4e-0000-7000-8000-000000000003","org_id":"01938f4e-0000-7000-8000-000000000001","candidate_id":"01938f4e-0000-7000-8000-000000000004","receipt_number":"PV26-000123456","submitted_at":"2026-11-29T07:00:00.000Z"}}',
        '{}');
INSERT INTO platform.audit_log (id, occurred_at, org_id, actor_id, actor_role, action, resource, resource_id, ip, request_id, details)
VALUES (gen_random_uuid(), now(), gen_random_uuid(), current_setting('app.user_id')::uuid, 'candidate',
        'applications.submitted', 'application', gen_random_uuid()::text, '127.0.0.1', gen_random_uuid()::text,
        '{"job_id":"01938f4e-0000-7000-8000-000000000003","receipt_number":"PV26-000123456"}');
INSERT INTO applications.idempotency_keys (user_id, key, fingerprint, status, response, created_at, expires_at)
VALUES (current_setting('app.user_id')::uuid, 'pgbench-' || :k, sha256(:k::text::bytea), 201,
        '{"id":"01938f4e-0000-7000-8000-000000000002","job_id":"01938f4e-0000-7000-8000-000000000003","status":"submitted","receipt_number":"PV26-000123456","created_at":"2026-11-29T07:00:00.000Z"}',
        now(), now() + interval '24 hours')
ON CONFLICT (user_id, key) DO UPDATE
SET fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status, response = EXCLUDED.response,
    created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at;
COMMIT;
\endpipeline
