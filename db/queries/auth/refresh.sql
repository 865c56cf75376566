-- name: RefreshFamilyInsert :exec
INSERT INTO auth.refresh_families (id, user_id, org_id, created_at, expires_at)
VALUES (@id, @user_id, sqlc.narg('org_id'), @now, @expires_at);

-- name: RefreshFamilyRevoke :execrows
UPDATE auth.refresh_families SET revoked_at = @now::timestamptz, revoke_reason = @reason
WHERE id = @id AND user_id = @user_id AND revoked_at IS NULL;

-- name: RefreshFamiliesRevokeByUser :execrows
UPDATE auth.refresh_families SET revoked_at = @now::timestamptz, revoke_reason = @reason
WHERE user_id = @user_id AND revoked_at IS NULL;

-- name: RefreshTokenInsert :exec
INSERT INTO auth.refresh_tokens (token_hash, family_id, created_at, expires_at)
VALUES (@token_hash, @family_id, @now, @expires_at);

-- name: RefreshTokenSpend :one
-- Marks an unspent token spent and returns its session. Two concurrent
-- calls with one token serialise on the row lock; the second re-checks
-- used_at after the first commits and gets no row.
UPDATE auth.refresh_tokens t SET used_at = @now::timestamptz
FROM auth.refresh_families f
WHERE t.token_hash = @token_hash AND t.used_at IS NULL AND f.id = t.family_id
RETURNING t.family_id, t.expires_at AS token_expires_at, f.user_id, f.org_id, f.expires_at AS family_expires_at, f.revoked_at;

-- name: RefreshTokenLookup :one
SELECT t.family_id, t.used_at, t.expires_at AS token_expires_at, f.user_id, f.org_id, f.revoked_at
FROM auth.refresh_tokens t JOIN auth.refresh_families f ON f.id = t.family_id
WHERE t.token_hash = @token_hash;

-- name: RefreshTokensPurge :execrows
-- Expired tokens are useless; spent ones are kept until their family ends,
-- so reuse of a spent token is still recognised.
DELETE FROM auth.refresh_tokens t
USING auth.refresh_families f
WHERE f.id = t.family_id AND t.used_at IS NULL AND t.expires_at < @before AND f.expires_at >= @before;

-- name: RefreshFamiliesPurge :execrows
-- A session past its absolute expiry (or revoked long ago) goes with its
-- tokens (ON DELETE CASCADE).
DELETE FROM auth.refresh_families
WHERE expires_at < @before OR revoked_at < @before;
