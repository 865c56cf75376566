package screening

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/platform/redisx"
	"github.com/pvara-gov/pvara/internal/screening/internal/db"
)

// The ranking of a job is kept in a Redis sorted set, screening:rank:{job}:
// member = application id, score = the result's rank key (an integer:
// -(100000 if eligible + score×100), so ascending order is eligible first,
// best score first, and Redis orders equal scores by member, which is the
// application id). Its rank keys are the ones PostgreSQL stores
// (screening.results.rank_key), so a page cursor {rank key, application
// id} means the same position in Redis and in PostgreSQL.
//
// Updates are written after each commit, only to a set that exists (a
// partial set would look complete). Each carries the result row's version
// (screening.results.version, bumped by every change of the row), kept in
// a hash beside the set, member → version; an update older than the one
// applied is dropped, so two syncs that read PostgreSQL in one order and
// reach Redis in the other cannot leave the older state in place (a
// re-screen putting back an application a withdrawal just removed). The
// hash keeps removed members' versions too, for the same reason. A missing set is rebuilt from
// PostgreSQL by the one reader that wins a SET NX lock; the others, and
// that reader if the rebuild fails, answer from PostgreSQL meanwhile.
// Updates that land during a rebuild are also recorded in a dirty set,
// which the rebuilder re-reads from PostgreSQL after it has installed the
// new set, so none is lost. A sentinel member ("", score +inf) keeps an
// empty ranking's set in existence. The set expires RankingTTL after a
// rebuild, which also bounds the life of an update lost between a commit
// and Redis (a crash).

// sentinel is the member that makes an empty ranking exist.
const sentinel = ""

// fromRankKey decodes a rank key.
func fromRankKey(k int32) (eligible bool, score float64) {
	v := -int64(k)
	if v >= 100000 {
		eligible, v = true, v-100000
	}
	return eligible, float64(v) / 100
}

// RankEntry is one line of a job's ranking.
type RankEntry struct {
	ApplicationID uuid.UUID
	Score         float64
	Eligible      bool
	key           int32
	version       int64 // of the result row, when read for a sync
}

func entry(id uuid.UUID, key int32) RankEntry {
	e, s := fromRankKey(key)
	return RankEntry{ApplicationID: id, Score: s, Eligible: e, key: key}
}

// RankCursor is a position in a ranking: after this rank key and id.
type RankCursor struct {
	Key int32     `json:"k"`
	ID  uuid.UUID `json:"id"`
}

type ranking struct {
	rdb     *redisx.Client
	ttl     time.Duration
	lockTTL time.Duration
}

func newRanking(rdb *redisx.Client, ttl time.Duration) *ranking {
	return &ranking{rdb: rdb, ttl: ttl, lockTTL: time.Minute}
}

// keys are a job's set, rebuild lock, dirty set and version hash; the hash
// tag keeps them in one cluster slot (the scripts touch them together).
func (r *ranking) keys(job uuid.UUID) []string {
	base := r.rdb.Key("screening", "rank", "{"+job.String()+"}")
	return []string{base, base + ":lock", base + ":dirty", base + ":ver"}
}

// syncScript applies ranking updates: ARGV[1] = number of additions n,
// then n (score, member, version) triples, then (member, version) pairs to
// remove. The set is touched only if it exists, and a member only by an
// update newer than the version it holds (KEYS[4]); while a rebuild holds
// the lock every member is also recorded in the dirty set.
var syncScript = redis.NewScript(`
local n = tonumber(ARGV[1])
local last = 1 + 3 * n
if redis.call('EXISTS', KEYS[1]) == 1 then
  for i = 2, last, 3 do
    local m, v = ARGV[i + 1], tonumber(ARGV[i + 2])
    if v > tonumber(redis.call('HGET', KEYS[4], m) or '0') then
      redis.call('ZADD', KEYS[1], ARGV[i], m)
      redis.call('HSET', KEYS[4], m, ARGV[i + 2])
    end
  end
  for i = last + 1, #ARGV, 2 do
    local m, v = ARGV[i], tonumber(ARGV[i + 1])
    if v > tonumber(redis.call('HGET', KEYS[4], m) or '0') then
      redis.call('ZREM', KEYS[1], m)
      redis.call('HSET', KEYS[4], m, ARGV[i + 1])
    end
  end
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[4], ttl) end
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  for i = 3, last, 3 do redis.call('SADD', KEYS[3], ARGV[i]) end
  for i = last + 1, #ARGV, 2 do redis.call('SADD', KEYS[3], ARGV[i]) end
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[3], ttl) end
end
return 1
`)

