package jobs

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/pvara-gov/pvara/internal/platform/redisx"
)

// boardCache keeps rendered board pages in Redis.
//
// Invalidation is by generation: every cache key holds the current
// generation token, stored under one Redis key; every committed change to
// a published job replaces the token, so all cached pages are orphaned at
// once, on every replica, with one SET. A reader fetches the token and the
// page in one round trip (a Lua script). A reader that missed reads the
// database and stores its page under the token it read *before* reading
// the database, so a page computed from data older than a write can only be
// stored under a token the write has already retired: it is never served.
//
// Pages also expire by themselves no later than the earliest deadline they
// show (and the next opening of a published job), so a cached page never
// shows a job as open past closes_at, with or without the maintenance task.
//
// Tokens are random (UUIDv7), not counters: if Redis loses the token key
// (eviction, restart) the next reader installs a fresh token, and pages of
// the old one can never be mistaken for current.
type boardCache struct {
	// local is a tiny per-replica cache in front of Redis that saves the
	// Redis round trip on the hottest pages. Its entries live localTTL at
	// most (and never past their own expiry); a replica clears it on its
	// own writes, so a change shows on the replica that made it at once
	// and on every other replica within localTTL.
	local  sync.Map // key → localEntry
	localN atomic.Int64
	// localGen counts clears: a page read before a clear is not stored
	// after it.
	localGen atomic.Uint64
	localTTL time.Duration

	rdb    *redisx.Client
	ttl    time.Duration
	genKey string
	prefix string
	logger *slog.Logger
	sf     singleflight.Group

	lookups       *prometheus.CounterVec
	invalidations prometheus.Counter
}

// getScript returns {generation, page or nil}; it installs a generation when
// there is none.
var getScript = redis.NewScript(`
local gen = redis.call('GET', KEYS[1])
if not gen then
  redis.call('SET', KEYS[1], ARGV[2], 'NX')
  gen = redis.call('GET', KEYS[1])
end
return {gen, redis.call('GET', ARGV[1] .. gen .. ':' .. ARGV[3])}
`)

// maxLocal bounds the local cache; past it the cache is emptied (board
// requests repeat a few hot pages, so this is rarely reached).
const maxLocal = 10000

type localEntry struct {
	page    cachedPage
	storeAt time.Time
}

// getLocal returns a page cached on this replica, if fresh at now.
func (c *boardCache) getLocal(key string, now time.Time) (*cachedPage, bool) {
	if c.localTTL <= 0 {
		return nil, false
	}
	v, ok := c.local.Load(key)
	if !ok {
		return nil, false
	}
	e := v.(*localEntry)
	if now.Sub(e.storeAt) >= c.localTTL || !now.Before(e.page.Expires) {
		return nil, false
	}
	c.lookups.WithLabelValues("local_hit").Inc()
	return &e.page, true
}

func (c *boardCache) setLocal(key string, p cachedPage, now time.Time, gen uint64) {
	if c.localTTL <= 0 || c.localGen.Load() != gen {
		return
	}
	if c.localN.Add(1) > maxLocal {
		c.clearLocal()
	}
	c.local.Store(key, &localEntry{page: p, storeAt: now})
}

func (c *boardCache) clearLocal() {
	c.localGen.Add(1)
	c.local.Clear()
	c.localN.Store(0)
}

func newBoardCache(rdb *redisx.Client, ttl, localTTL time.Duration, logger *slog.Logger, reg prometheus.Registerer) *boardCache {
	c := &boardCache{
		rdb: rdb, ttl: ttl, localTTL: localTTL, logger: logger,
		// One hash tag for every board key keeps them in one slot should the
		// deployment move to Redis Cluster (the script builds page keys).
		genKey: rdb.Key("jobs", "{board}", "gen"),
		// "page2": pages with their gzip body. A new layout gets a new key
		// space, so replicas of different versions never decode each other's
		// pages during a rolling deploy (the generation is shared).
		prefix: rdb.Key("jobs", "{board}", "page2") + ":",
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pvara_jobs_board_cache_lookups_total",
			Help: "Board cache lookups by result (local_hit, hit, miss, error).",
		}, []string{"result"}),
		invalidations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pvara_jobs_board_cache_invalidations_total",
			Help: "Board cache generations retired by changes to jobs.",
		}),
	}
	if reg != nil {
		reg.MustRegister(c.lookups, c.invalidations)
	}
	return c
}

// cachedPage is a rendered page: its body, entity tag and expiry, and the
// body gzip-compressed once when the page was made, so that a hit costs no
// compression and sends ~5× fewer bytes to clients that accept gzip.
type cachedPage struct {
	Body []byte
	// Gzip is Body gzip-compressed; nil when compression does not pay
	// (tiny pages) or the cache is off (nothing would reuse it).
	Gzip    []byte
	ETag    string
	Expires time.Time

	// Derived when the page is made or decoded, never stored: the gzip
	// representation's entity tag (a different representation needs a
	// different strong tag) and both Content-Length values, so a hit
	// formats nothing.
	gzipETag string
	bodyLen  string
	gzipLen  string
}

