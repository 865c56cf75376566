-- name: UserInsert :exec
-- No RETURNING: anonymous registration may insert a candidate but not read
-- the users table back.
INSERT INTO auth.users (id, email, full_name, role, org_id, password_hash, cnic_enc, cnic_bidx, phone_enc, created_at, updated_at)
VALUES (@id, @email, @full_name, @role, sqlc.narg('org_id'), @password_hash, sqlc.narg('cnic_enc'), sqlc.narg('cnic_bidx'), sqlc.narg('phone_enc'), @now, @now);

-- name: UserGet :one
-- org_id, when given, is the caller's organisation: the explicit filter
-- that RLS repeats.
SELECT id, email, full_name, role, org_id, cnic_enc, phone_enc, disabled_at, created_at, updated_at
FROM auth.users
WHERE id = @id AND (sqlc.narg('org_id')::uuid IS NULL OR org_id = sqlc.narg('org_id')::uuid);

-- name: UserGetCredentialsByEmail :one
SELECT id, role, org_id, password_hash, disabled_at
FROM auth.users
WHERE email = @email;

-- name: UserUpdatePasswordHash :exec
UPDATE auth.users SET password_hash = @password_hash, updated_at = @now WHERE id = @id;

-- name: UserState :one
-- What the token verifier needs to know about a subject on every request
-- (cached briefly per replica).
SELECT role, org_id, disabled_at, tokens_valid_after FROM auth.users WHERE id = @id;

-- name: UserDisable :one
UPDATE auth.users
SET disabled_at = coalesce(disabled_at, @now::timestamptz), tokens_valid_after = @now::timestamptz, updated_at = @now
WHERE id = @id AND (sqlc.narg('org_id')::uuid IS NULL OR org_id = sqlc.narg('org_id')::uuid)
RETURNING id, email, full_name, role, org_id, cnic_enc, phone_enc, disabled_at, created_at, updated_at;

-- name: UserEnable :one
UPDATE auth.users
SET disabled_at = NULL, updated_at = @now
WHERE id = @id AND (sqlc.narg('org_id')::uuid IS NULL OR org_id = sqlc.narg('org_id')::uuid)
RETURNING id, email, full_name, role, org_id, cnic_enc, phone_enc, disabled_at, created_at, updated_at;

-- name: UsersListByOrg :many
-- Keyset pagination over an organisation's staff (ids are UUIDv7, so this
-- is creation order). The org filter is explicit even though RLS would
-- also apply it.
SELECT id, email, full_name, role, org_id, cnic_enc, phone_enc, disabled_at, created_at, updated_at
FROM auth.users
WHERE org_id = @org_id AND id > @after
ORDER BY id
LIMIT @lim;

-- name: UsersGetNames :many
SELECT id, full_name, role, org_id, cnic_enc, disabled_at FROM auth.users WHERE id = ANY(@ids::uuid[]);

-- UserSummaryGet is UsersGetNames for one account, queued into another
-- module's transaction (auth.Service.QueueUser: every application
-- submission reads its candidate so).
-- name: UserSummaryGet :one
SELECT id, full_name, role, org_id, cnic_enc, disabled_at FROM auth.users WHERE id = @id;
