-- The SQL of one application submission (POST /v1/jobs/{job_id}/applications
-- with an Idempotency-Key, as the load harness's submit scenario sends it),
-- statement for statement and round trip for
-- round trip as the API sends it (docs/applications.md, "Submission"), for
-- comparing the endpoint's closed-loop maximum with PostgreSQL's own:
--
--   psql "$URL" -f scripts/pgbench/submit_setup.sql
--   pgbench -n -M prepared -c 32 -j 2 -T 30 -f scripts/pgbench/submit_key.sql "$URL"
--
-- Two pipelines = two round trips, one transaction: the reads (BEGIN, the
-- candidate's scope, the job, the candidate's account, the key's advisory
-- lock and stored answer, the profile, the receipt number) and the writes
-- (... the stored answer, COMMIT). SET LOCAL ROLE makes
-- row-level security apply as it does to pvara_app. Every transaction
-- writes a new (job, candidate) pair, so no guard conflicts. The payloads
-- are fixed strings of realistic size instead of computed JSON: the résumé
-- is about as long as the seeded ones (~310 characters, ~50 words), which
-- matters because it feeds the search vector and the GIN index. Ids are
-- time-ordered like the service's UUIDv7 (the millisecond clock, then
-- random bits), so the primary keys grow at their right edge as they do
-- under the API; random (v4) ids would scatter every insert over the whole
-- index and make the transaction dearer than the API's as the tables grow.
-- The application's id is made from the transaction's start (now(), the
-- same in every statement of it) and the random bits :ra and :rb, so that
-- its time is its created_at, as in the API (the history insert policy
-- relies on it), and the separate history insert names the same id (a
-- \gset cannot be used inside a pipeline).
-- A job id is random: the API's jobs are thousands, spread over the index.
-- submit.sql is the same without a key.
\set u random(1, 10000)
\set ra random(0, 4095)
\set rb random(0, 1152921504606846975)
\set k random(1, 1000000000)
\startpipeline
BEGIN;
SET LOCAL ROLE pvara_app;
SELECT set_config('app.scope', 'user', true), set_config('app.org_id', '', true), set_config('app.user_id', md5(:u::text)::uuid::text, true);
SELECT id, org_id, status, title, opens_at, closes_at FROM jobs.jobs WHERE id = '00000000-0000-7000-8000-00000000b00b';
SELECT id, full_name, role, org_id, cnic_enc, disabled_at FROM auth.users WHERE id = md5(:u::text)::uuid;
SELECT pg_try_advisory_xact_lock(('x' || substr(md5(:u || '/' || :k), 1, 16))::bit(64)::bigint)::bool AS locked;
SELECT fingerprint, status, response FROM applications.idempotency_keys
WHERE user_id = md5(:u::text)::uuid AND key = 'bench-' || :k AND expires_at > now();
SELECT user_id, version, date_of_birth, gender, domicile_province, domicile_district, education, experience,
       skills, resume_text, phone_enc, created_at, updated_at
FROM applications.profiles WHERE user_id = md5(:u::text)::uuid;
SELECT nextval('applications.receipt_seq')::bigint AS n;
\endpipeline
\startpipeline
WITH g AS (
    INSERT INTO applications.guards (job_id, candidate_id, application_id, created_at, receipt_number)
    VALUES (gen_random_uuid(), md5(:u::text)::uuid, (lpad(to_hex(floor(extract(epoch FROM now()) * 1000)::bigint), 12, '0') || '7' || lpad(to_hex(:ra::bigint), 3, '0') || '8' || lpad(to_hex(:rb::bigint), 15, '0'))::uuid,
            date_trunc('milliseconds', now()),
            'PV26-' || substr(md5(random()::text), 1, 12)) -- the number came from the read pipeline
    RETURNING job_id, application_id, created_at, receipt_number
), a AS (
    INSERT INTO applications.applications (
        id, created_at, org_id, job_id, candidate_id, receipt_number, cover_letter, candidate_name, cnic_masked,
        gender, date_of_birth, domicile_province, domicile_district, skills, resume_text, profile, phone_enc,
        updated_at)
    SELECT g.application_id, g.created_at, '00000000-0000-7000-8000-0000000000aa', g.job_id, md5(:u::text)::uuid,
           g.receipt_number, NULL, 'Candidate ' || :u, '35202-*******-1', 'female', date '1995-01-01', 'punjab',
           'Lahore', '{go,postgresql}', 'Accounts officer with six years in public sector audits and procurement; prepared monthly reconciliations, budget files and dashboards for a district government office; fluent in English and Urdu; experienced with spreadsheets, SQL reports and vendor payments; led a team of four clerks and trained staff on e-filing.',
           '{"version": 1, "date_of_birth": "1995-01-01", "gender": "female", "domicile_province": "punjab", "domicile_district": "Lahore", "education": [{"level": "bachelor", "field": "CS", "institution": "PU", "year": 2017}], "experience": [{"title": "Engineer", "employer": "Acme", "start_date": "2018-01-01"}], "skills": ["go", "postgresql"], "resume_text": "Accounts officer with six years in public sector audits and procurement; prepared monthly reconciliations, budget files and dashboards for a district government office; fluent in English and Urdu; experienced with spreadsheets, SQL reports and vendor payments; led a team of four clerks and trained staff on e-filing.", "updated_at": "2026-11-29T00:00:00Z"}',
           decode(repeat('ef', 60), 'hex'), g.created_at
    FROM g
    RETURNING receipt_number
)
SELECT receipt_number::text FROM a;
INSERT INTO applications.status_history (id, application_id, org_id, candidate_id, from_status, to_status, reason,
                                         changed_by, changed_at)