// minGzip is the smallest body worth compressing: below it the gzip header
// and trailer eat most of the saving.
const minGzip = 1024

// compressed returns p with Gzip set (when it pays) and its derived fields.
func (p cachedPage) compressed() (cachedPage, error) {
	if len(p.Body) >= minGzip {
		var b bytes.Buffer
		b.Grow(len(p.Body) / 3)
		zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
		if err != nil {
			return p, err
		}
		if _, err := zw.Write(p.Body); err != nil {
			return p, err
		}
		if err := zw.Close(); err != nil {
			return p, err
		}
		if b.Len() < len(p.Body) {
			p.Gzip = b.Bytes()
		}
	}
	return p.derive(), nil
}

// derive fills the fields computed from the stored ones.
func (p cachedPage) derive() cachedPage {
	p.bodyLen = strconv.Itoa(len(p.Body))
	if p.Gzip != nil {
		p.gzipLen = strconv.Itoa(len(p.Gzip))
		p.gzipETag = gzipETag(p.ETag)
	}
	return p
}

// gzipETag is the entity tag of the gzip representation of the page
// tagged etag: `"b…"` becomes `"b…-gz"`.
func gzipETag(etag string) string {
	if len(etag) < 2 {
		return etag
	}
	return etag[:len(etag)-1] + `-gz"`
}

// encode lays a page out as expiry (8 bytes, Unix ms) | len(etag) (1) |
// etag | len(gzip) (4) | gzip | body.
func (p cachedPage) encode() []byte {
	b := make([]byte, 0, 13+len(p.ETag)+len(p.Gzip)+len(p.Body))
	b = binary.BigEndian.AppendUint64(b, uint64(p.Expires.UnixMilli()))
	b = append(b, byte(len(p.ETag)))
	b = append(b, p.ETag...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(p.Gzip)))
	b = append(b, p.Gzip...)
	return append(b, p.Body...)
}

func decodePage(b []byte) (cachedPage, bool) {
	if len(b) < 9 || len(b) < 13+int(b[8]) {
		return cachedPage{}, false
	}
	n := int(b[8])
	p := cachedPage{
		Expires: time.UnixMilli(int64(binary.BigEndian.Uint64(b[:8]))),
		ETag:    string(b[9 : 9+n]),
	}
	b = b[9+n:]
	gz := int(binary.BigEndian.Uint32(b[:4]))
	if len(b) < 4+gz {
		return cachedPage{}, false
	}
	if gz > 0 {
		p.Gzip = b[4 : 4+gz]
	}
	p.Body = b[4+gz:]
	return p.derive(), true
}

// get returns the current generation and the page stored under it for key
// (nil when absent or expired at now).
func (c *boardCache) get(ctx context.Context, key string, now time.Time) (string, *cachedPage, error) {
	res, err := getScript.Run(ctx, c.rdb, []string{c.genKey}, c.prefix, uuid.Must(uuid.NewV7()).String(), key).Slice()
	if err != nil {
		c.lookups.WithLabelValues("error").Inc()
		return "", nil, err
	}
	if len(res) < 1 {
		c.lookups.WithLabelValues("error").Inc()
		return "", nil, errors.New("jobs: unexpected cache script reply")
	}
	gen, _ := res[0].(string)
	if len(res) > 1 {
		if s, ok := res[1].(string); ok {
			if p, ok := decodePage([]byte(s)); ok && now.Before(p.Expires) {
				c.lookups.WithLabelValues("hit").Inc()
				return gen, &p, nil
			}
		}
	}
	c.lookups.WithLabelValues("miss").Inc()
	return gen, nil, nil
}

// set stores p under generation gen; its Redis lifetime ends at p.Expires.
func (c *boardCache) set(ctx context.Context, gen, key string, p cachedPage, now time.Time) {
	ttl := p.Expires.Sub(now)
	if gen == "" || ttl < time.Millisecond {
		return
	}
	if err := c.rdb.Set(ctx, c.prefix+gen+":"+key, p.encode(), ttl).Err(); err != nil {
		c.logger.WarnContext(ctx, "jobs: board cache write failed", "error", err)
	}
}

// Invalidate retires the current generation. A failure is retried briefly
// and then logged: pages then live at most until their own expiry.
func (c *boardCache) Invalidate(ctx context.Context) {
	c.clearLocal()
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 20 * time.Millisecond)
		}
		if err = c.rdb.Set(ctx, c.genKey, uuid.Must(uuid.NewV7()).String(), 0).Err(); err == nil {
			c.invalidations.Inc()
			return
		}
	}
	c.logger.ErrorContext(ctx, "jobs: board cache invalidation failed; cached pages live until they expire", "error", err)
}
