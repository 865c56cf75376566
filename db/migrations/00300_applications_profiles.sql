-- +goose Up
-- The applications module, part one: candidate profiles. A profile is what
-- an application copies at submission. Applications, their history and
-- guards come in later migrations of the 300 range.
CREATE SCHEMA applications;
GRANT USAGE ON SCHEMA applications TO pvara_app;

CREATE TABLE applications.profiles (
    user_id           uuid PRIMARY KEY,   -- auth's user (no cross-schema FK)
    version           integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    -- Every field may be empty while the candidate fills the profile in;
    -- applications.CheckComplete says what an application needs.
    date_of_birth     date,
    gender            text CHECK (gender IN ('male', 'female', 'other')),
    domicile_province text CHECK (domicile_province IN ('punjab', 'sindh', 'kpk', 'balochistan', 'islamabad', 'gb', 'ajk')),
    domicile_district text CHECK (char_length(domicile_district) <= 100),
    -- [{level, field, institution, year, grade}]
    education         jsonb NOT NULL DEFAULT '[]',
    -- [{title, employer, start_date, end_date}]
    experience        jsonb NOT NULL DEFAULT '[]',
    skills            text[] NOT NULL DEFAULT '{}',
    resume_text       text NOT NULL DEFAULT '' CHECK (char_length(resume_text) <= 20000),
    -- phone_enc is AES-256-GCM (fieldcrypt) bound to
    -- "applications.profiles.phone:"+user_id; never stored in clear.
    phone_enc         bytea,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Row-level security: a candidate (scope user) reads and writes only their
-- own profile; workers (system) see all. Staff never read profiles directly:
-- they see the copy inside an application.
ALTER TABLE applications.profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE applications.profiles FORCE ROW LEVEL SECURITY;
CREATE POLICY profiles_owner ON applications.profiles FOR ALL TO pvara_app USING (
    current_setting('app.scope', true) = 'system'
    OR (current_setting('app.scope', true) = 'user'
        AND user_id = nullif(current_setting('app.user_id', true), '')::uuid)
) WITH CHECK (
    current_setting('app.scope', true) = 'system'
    OR (current_setting('app.scope', true) = 'user'
        AND user_id = nullif(current_setting('app.user_id', true), '')::uuid)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON applications.profiles TO pvara_app;

-- +goose Down
DROP TABLE IF EXISTS applications.profiles;
DROP SCHEMA IF EXISTS applications;
