package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Local pre-allowance (Config.LocalBatch): a busy caller's replica takes a
// small batch of cells from Redis in one script call and spends them here,
// so a caller sending many requests costs one round trip per batch instead
// of one per request. The limit stays shared across replicas because every
// cell spent anywhere was first taken from Redis: GCRA counts the batch as
// requests arriving at the moment of the script call, and a request spent
// from it later is only more conformant than that. Cells left when the
// batch expires (Config.LocalTTL) are lost, which makes the limit stricter,
// never looser. See docs/security.md, "Local pre-allowance".

// localEntry is one caller's (policy+subject) state on this replica.
type localEntry struct {
	mu sync.Mutex
	// cells reserved in Redis and not yet spent; usable until expires.
	cells   int
	expires time.Time
	// grant is the size of the last batch, fetchedAt when it was asked for
	// (before the call, so expiry errs on the early side); lastSeen the
	// time of the caller's latest request here.
	grant     int
	fetchedAt time.Time
	lastSeen  time.Time
	// What Redis said with the last batch, for approximate headers on
	// local decisions: cells left in Redis beyond the batch, and the time
	// until the bucket is full again.
	redisRemaining int
	reset          time.Duration
	// refusedUntil: Redis refused this caller and said when one more
	// cell is free (RetryAfter, counted from before the call, so never
	// later than the truth: the TAT only moves on). Until then the
	// caller's requests are refused here, exactly as Redis would.
	refusedUntil time.Time
	refusedAt    time.Time
	refusedReset time.Duration
	// fetching is non-nil while one request of this caller runs the
	// script; the others wait for it instead of asking Redis too.
	fetching chan struct{}
}

// localMap holds the entries of one policy, bounded by max.
type localMap struct {
	mu        sync.Mutex
	m         map[string]*localEntry
	max       int
	ttl       time.Duration
	lastSweep time.Time
}

// get returns subject's entry, creating it when there is room. When the
// map is full of callers active within the TTL it returns nil and the
// request goes to Redis alone, as without the feature: a flood of distinct
// callers costs at most max entries and one sweep per TTL.
func (m *localMap) get(subject string, now time.Time) *localEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.m[subject]; ok {
		return e
	}
	if len(m.m) >= m.max {
		if now.Sub(m.lastSweep) < m.ttl {
			return nil
		}
		m.lastSweep = now
		m.sweepLocked(now)
		if len(m.m) >= m.max {
			return nil
		}
	}
	e := &localEntry{}
	m.m[subject] = e
	return e
}

// sweepLocked drops the entries of callers idle for a TTL: their cells
// have expired (lost, as they would be anyway) and the next request is
// treated as a first one. An entry whose fetch is in flight is kept. A
// request that got an entry just before it was dropped still uses it; the
// caller may then briefly have two entries (two batches in flight), which
// costs an extra call, not the limit: every cell still comes from Redis.
func (m *localMap) sweepLocked(now time.Time) {
	for k, e := range m.m {
		e.mu.Lock()
		idle := e.fetching == nil && now.Sub(e.lastSeen) >= m.ttl && !now.Before(e.expires)
		e.mu.Unlock()
		if idle {
			delete(m.m, k)
		}
	}
}

// want is how many cells to ask Redis for, with e locked and no usable
// cells left: one for a caller that was not busy (its previous batch is
// older than the TTL and it made no request within it), twice the last
// batch when that was used up within the TTL, and about what it used in
// the last TTL otherwise. So a steady caller's batch follows its rate and
// little is lost, and an occasional caller costs exactly what it did
// without the feature.
func (e *localEntry) want(now time.Time, ttl time.Duration, maxBatch int) int {
	w := 1
	switch {
	case e.grant == 0:
	case now.Sub(e.fetchedAt) < ttl:
		w = 2 * e.grant
	case now.Sub(e.lastSeen) < ttl:
		w = e.grant - e.cells
	}
	return min(max(w, 1), maxBatch)
}

// allowLocal decides with the local pre-allowance of p: from the caller's
// cells when it holds some, else by asking Redis for a batch (one request
// of the caller at a time). When the map is full the request asks Redis
// for one cell, as without the feature.
func (l *Limiter) allowLocal(ctx context.Context, p *policyState, subject string) (d Decision, err error) {
	now := time.Now()
	e := p.local.get(subject, now)
	if e == nil {
		p.fromRedis.Inc()
		d, _, err := l.gcraN(ctx, p, subject, 1)
		return d, err
	}
	e.mu.Lock()
	for {
		now = time.Now()
		if e.cells > 0 && now.Before(e.expires) {
			e.cells--
			e.lastSeen = now
			d = Decision{
				Allowed:   true,
				Limit:     p.Requests,
				Remaining: e.redisRemaining + e.cells,
				Reset:     max(e.reset-now.Sub(e.fetchedAt), 0),
			}
			e.mu.Unlock()
			p.fromLocal.Inc()
			return d, nil
		}
		if now.Before(e.refusedUntil) {
			d = Decision{
				Limit:      p.Requests,
				Reset:      max(e.refusedReset-now.Sub(e.refusedAt), 0),
				RetryAfter: e.refusedUntil.Sub(now),
			}
			e.mu.Unlock()
			p.fromLocal.Inc()
			return d, nil
		}
		if e.fetching == nil {
			break
		}
		// Another request of this caller is asking Redis: wait for its
		// batch, then take from it or become the next to ask.
		ch := e.fetching
		e.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			// The caller gave up (client gone), as in gcraN.
			return Decision{}, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
		}
		e.mu.Lock()
	}
	if e.cells > 0 {
		p.localExpired.Add(float64(e.cells))
	}
	n := e.want(now, p.local.ttl, p.maxBatch)
	ch := make(chan struct{})
	e.fetching, e.cells, e.lastSeen = ch, 0, now
	e.mu.Unlock()

	d, granted, err := l.gcraN(ctx, p, subject, n)

	e.mu.Lock()
	e.fetching = nil
	close(ch)
	switch {
	case err != nil:
	case d.Allowed:
		e.grant, e.fetchedAt, e.expires = granted, now, now.Add(p.local.ttl)
		e.cells = granted - 1 // one is this request's
		e.redisRemaining, e.reset = d.Remaining, d.Reset
		d.Remaining += e.cells
	default:
		e.refusedAt, e.refusedReset, e.refusedUntil = now, d.Reset, now.Add(d.RetryAfter)
	}
	e.mu.Unlock()
	p.fromRedis.Inc()
	return d, err
}
