-- IdempotencyLock takes the transaction-scoped advisory lock of one
-- (user, key): false means another request with the key is in flight.
-- name: IdempotencyLock :one
SELECT pg_try_advisory_xact_lock(@lock_key::bigint)::bool AS locked;

-- name: IdempotencyGet :one
SELECT fingerprint, status, response
FROM applications.idempotency_keys
WHERE user_id = @user_id AND key = @key AND expires_at > @now;

-- IdempotencyPut stores a response; an expired row of the same key (not
-- yet purged) is replaced.
-- name: IdempotencyPut :exec
INSERT INTO applications.idempotency_keys (user_id, key, fingerprint, status, response, created_at, expires_at)
VALUES (@user_id, @key, @fingerprint, @status, @response, @now, @expires_at)
ON CONFLICT (user_id, key) DO UPDATE
SET fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status, response = EXCLUDED.response,
    created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at;

-- IdempotencyPurge deletes up to lim expired keys.
-- name: IdempotencyPurge :execrows
DELETE FROM applications.idempotency_keys d
WHERE d.ctid IN (SELECT k.ctid FROM applications.idempotency_keys k WHERE k.expires_at <= @now::timestamptz LIMIT @lim);