// installScript puts a rebuilt set and its version hash in place if the
// caller still holds the lock: KEYS = set, lock, tmp set, version hash, tmp
// version hash; ARGV = token, ttl ms.
var installScript = redis.NewScript(`
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  redis.call('DEL', KEYS[3], KEYS[5])
  return 0
end
redis.call('RENAME', KEYS[3], KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if redis.call('EXISTS', KEYS[5]) == 1 then
  redis.call('RENAME', KEYS[5], KEYS[4])
  redis.call('PEXPIRE', KEYS[4], ARGV[2])
else
  redis.call('DEL', KEYS[4])
end
return 1
`)

// unlockScript releases the lock if the caller holds it.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// pageScript reads a page: ARGV = has cursor (0/1), cursor key, cursor
// member, count. It returns nil when the set does not exist, else a flat
// list of member, score. The position after the cursor is the cursor's own
// rank when the member is still there with the same key, else the number
// of members ordered before (key, member).
var pageScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local start = 0
if ARGV[1] == '1' then
  local k = tonumber(ARGV[2])
  local m = ARGV[3]
  local cur = redis.call('ZSCORE', KEYS[1], m)
  if cur and tonumber(cur) == k then
    start = redis.call('ZRANK', KEYS[1], m) + 1
  else
    start = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[2])
    while true do
      local chunk = redis.call('ZRANGE', KEYS[1], start, start + 99, 'WITHSCORES')
      if #chunk == 0 then break end
      local moved = 0
      for i = 1, #chunk, 2 do
        if tonumber(chunk[i + 1]) == k and chunk[i] <= m then moved = moved + 1 else break end
      end
      start = start + moved
      if moved < #chunk / 2 then break end
    end
  end
