-- name: ClientInsert :one
INSERT INTO auth.clients (id, org_id, client_id, name, secret_hash, scopes, created_by, created_at)
VALUES (@id, @org_id, @client_id, @name, @secret_hash, @scopes, @created_by, @now)
RETURNING id, org_id, client_id, name, scopes, created_by, created_at, revoked_at;

-- name: ClientGetByClientID :one
SELECT id, org_id, client_id, name, secret_hash, scopes, revoked_at
FROM auth.clients WHERE client_id = @client_id;

-- name: ClientGet :one
SELECT id, org_id, client_id, name, scopes, created_by, created_at, revoked_at
FROM auth.clients WHERE id = @id AND org_id = @org_id;

-- name: ClientsListByOrg :many
SELECT id, org_id, client_id, name, scopes, created_by, created_at, revoked_at
FROM auth.clients
WHERE org_id = @org_id AND id > @after
ORDER BY id
LIMIT @lim;

-- name: ClientRevoke :one
UPDATE auth.clients SET revoked_at = coalesce(revoked_at, @now::timestamptz)
WHERE id = @id AND org_id = @org_id
RETURNING id, org_id, client_id, name, scopes, created_by, created_at, revoked_at;

-- name: ClientState :one
SELECT org_id, revoked_at FROM auth.clients WHERE id = @id;
