package applications

// LockKey exposes the advisory-lock key of an Idempotency-Key, so a test can
// hold it as an in-flight request would.
var LockKey = lockKey

// NewIDAt and IDTime expose the UUIDv7 helpers.
var (
	NewIDAt = newIDAt
	IDTime  = idTime
)

// VisibleTo exposes the explicit isolation check behind row-level security.
var VisibleTo = visibleTo