end
return redis.call('ZRANGE', KEYS[1], start, start + tonumber(ARGV[4]) - 1, 'WITHSCORES')
`)

// update writes the entries of some applications of one job: ranked ones
// are added (or moved), the others removed; each only if its version is
// newer than the one the set holds for it.
func (r *ranking) update(ctx context.Context, job uuid.UUID, add, remove []RankEntry) error {
	const chunk = 1000 // bounds one script's run (Redis is single-threaded)
	for len(add) > 0 || len(remove) > 0 {
		a := add[:min(chunk, len(add))]
		add = add[len(a):]
		rm := remove[:min(chunk-len(a), len(remove))]
		remove = remove[len(rm):]
		args := make([]any, 0, 1+3*len(a)+2*len(rm))
		args = append(args, len(a))
		for _, e := range a {
			args = append(args, e.key, e.ApplicationID.String(), e.version)
		}
		for _, e := range rm {
			args = append(args, e.ApplicationID.String(), e.version)
		}
		if err := syncScript.Run(ctx, r.rdb, r.keys(job), args...).Err(); err != nil {
			return err
		}
	}
	return nil
}

// page reads a page from Redis; ok is false when the set does not exist.
func (r *ranking) page(ctx context.Context, job uuid.UUID, after *RankCursor, limit int) ([]RankEntry, bool, error) {
	has, k, m := "0", "0", ""
	if after != nil {
		has, k, m = "1", strconv.Itoa(int(after.Key)), after.ID.String()
	}
	res, err := pageScript.Run(ctx, r.rdb, r.keys(job)[:1], has, k, m, limit).Result()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	flat, ok := res.([]any)
	if !ok {
		return nil, false, fmt.Errorf("screening: ranking page: unexpected reply %T", res)
	}
	out := make([]RankEntry, 0, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		member, _ := flat[i].(string)
		if member == sentinel {
			continue
		}
		id, err := uuid.Parse(member)
		if err != nil {
			continue
		}
		score, _ := flat[i+1].(string)
		f, err := strconv.ParseFloat(score, 64)
		if err != nil {
			return nil, false, fmt.Errorf("screening: ranking page: score %q", score)
		}
		out = append(out, entry(id, int32(f)))
	}
	return out, true, nil
}

// errRebuilding: another reader is rebuilding the set.
var errRebuilding = errors.New("screening: ranking rebuild under way")

// rebuild rebuilds a job's set from PostgreSQL if it can take the lock
// (errRebuilding if another reader holds it).
func (r *ranking) rebuild(ctx context.Context, s *Service, job uuid.UUID) error {
	keys := r.keys(job)
	token := uuid.NewString()
	ok, err := r.rdb.SetNX(ctx, keys[1], token, r.lockTTL).Result()
	if err != nil {
		return err
	}
	if !ok {
		return errRebuilding
	}
	unlock := func() { _ = unlockScript.Run(context.WithoutCancel(ctx), r.rdb, keys[1:2], token).Err() }
	if err := r.rdb.Del(ctx, keys[2]).Err(); err != nil {
		unlock()
		return err
	}
	var rows []db.RankingAllRow
	err = postgres.ScopedTx(ctx, s.db, postgres.SystemScope(), func(tx pgx.Tx) error {
		var err error
		rows, err = db.New(tx).RankingAll(ctx, job)
		return postgres.Translate(err)
	})
	if err != nil {
		unlock()
		return err
	}
	tmp, tmpVer := keys[0]+":tmp:"+token, keys[3]+":tmp:"+token
	const chunk = 5000
	for start := 0; start == 0 || start < len(rows); start += chunk {
		members := make([]redis.Z, 0, chunk+1)
		versions := make([]any, 0, 2*chunk)
		if start == 0 {
			members = append(members, redis.Z{Score: math.Inf(1), Member: sentinel})
		}
		for _, row := range rows[start:min(start+chunk, len(rows))] {
			if row.Ranked {
				members = append(members, redis.Z{Score: float64(row.RankKey), Member: row.ApplicationID.String()})
			}
			versions = append(versions, row.ApplicationID.String(), row.Version)
		}
		p := r.rdb.TxPipeline()
		if len(members) > 0 {
			p.ZAdd(ctx, tmp, members...)
		}
		if len(versions) > 0 {
			p.HSet(ctx, tmpVer, versions...)
		}
		if start == 0 {
			// A rebuilder that dies half-way leaves no orphan behind.
			p.PExpire(ctx, tmp, r.lockTTL)
		}
		p.PExpire(ctx, tmpVer, r.lockTTL)
		if _, err := p.Exec(ctx); err != nil {
			unlock()
			_ = r.rdb.Del(context.WithoutCancel(ctx), tmp, tmpVer).Err()
			return err
		}
	}
	installed, err := installScript.Run(ctx, r.rdb, []string{keys[0], keys[1], tmp, keys[3], tmpVer}, token, r.ttl.Milliseconds()).Int()
	unlock()
	if err != nil || installed == 0 {
		_ = r.rdb.Del(context.WithoutCancel(ctx), tmp, tmpVer).Err()
		if err == nil {
			err = errRebuilding // the lock expired under us
		}
		return err
	}
	s.m.rebuilds.Inc()
	// Updates committed during the rebuild: re-read them from PostgreSQL
	// (the newest committed state) now that the new set is in place and
	// the lock released (so these writes are not recorded again).
	for {
		ids, err := r.rdb.SPopN(ctx, keys[2], 1000).Result()
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		var apps []uuid.UUID
		for _, m := range ids {
			if id, err := uuid.Parse(m); err == nil {
				apps = append(apps, id)
			}
		}
		if err := s.syncRankingErr(ctx, apps); err != nil {
			return err
		}
	}
}

// syncRanking brings the Redis ranking entries of some applications in
// line with PostgreSQL, after the commit that changed them. A failure is
// logged, not returned: the set expires and is rebuilt.
func (s *Service) syncRanking(ctx context.Context, apps []uuid.UUID) {
	if err := s.syncRankingErr(ctx, apps); err != nil {
		s.logger.Warn("screening: ranking update failed; the ranking is repaired at its next rebuild", "error", err)
	}
}

func (s *Service) syncRankingErr(ctx context.Context, apps []uuid.UUID) error {
	if len(apps) == 0 {
		return nil
	}
	var rows []db.ResultsRankOfRow
	err := postgres.ScopedTx(ctx, s.db, postgres.SystemScope(), func(tx pgx.Tx) error {
		var err error
		rows, err = db.New(tx).ResultsRankOf(ctx, apps)
		return postgres.Translate(err)
	})
	if err != nil {
		return err
	}
	type change struct{ add, remove []RankEntry }
	byJob := map[uuid.UUID]*change{}
	for _, row := range rows {
		c := byJob[row.JobID]
		if c == nil {
			c = &change{}
			byJob[row.JobID] = c
		}
		e := entry(row.ApplicationID, row.RankKey)
		e.version = row.Version
		if row.Ranked {
			c.add = append(c.add, e)
		} else {
			c.remove = append(c.remove, e)
		}
	}
	if s.beforeRankingWrite != nil {
		s.beforeRankingWrite()
	}
	for job, c := range byJob {
		if err := s.rank.update(ctx, job, c.add, c.remove); err != nil {
			return err
		}
	}
	return nil
}

// RankingPage is one page of a job's ranking, with the job's latest
// re-screening run (nil if it never had one).
type RankingPage struct {
	Items    []RankEntry
	Next     *RankCursor
	Rescreen *Run
	// FromRedis says where the page came from (for tests and metrics).
	FromRedis bool
}

// Ranking returns a page of a job's ranking (recruiter or org admin of the
// job's organisation): eligible first, best score first, ties by
// application id. It is read from the job's Redis sorted set; when the set
// is missing one reader rebuilds it from PostgreSQL while the others read
// PostgreSQL.
func (s *Service) Ranking(ctx context.Context, p authz.Principal, jobID uuid.UUID, after *RankCursor, limit int) (RankingPage, error) {
	job, err := s.ownJob(ctx, p, jobID)
	if err != nil {
		return RankingPage{}, err
	}
	var out RankingPage
	run, err := s.latestRun(ctx, p.Scope(), job.ID)
	switch {
	case err == nil:
		out.Rescreen = &run
	case !errors.Is(err, ErrNoRescreen):
		return RankingPage{}, err
	}
	items, ok, err := s.rank.page(ctx, job.ID, after, limit+1)
	if err == nil && !ok {
		err = s.rank.rebuild(ctx, s, job.ID)
		if err == nil {
			items, ok, err = s.rank.page(ctx, job.ID, after, limit+1)
		} else if !errors.Is(err, errRebuilding) {
			s.logger.Warn("screening: ranking rebuild failed; answering from PostgreSQL", "job_id", job.ID, "error", err)
		}
	} else if err != nil {
		s.logger.Warn("screening: Redis ranking unavailable; answering from PostgreSQL", "job_id", job.ID, "error", err)
	}
	if err != nil || !ok {
		items, err = s.rankingFromDB(ctx, p, job.ID, after, limit+1)
		if err != nil {
			return RankingPage{}, err
		}
		s.m.reads.WithLabelValues("postgres").Inc()
	} else {
		out.FromRedis = true
		s.m.reads.WithLabelValues("redis").Inc()
	}
	if len(items) > limit {
		items = items[:limit]
		last := items[len(items)-1]
		out.Next = &RankCursor{Key: last.key, ID: last.ApplicationID}
	}
	out.Items = items
	return out, nil
}

func (s *Service) rankingFromDB(ctx context.Context, p authz.Principal, job uuid.UUID, after *RankCursor, limit int) ([]RankEntry, error) {
	// The smallest possible position: before every rank key.
	cur := RankCursor{Key: -1 << 30, ID: uuid.Nil}
	if after != nil {
		cur = *after
	}
	var out []RankEntry
	err := postgres.ScopedTx(ctx, s.db, p.Scope(), func(tx pgx.Tx) error {
		rows, err := db.New(tx).RankingPage(ctx, job, cur.Key, cur.ID, int32(limit))
		if err != nil {
			return postgres.Translate(err)
		}
		for _, r := range rows {
			out = append(out, entry(r.ApplicationID, r.RankKey))
		}
		return nil
	})
	return out, err
}
