package applications

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/applications/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/maintenance"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// MaxIdempotencyKey is the longest Idempotency-Key accepted, in bytes.
const MaxIdempotencyKey = 255

// ErrIdempotencyKeyInvalid: an empty-looking or too long key.
var ErrIdempotencyKeyInvalid = apperr.Invalid(apperr.Field("header.Idempotency-Key", "must be 1–255 printable characters"))

// NewIdempotency builds the Idempotency of a request: its key (may be empty:
// no idempotency) and a fingerprint of what the request asks, which is the
// method, the path and the request's input as the handler read it (so an
// empty body and {} are the same request, and key order does not matter).
func NewIdempotency(key, method, path string, input any) (Idempotency, error) {
	if key == "" {
		return Idempotency{}, nil
	}
	if len(key) > MaxIdempotencyKey {
		return Idempotency{}, ErrIdempotencyKeyInvalid
	}
	for _, r := range key {
		if r < 0x20 || r > 0x7e {
			return Idempotency{}, ErrIdempotencyKeyInvalid
		}
	}
	b, err := json.Marshal(input)
	if err != nil {
		return Idempotency{}, err
	}
	h := sha256.New()
	h.Write([]byte(method + " " + path + "\n"))
	h.Write(b)
	return Idempotency{Key: key, Fingerprint: h.Sum(nil)}, nil
}

// lockKey is the advisory-lock key of (user, key): the first 8 bytes of a
// SHA-256, so unrelated keys practically never share a lock.
func lockKey(user uuid.UUID, key string) int64 {
	sum := sha256.Sum256([]byte("pvara.idempotency\x00" + user.String() + "\x00" + key))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// idempotencyCheck runs first in a write's transaction. It takes the
// transaction-scoped advisory lock of (user, key) without waiting: another
// transaction holding it is the same key in flight (409). With the lock
// held, a stored answer is either replayed (same fingerprint) or refused
// (422 idempotency_key_reused); nil means the write goes ahead and must
// store its answer with idempotencyStore before commit. Only successful
// answers are stored: a refused request changes nothing, and its retry is
// judged again.
func (s *Service) idempotencyCheck(ctx context.Context, q *db.Queries, user uuid.UUID, idem Idempotency) (*Submission, error) {
	locked, err := q.IdempotencyLock(ctx, lockKey(user, idem.Key))
	if err != nil {
		return nil, postgres.Translate(err)
	}
	if !locked {
		return nil, ErrIdempotencyInFlight
	}
	row, err := q.IdempotencyGet(ctx, user, idem.Key, s.now().UTC())
	if postgres.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, postgres.Translate(err)
	}
	if !bytes.Equal(row.Fingerprint, idem.Fingerprint) {
		return nil, ErrIdempotencyReused
	}
	return &Submission{Replayed: true, Status: int(row.Status), Body: row.Response}, nil
}

// idempotencyStore records the answer of a write in its transaction.
func (s *Service) idempotencyStore(ctx context.Context, q *db.Queries, user uuid.UUID, idem Idempotency, status int, body []byte, now time.Time) error {
	err := q.IdempotencyPut(ctx, db.IdempotencyPutParams{
		UserID: user, Key: idem.Key, Fingerprint: idem.Fingerprint, Status: int32(status), Response: body,
		Now: now, ExpiresAt: now.Add(s.cfg.IdempotencyTTL),
	})
	return postgres.Translate(err)
}

// PurgeIdempotencyKeys deletes expired keys and returns how many.
func (s *Service) PurgeIdempotencyKeys(ctx context.Context) (int64, error) {
	var total int64
	for {
		var n int64
		err := postgres.ScopedTx(ctx, s.db, postgres.SystemScope(), func(tx pgx.Tx) error {
			var err error
			n, err = db.New(tx).IdempotencyPurge(ctx, s.now().UTC(), int32(s.cfg.PurgeBatch))
			return postgres.Translate(err)
		})
		total += n
		if err != nil || n < int64(s.cfg.PurgeBatch) {
			return total, err
		}
	}
}

// MaintenanceTask purges expired idempotency keys every PurgeEvery.
func (s *Service) MaintenanceTask() maintenance.Task {
	return maintenance.Task{
		Name:  "applications-idempotency-purge",
		Every: s.cfg.PurgeEvery,
		Run: func(ctx context.Context) error {
			n, err := s.PurgeIdempotencyKeys(ctx)
			if n > 0 {
				s.logger.InfoContext(ctx, "expired idempotency keys purged", "count", n)
			}
			return err
		},
	}
}
