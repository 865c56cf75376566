-- +goose Up
-- The auth module: organisations, accounts (candidates and staff), refresh
-- token families and OAuth API clients.
--
-- Row-level security: users and clients of an organisation are visible only
-- to transactions scoped to that organisation (app.scope = 'org' and
-- app.org_id), a person sees their own row (app.user_id), anonymous
-- registration may only insert a candidate, and the 'system' scope (the
-- authentication gate before any principal exists, and background work) sees
-- everything. A transaction that sets no scope sees nothing.
CREATE SCHEMA auth;
GRANT USAGE ON SCHEMA auth TO pvara_app;

-- Organisations are public facts (job adverts name them): no RLS.
CREATE TABLE auth.orgs (
    id         uuid PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    slug       text NOT NULL CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orgs_slug_key UNIQUE (slug)
);
GRANT SELECT, INSERT ON auth.orgs TO pvara_app;

CREATE TABLE auth.users (
    id            uuid PRIMARY KEY,
    -- email is normalised (trimmed, lower-case) by the application.
    email         text NOT NULL CHECK (email = lower(btrim(email)) AND length(email) BETWEEN 3 AND 254),
    full_name     text NOT NULL CHECK (length(full_name) BETWEEN 1 AND 200),
    role          text NOT NULL CHECK (role IN ('candidate', 'recruiter', 'interviewer', 'org_admin', 'platform_admin')),
    -- staff belong to exactly one organisation; nobody else belongs to one.
    org_id        uuid REFERENCES auth.orgs (id),
    password_hash text NOT NULL,
    -- CNIC and phone: AES-256-GCM (internal/platform/fieldcrypt) bound to
    -- "auth.users.cnic:"+id / "auth.users.phone:"+id; cnic_bidx is the keyed
    -- blind index (HMAC-SHA256) that makes one account per CNIC.
    cnic_enc      bytea,
    cnic_bidx     bytea,
    phone_enc     bytea,
    disabled_at   timestamptz,
    -- Access tokens issued before this instant are refused (set on disable).
    tokens_valid_after timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_staff_org_check CHECK ((role IN ('recruiter', 'interviewer', 'org_admin')) = (org_id IS NOT NULL)),
    CONSTRAINT users_cnic_check CHECK ((cnic_enc IS NULL) = (cnic_bidx IS NULL)),
    CONSTRAINT users_candidate_cnic_check CHECK (role <> 'candidate' OR cnic_bidx IS NOT NULL)
);
-- One account per e-mail and per CNIC, enforced here so concurrent
-- registrations cannot both succeed.
CREATE UNIQUE INDEX users_email_key ON auth.users (email);
CREATE UNIQUE INDEX users_cnic_bidx_key ON auth.users (cnic_bidx) WHERE cnic_bidx IS NOT NULL;
CREATE INDEX users_org_idx ON auth.users (org_id, id) WHERE org_id IS NOT NULL;
GRANT SELECT, INSERT, UPDATE ON auth.users TO pvara_app;

ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.users FORCE ROW LEVEL SECURITY;
CREATE POLICY users_system ON auth.users
    USING (current_setting('app.scope', true) = 'system')
    WITH CHECK (current_setting('app.scope', true) = 'system');
CREATE POLICY users_org ON auth.users
    USING (current_setting('app.scope', true) = 'org'
           AND org_id = nullif(current_setting('app.org_id', true), '')::uuid)
    WITH CHECK (current_setting('app.scope', true) = 'org'
           AND org_id = nullif(current_setting('app.org_id', true), '')::uuid
           AND role IN ('recruiter', 'interviewer', 'org_admin'));
CREATE POLICY users_self ON auth.users FOR SELECT
    USING (current_setting('app.scope', true) IN ('user', 'org')
           AND id = nullif(current_setting('app.user_id', true), '')::uuid);
-- Anonymous self-registration may create a candidate and nothing else.
CREATE POLICY users_register ON auth.users FOR INSERT
    WITH CHECK (current_setting('app.scope', true) = 'public'
           AND role = 'candidate' AND org_id IS NULL AND disabled_at IS NULL);