VALUES ((lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7' || substr(md5(random()::text), 1, 3) || '8' || substr(md5(random()::text), 1, 15))::uuid,
        (lpad(to_hex(floor(extract(epoch FROM now()) * 1000)::bigint), 12, '0') || '7' || lpad(to_hex(:ra::bigint), 3, '0') || '8' || lpad(to_hex(:rb::bigint), 15, '0'))::uuid, '00000000-0000-7000-8000-0000000000aa',
        md5(:u::text)::uuid, NULL, 'submitted', NULL, md5(:u::text)::uuid, date_trunc('milliseconds', now()));
INSERT INTO platform.outbox (id, topic, event_key, lane, payload, headers)
VALUES ((lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7' || substr(md5(random()::text), 1, 3) || '8' || substr(md5(random()::text), 1, 15))::uuid, 'pvara.applications.submitted', md5(:u::text), (:u % 64)::smallint,
        '{"id": "0190f5c2-7a3b-7c00-8000-0000000000f1", "type": "applications.submitted", "version": 1, "occurred_at": "2026-12-01T09:30:00Z", "org_id": "0190f5c2-7a3b-7c00-8000-0000000000aa", "subject": "0190f5c2-7a3b-7c00-8000-0000000000a1", "data": {"application_id": "0190f5c2-7a3b-7c00-8000-0000000000a1", "job_id": "0190f5c2-7a3b-7c00-8000-000000000001", "org_id": "0190f5c2-7a3b-7c00-8000-0000000000aa", "candidate_id": "0190f5c2-7a3b-7c00-8000-0000000000c1", "receipt_number": "PV26-000123456", "submitted_at": "2026-12-01T09:30:00Z"}}',
        '{"content-type": "application/json", "event-type": "applications.submitted", "event-version": "1", "request-id": "01HZX3Q9J0K2"}');
INSERT INTO platform.audit_log (id, occurred_at, org_id, actor_id, actor_role, action, resource, resource_id, ip, request_id, details)
VALUES ((lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7' || substr(md5(random()::text), 1, 3) || '8' || substr(md5(random()::text), 1, 15))::uuid, now(), '00000000-0000-7000-8000-0000000000aa', md5(:u::text)::uuid, 'candidate',
        'applications.submitted', 'application', (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7' || substr(md5(random()::text), 1, 3) || '8' || substr(md5(random()::text), 1, 15))::uuid::text, '127.0.0.1', '01HZX3Q9J0K2',
        '{"job_id": "0190f5c2-7a3b-7c00-8000-000000000001", "receipt_number": "PV26-000123456"}');
INSERT INTO applications.idempotency_keys (user_id, key, fingerprint, status, response, created_at, expires_at)
VALUES (md5(:u::text)::uuid, 'bench-' || :k, sha256(('POST /v1/jobs/x/applications' || :k)::bytea), 201,
        '{"id": "0190f5c2-7a3b-7c00-8000-0000000000a1", "job_id": "0190f5c2-7a3b-7c00-8000-000000000001", "org_id": "0190f5c2-7a3b-7c00-8000-0000000000aa", "candidate_id": "0190f5c2-7a3b-7c00-8000-0000000000c1", "receipt_number": "PV26-000123456", "status": "submitted", "version": 1, "cover_letter": "I would like to apply for this post; my profile lists my qualifications.", "candidate_name": "Candidate 1234", "cnic_masked": "35202-*******-1", "ai_score": null, "screening": null, "profile": {"version": 1, "date_of_birth": "1995-01-01", "gender": "female", "domicile_province": "punjab", "domicile_district": "Lahore", "education": [{"level": "bachelor", "field": "CS", "institution": "PU", "year": 2017}], "experience": [{"title": "Engineer", "employer": "Acme", "start_date": "2018-01-01", "end_date": null}], "skills": ["go", "postgresql"], "resume_text": "Accounts officer with six years in public sector audits and procurement; prepared monthly reconciliations, budget files and dashboards for a district government office; fluent in English and Urdu; experienced with spreadsheets, SQL reports and vendor payments; led a team of four clerks and trained staff on e-filing."}, "created_at": "2026-12-01T09:30:00.123Z", "updated_at": "2026-12-01T09:30:00.123Z"}', now(), now() + interval '24 hours')
ON CONFLICT (user_id, key) DO UPDATE
SET fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status, response = EXCLUDED.response,
    created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at;
COMMIT;
\endpipeline
