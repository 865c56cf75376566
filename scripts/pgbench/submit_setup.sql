-- Data for submit.sql (pgbench): 10,000 candidates with complete profiles,
-- one candidate account per profile and one published job. Run once with
-- psql on a migrated database (as its owner): psql "$URL" -f submit_setup.sql
INSERT INTO applications.profiles (user_id, date_of_birth, gender, domicile_province, domicile_district,
                                   education, experience, skills, resume_text, phone_enc, created_at, updated_at)
SELECT md5(i::text)::uuid, date '1995-01-01' + (i % 3000), 'female', 'punjab', 'Lahore',
       '[{"level": "bachelor", "field": "CS", "institution": "PU", "year": 2017}]',
       '[{"title": "Engineer", "employer": "Acme", "start_date": "2018-01-01"}]',
       '{go,postgresql}', 'Accounts officer with six years in public sector audits and procurement; prepared monthly reconciliations, budget files and dashboards for a district government office; fluent in English and Urdu; experienced with spreadsheets, SQL reports and vendor payments; led a team of four clerks and trained staff on e-filing.', decode(repeat('ab', 60), 'hex'), now(), now()
FROM generate_series(1, 10000) i
ON CONFLICT DO NOTHING;
INSERT INTO auth.users (id, email, full_name, role, password_hash, cnic_enc, cnic_bidx, created_at, updated_at)
SELECT md5(i::text)::uuid, 'pgbench' || i || '@example.pk', 'Candidate ' || i, 'candidate', 'x',
       decode(repeat('cd', 60), 'hex'), decode(md5('bidx' || i), 'hex'), now(), now()
FROM generate_series(1, 10000) i
ON CONFLICT DO NOTHING;
INSERT INTO jobs.jobs (id, org_id, status, title, department, description, location, positions, opens_at,
                       closes_at, criteria, created_by, published_at)
VALUES ('00000000-0000-7000-8000-00000000b00b', '00000000-0000-7000-8000-0000000000aa', 'published', 'Bench',
        'IT', 'A job for pgbench.', 'Lahore', 1, now() - interval '1 day', now() + interval '300 days',
        '{"min_education": "bachelor", "min_experience_years": 0, "required_skills": [], "preferred_skills": []}',
        '00000000-0000-7000-8000-0000000000bb', now())
ON CONFLICT DO NOTHING;
