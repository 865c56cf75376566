package screening_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/redisx"
	"github.com/pvara-gov/pvara/internal/screening"
)

// skillSets give a spread of scores; repeated sets tie.
var skillSets = [][]string{
	{"go", "postgresql", "redis"}, {"go", "postgresql"}, {"go"}, {}, {"postgresql", "redis"}, {"go", "redis"},
}

// scoredJob makes a job with n scored applications, some ineligible (too
// little education) and many ties.
func scoredJob(t *testing.T, e *env, n int) screening.Job {
	t.Helper()
	job := e.publishedJob()
	for i := range n {
		a := e.newApp(job, skillSets[i%len(skillSets)], func(a *screening.Application) {
			if i%4 == 3 {
				a.Profile.Education[0].Level = "intermediate"
			}
		})
		e.submitted(a)
	}
	return job
}

// The ranking: eligible first, best score first, ties by application id,
// every page size giving the same order; and the same after Redis lost the
// set (rebuilt from PostgreSQL), and while another reader holds the
// rebuild lock (served from PostgreSQL).
func TestRankingOrderPaginationAndRebuild(t *testing.T) {
	t.Parallel()
	e := setup(t)
	job := scoredJob(t, e, 23)
	want := e.expectedRanking(job.ID)
	require.Len(t, want, 23)
	require.True(t, want[0].Eligible)
	require.False(t, want[len(want)-1].Eligible)
	ties := 0
	for i := 1; i < len(want); i++ {
		if want[i].Score == want[i-1].Score && want[i].Eligible == want[i-1].Eligible {
			ties++
		}
	}
	require.Greater(t, ties, 5, "the data set has ties")

	for _, limit := range []int{1, 4, 7, 23, 100} {
		got, _ := e.ranking(job.ID, limit)
		require.Equal(t, want, got, "limit %d", limit)
	}
	ctx := context.Background()
	key := e.redis.Key("screening", "rank", "{"+job.ID.String()+"}")
	n, err := e.redis.ZCard(ctx, key).Result()
	require.NoError(t, err)
	require.EqualValues(t, 24, n, "23 applications and the sentinel")

	// Redis lost the set: the next read rebuilds it.
	require.NoError(t, e.redis.Del(ctx, key).Err())
	got, _ := e.ranking(job.ID, 5)
	require.Equal(t, want, got)
	require.EqualValues(t, 1, e.redis.Exists(ctx, key).Val(), "rebuilt")
	ttl := e.redis.PTTL(ctx, key).Val()
	require.Positive(t, ttl, "a rebuilt set expires")

	// Lost again while another reader is rebuilding: served from
	// PostgreSQL, same order, and nothing written to Redis by this reader.
	require.NoError(t, e.redis.Del(ctx, key).Err())
	require.NoError(t, e.redis.Set(ctx, key+":lock", "another-reader", time.Minute).Err())
	got, _ = e.ranking(job.ID, 6)
	require.Equal(t, want, got)
	require.EqualValues(t, 0, e.redis.Exists(ctx, key).Val())
	pg, err := e.svc.Ranking(ctx, e.principal(recruiterA), job.ID, nil, 5)
	require.NoError(t, err)
	require.False(t, pg.FromRedis)
	require.Equal(t, want[:5], toItems(pg.Items))

	// An update committed during that rebuild is recorded and replayed
	// by the rebuilder once its set is in place.
	late := e.newApp(job, []string{"go", "postgresql", "redis"})
	e.submitted(late) // the set is missing: only the dirty record is written
	require.EqualValues(t, 0, e.redis.Exists(ctx, key).Val())
	require.True(t, e.redis.SIsMember(ctx, key+":dirty", late.ID.String()).Val())
	require.NoError(t, e.redis.Del(ctx, key+":lock").Err())
	want = e.expectedRanking(job.ID)
	got, _ = e.ranking(job.ID, 10)
	require.Equal(t, want, got)
	pg, err = e.svc.Ranking(ctx, e.principal(recruiterA), job.ID, nil, 5)
	require.NoError(t, err)
	require.True(t, pg.FromRedis)
}

func toItems(es []screening.RankEntry) []rankItem {
	out := make([]rankItem, 0, len(es))
	for _, x := range es {
		out = append(out, rankItem{ApplicationID: x.ApplicationID, Score: x.Score, Eligible: x.Eligible})
	}
	return out
}