-- A refresh-token family is one login session: every rotation adds a token
-- to it, and reuse of a spent token revokes the whole family.
CREATE TABLE auth.refresh_families (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    -- the user's organisation, denormalised for the RLS policy.
    org_id      uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- absolute end of the session, whatever the rotations.
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    revoke_reason text NOT NULL DEFAULT ''
);
CREATE INDEX refresh_families_user_idx ON auth.refresh_families (user_id) WHERE revoked_at IS NULL;
CREATE INDEX refresh_families_expires_idx ON auth.refresh_families (expires_at);
GRANT SELECT, INSERT, UPDATE, DELETE ON auth.refresh_families TO pvara_app;

ALTER TABLE auth.refresh_families ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.refresh_families FORCE ROW LEVEL SECURITY;
CREATE POLICY refresh_families_system ON auth.refresh_families
    USING (current_setting('app.scope', true) = 'system')
    WITH CHECK (current_setting('app.scope', true) = 'system');
CREATE POLICY refresh_families_self ON auth.refresh_families
    USING (current_setting('app.scope', true) IN ('user', 'org')
           AND user_id = nullif(current_setting('app.user_id', true), '')::uuid)
    WITH CHECK (current_setting('app.scope', true) IN ('user', 'org')
           AND user_id = nullif(current_setting('app.user_id', true), '')::uuid);
CREATE POLICY refresh_families_org ON auth.refresh_families
    USING (current_setting('app.scope', true) = 'org'
           AND org_id = nullif(current_setting('app.org_id', true), '')::uuid)
    WITH CHECK (current_setting('app.scope', true) = 'org'
           AND org_id = nullif(current_setting('app.org_id', true), '')::uuid);

-- Refresh tokens are stored only as SHA-256 digests of their 256-bit random
-- value. used_at marks a spent token.
CREATE TABLE auth.refresh_tokens (
    token_hash  bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    family_id   uuid NOT NULL REFERENCES auth.refresh_families (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- idle expiry: unused for this long, the token (and so the session) ends.
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON auth.refresh_tokens (family_id);
GRANT SELECT, INSERT, UPDATE, DELETE ON auth.refresh_tokens TO pvara_app;

-- OAuth 2.0 API clients (client_credentials) of an organisation.
CREATE TABLE auth.clients (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES auth.orgs (id),
    -- client_id is the public identifier sent by the client.
    client_id   text NOT NULL CHECK (client_id ~ '^pvc_[A-Za-z0-9_-]{16,64}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- SHA-256 of the 256-bit random secret (a high-entropy secret needs no
    -- slow hash; it cannot be guessed).
    secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32),
    scopes      text[] NOT NULL,
    created_by  uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    CONSTRAINT clients_client_id_key UNIQUE (client_id)
);
CREATE INDEX clients_org_idx ON auth.clients (org_id, id);
GRANT SELECT, INSERT, UPDATE ON auth.clients TO pvara_app;

ALTER TABLE auth.clients ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.clients FORCE ROW LEVEL SECURITY;
CREATE POLICY clients_system ON auth.clients
    USING (current_setting('app.scope', true) = 'system')
    WITH CHECK (current_setting('app.scope', true) = 'system');
CREATE POLICY clients_org ON auth.clients
    USING (current_setting('app.scope', true) = 'org'
           AND org_id = nullif(current_setting('app.org_id', true), '')::uuid)
    WITH CHECK (current_setting('app.scope', true) = 'org'
           AND org_id = nullif(current_setting('app.org_id', true), '')::uuid);

-- +goose Down
DROP TABLE IF EXISTS auth.clients;
DROP TABLE IF EXISTS auth.refresh_tokens;
DROP TABLE IF EXISTS auth.refresh_families;
DROP TABLE IF EXISTS auth.users;
DROP TABLE IF EXISTS auth.orgs;
DROP SCHEMA IF EXISTS auth;