// `pvara dev` without a Redis server runs on the in-process fallback
// (miniredis): the ranking's scripts work there too.
func TestRankingOnTheDevFallbackRedis(t *testing.T) {
	t.Parallel()
	rdb, err := redisx.OpenEmbedded("dev:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	e := setup(t, opts{redis: rdb})
	job := scoredJob(t, e, 9)
	want := e.expectedRanking(job.ID)
	got, _ := e.ranking(job.ID, 2)
	require.Equal(t, want, got)
	key := rdb.Key("screening", "rank", "{"+job.ID.String()+"}")
	require.NoError(t, rdb.Del(context.Background(), key).Err())
	got, _ = e.ranking(job.ID, 4)
	require.Equal(t, want, got)
	require.EqualValues(t, 1, rdb.Exists(context.Background(), key).Val())
}

// A re-scored application moves in the ranking at once (the set is
// updated after the commit), and a cursor taken before the move still
// continues from the same position.
func TestRankingFollowsRescoresAndCursorsSurviveMoves(t *testing.T) {
	t.Parallel()
	e := setup(t)
	job := e.publishedJob()
	var apps []screening.Application
	for i := range 6 {
		a := e.newApp(job, skillSets[i%3])
		apps = append(apps, a)
		e.submitted(a)
	}
	want := e.expectedRanking(job.ID)
	r := e.do("GET", fmt.Sprintf("/v1/jobs/%s/ranking?limit=3", job.ID), recruiterA, nil)
	require.Equal(t, 200, r.Status)
	var p1 rankingBody
	r.decode(t, &p1)
	require.Equal(t, want[:3], p1.Items)

	// The last item of page one improves and jumps to the top.
	var moved screening.Application
	for _, a := range apps {
		if a.ID == p1.Items[2].ApplicationID {
			moved = a
		}
	}
	moved.Profile.Skills = []string{"go", "postgresql", "redis", "docker"}
	moved.Profile.ResumeText += " Ran PostgreSQL and Redis for the regulator's online services."
	e.apps.put(moved)
	e.submitted(moved)
	now := e.expectedRanking(job.ID)
	require.Equal(t, moved.ID, now[0].ApplicationID)
	all, _ := e.ranking(job.ID, 100)
	require.Equal(t, now, all)

	// Page two from the old cursor: the items after the old position.
	r = e.do("GET", fmt.Sprintf("/v1/jobs/%s/ranking?limit=3&cursor=%s", job.ID, *p1.NextCursor), recruiterA, nil)
	require.Equal(t, 200, r.Status)
	var p2 rankingBody
	r.decode(t, &p2)
	require.Equal(t, want[3:], p2.Items)
}

// Who may read a ranking.
func TestRankingAccess(t *testing.T) {
	t.Parallel()
	e := setup(t)
	job := scoredJob(t, e, 2)
	path := "/v1/jobs/" + job.ID.String() + "/ranking"
	for _, c := range []struct {
		token  string
		status int
		code   string
	}{
		{recruiterA, 200, ""},
		{adminA, 200, ""},
		{interviewerA, 403, "forbidden"},
		{recruiterB, 404, "job_not_found"},
		{e.candidateToken(uuid.New()), 403, "forbidden"},
		{"", 401, "unauthenticated"},
	} {
		r := e.do("GET", path, c.token, nil)
		require.Equal(t, c.status, r.Status, "%s: %s", c.token, r.Body)
		if c.code != "" {
			require.Equal(t, c.code, r.code(t))
		}
	}
	require.Equal(t, 404, e.do("GET", "/v1/jobs/"+uuid.NewString()+"/ranking", recruiterA, nil).Status)
	require.Equal(t, 404, e.do("GET", "/v1/jobs/not-a-uuid/ranking", recruiterA, nil).Status)
	// A cursor of another job's ranking is refused.
	other := scoredJob(t, e, 3)
	var b rankingBody
	r := e.do("GET", "/v1/jobs/"+other.ID.String()+"/ranking?limit=1", recruiterA, nil)
	r.decode(t, &b)
	require.NotNil(t, b.NextCursor)
	r = e.do("GET", path+"?cursor="+*b.NextCursor, recruiterA, nil)
	require.Equal(t, 400, r.Status)
	require.Equal(t, "invalid_cursor", r.code(t))
	// An empty ranking of an own job is an empty list.
	empty := e.publishedJob()
	got, first := e.ranking(empty.ID, 10)
	require.Empty(t, got)
	require.Nil(t, first.Rescreen)
}

// The explanation: the candidate and the organisation's staff see it;
// another organisation and another candidate get 404, as for an
// application that was never scored.
func TestExplanationAccess(t *testing.T) {
	t.Parallel()
	e := setup(t)
	job := e.publishedJob()
	a := e.newApp(job, []string{"go", "postgresql"})
	e.submitted(a)
	path := "/v1/applications/" + a.ID.String() + "/screening"
	owner := e.candidateToken(a.CandidateID)

	var body struct {
		ApplicationID uuid.UUID `json:"application_id"`
		Score         float64   `json:"score"`
		Eligible      bool      `json:"eligible"`
		Reasons       []struct {
			Code, Message string
			Met           bool
		} `json:"reasons"`
		Breakdown map[string]struct {
			Weight, Points float64
			Detail         string
		} `json:"breakdown"`
		ModelVersion string `json:"model_version"`
		ScoredAt     string `json:"scored_at"`
	}
	for _, tok := range []string{owner, recruiterA, adminA, interviewerA} {
		r := e.do("GET", path, tok, nil)
		require.Equal(t, 200, r.Status, "%s: %s", tok, r.Body)
		r.decode(t, &body)
	}
	require.Equal(t, a.ID, body.ApplicationID)
	require.Equal(t, screening.ModelVersion, body.ModelVersion)
	require.NotEmpty(t, body.Reasons)
	require.NotEmpty(t, body.Breakdown)
	sum := 0.0
	for _, c := range body.Breakdown {
		sum += c.Points
	}
	require.InDelta(t, body.Score, sum, 0.001, "the breakdown adds up to the score")
	var stored float64
	require.NoError(t, e.db.Owner.QueryRow(context.Background(), "SELECT score::float8 FROM screening.results WHERE application_id = $1", a.ID).Scan(&stored))
	require.Equal(t, stored, body.Score)

	for _, tok := range []string{recruiterB, e.candidateToken(uuid.New())} {
		r := e.do("GET", path, tok, nil)
		require.Equal(t, 404, r.Status, tok)
		require.Equal(t, "screening_not_found", r.code(t))
	}
	require.Equal(t, 401, e.do("GET", path, "", nil).Status)
	unscored := e.newApp(job, nil)
	require.Equal(t, 404, e.do("GET", "/v1/applications/"+unscored.ID.String()+"/screening", e.candidateToken(unscored.CandidateID), nil).Status)
	require.Equal(t, 404, e.do("GET", "/v1/applications/x/screening", owner, nil).Status)
}

// Two ranking syncs race: one reads the application while it is ranked,
// then a withdrawal commits and its own sync removes the application from
// Redis, and only then does the first sync write. The first carries the
// older version of the result row, so Redis drops it: the withdrawn
// application does not come back. Without versions it would be ranked
// again until the set's expiry. The same holds after a rebuild (the
// rebuilt set keeps the versions of withdrawn applications too).
func TestRankingDropsAStaleSyncThatLostTheRace(t *testing.T) {
	t.Parallel()
	e := setup(t)
	job := scoredJob(t, e, 5)
	_, _ = e.ranking(job.ID, 10) // build the set
	ctx := context.Background()
	key := e.redis.Key("screening", "rank", "{"+job.ID.String()+"}")
	x := e.expectedRanking(job.ID)[0].ApplicationID
	a, err := e.apps.Submitted(ctx, x)
	require.NoError(t, err)

	read, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	screening.SetBeforeRankingWrite(e.svc, func() {
		if first.CompareAndSwap(false, true) { // only the first sync waits
			close(read)
			<-release
		}
	})
	stale := make(chan struct{})
	go func() {
		defer close(stale)
		screening.SyncRanking(e.svc, ctx, a.ID) // reads: ranked, then waits
	}()
	<-read
	e.setStatus(a, "withdrawn") // commits and syncs: removed
	require.ErrorIs(t, e.redis.ZScore(ctx, key, x.String()).Err(), redis.Nil)
	close(release)
	<-stale
	require.ErrorIs(t, e.redis.ZScore(ctx, key, x.String()).Err(), redis.Nil, "the stale sync put the withdrawn application back")
	got, _ := e.ranking(job.ID, 10)
	require.Equal(t, e.expectedRanking(job.ID), got)
	require.NotContains(t, ids(got), x)

	// Rebuilt from PostgreSQL: the withdrawn application's version is kept,
	// so an older write is still dropped; a newer one is applied.
	require.NoError(t, e.redis.Del(ctx, key).Err())
	_, _ = e.ranking(job.ID, 10)
	require.EqualValues(t, 1, e.redis.Exists(ctx, key).Val())
	var ver int64
	require.Positive(t, e.redis.PTTL(ctx, key+":ver").Val(), "the version hash expires with the set")
	ver, err = e.redis.HGet(ctx, key+":ver", x.String()).Int64()
	require.NoError(t, err)
	require.EqualValues(t, e.count("SELECT version::int FROM screening.results WHERE application_id = $1", x), ver)
}

func ids(items []rankItem) []uuid.UUID {
	out := make([]uuid.UUID, len(items))
	for i, it := range items {
		out[i] = it.ApplicationID
	}
	return out
}
