package jobs_test

import (
	"context"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

func TestBoardListsOnlyPublishedOpenJobs(t *testing.T) {
	t.Parallel()
	e := setup(t)
	open, _ := e.createPublished()
	draft, _ := e.create(recruiterA)
	closedID, etag := e.createPublished()
	r := e.do("POST", "/v1/jobs/"+closedID+"/close", recruiterA, nil, "If-Match", etag)
	require.Equal(t, 200, r.Status)
	notYet, _ := e.createPublished(func(b map[string]any) {
		b["opens_at"] = time.Now().Add(time.Hour).Format(time.RFC3339Nano)
	})
	// Past its deadline but not yet closed by maintenance (written behind
	// the service's back, as time passing would).
	pastDue, _ := e.createPublished()
	e.db.Exec(t, "UPDATE jobs.jobs SET opens_at = now() - interval '2 days', closes_at = now() - interval '1 second' WHERE id = $1", pastDue)

	// The board is read fresh (the cache was invalidated by the publishes;
	// the direct UPDATE above is the only change it cannot know about, so
	// read it with the cache first emptied by another change).
	e.createPublished()
	for _, tok := range []string{anonymous, candidate, recruiterA} {
		ids, next := boardIDs(t, e.do("GET", "/v1/jobs?limit=100", tok, nil))
		require.Nil(t, next)
		require.Contains(t, ids, open)
		for _, hidden := range []string{draft, closedID, notYet, pastDue} {
			require.NotContains(t, ids, hidden, "as %q", tok)
		}
		require.Len(t, ids, 2)
	}
}

func TestBoardCacheInvalidationAcrossReplicas(t *testing.T) {
	t.Parallel()
	e := setup(t)
	// A second replica: its own service and router, the same database and
	// Redis.
	_, srvB := e.newReplica(0)
	id, etag := e.createPublished()
	other, _ := e.createPublished()

	ids, _ := boardIDs(t, do(t, srvB, "GET", "/v1/jobs", anonymous, nil))
	require.Contains(t, ids, id)
	first := do(t, srvB, "GET", "/v1/jobs", anonymous, nil)

	// The page is served from the cache: a change made behind the
	// service's back (no invalidation) is not seen by either replica.
	e.db.Exec(t, "UPDATE jobs.jobs SET title = 'Changed behind the cache' WHERE id = $1", other)
	require.Equal(t, first.Body, do(t, srvB, "GET", "/v1/jobs", anonymous, nil).Body, "replica B serves its cached page")
	require.Equal(t, first.Body, e.do("GET", "/v1/jobs", anonymous, nil).Body, "replica A shares the cache")

	// Closing through replica A shows on replica B within a second.
	r := e.do("POST", "/v1/jobs/"+id+"/close", recruiterA, nil, "If-Match", etag)
	require.Equal(t, 200, r.Status)
	closedAt := time.Now()
	require.Eventually(t, func() bool {
		ids, _ := boardIDs(t, do(t, srvB, "GET", "/v1/jobs", anonymous, nil))
		return !contains(ids, id)
	}, time.Second, 10*time.Millisecond)
	t.Logf("close visible on replica B after %v", time.Since(closedAt))

	// Editing and publishing show up the same way.
	r = e.do("GET", "/v1/jobs/"+other, recruiterA, nil)
	r = e.do("PATCH", "/v1/jobs/"+other, recruiterA, map[string]any{"title": "Edited through the API"}, "If-Match", r.Header.Get("ETag"))
	require.Equal(t, 200, r.Status)
	require.Eventually(t, func() bool {
		return strings.Contains(string(do(t, srvB, "GET", "/v1/jobs", anonymous, nil).Body), "Edited through the API")
	}, time.Second, 10*time.Millisecond)
	// On the replica that made the change it shows at once.
	fresh, _ := e.createPublished()
	ids, _ = boardIDs(t, e.do("GET", "/v1/jobs", anonymous, nil))
	require.Contains(t, ids, fresh)
	require.Eventually(t, func() bool {
		ids, _ := boardIDs(t, do(t, srvB, "GET", "/v1/jobs", anonymous, nil))
		return contains(ids, fresh)
	}, time.Second, 10*time.Millisecond)
}

func TestBoardCacheHeaders(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.createPublished()
	r := e.do("GET", "/v1/jobs", anonymous, nil)
	require.Equal(t, 200, r.Status)
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	require.Equal(t, "public, max-age=5, s-maxage=5, stale-while-revalidate=5", r.Header.Get("Cache-Control"))
	etag := r.Header.Get("ETag")
	require.NotEmpty(t, etag)
	r2 := e.do("GET", "/v1/jobs", anonymous, nil, "If-None-Match", etag)
	require.Equal(t, 304, r2.Status)
	require.Empty(t, r2.Body)

	// A job closing in 3 s caps what a shared cache may keep: max-age plus
	// stale-while-revalidate never reach past the deadline.
	e.createPublished(func(b map[string]any) {
		b["closes_at"] = time.Now().Add(3500 * time.Millisecond).Format(time.RFC3339Nano)
	})
	r = e.do("GET", "/v1/jobs", anonymous, nil)
	m := regexp.MustCompile(`max-age=(\d+), s-maxage=\d+, stale-while-revalidate=(\d+)`).FindStringSubmatch(r.Header.Get("Cache-Control"))
	require.NotNil(t, m, r.Header.Get("Cache-Control"))
	maxAge, _ := strconv.Atoi(m[1])
	swr, _ := strconv.Atoi(m[2])
	require.LessOrEqual(t, maxAge+swr, 3)
	require.NotEqual(t, etag, r.Header.Get("ETag"))

	// Staff listings are private.
	r = e.do("GET", "/v1/jobs?status=draft", recruiterA, nil)
	require.Equal(t, 200, r.Status)
	require.Equal(t, "private, no-store", r.Header.Get("Cache-Control"))
}

func TestBoardWithoutCache(t *testing.T) {
	t.Parallel()
	e := setup(t, opts{cacheTTL: -1})
	id, etag := e.createPublished()
	ids, _ := boardIDs(t, e.do("GET", "/v1/jobs", anonymous, nil))
	require.Equal(t, []string{id}, ids)
	require.Equal(t, 200, e.do("POST", "/v1/jobs/"+id+"/close", recruiterA, nil, "If-Match", etag).Status)
	ids, _ = boardIDs(t, e.do("GET", "/v1/jobs", anonymous, nil))
	require.Empty(t, ids)
	keys, err := e.redis.Keys(t.Context(), e.redis.Key("*")).Result()
	require.NoError(t, err)
	require.Empty(t, keys, "nothing is written to Redis with the cache off")
}

func TestBoardFilters(t *testing.T) {
	t.Parallel()
	e := setup(t)
	lahore, _ := e.createPublished(func(b map[string]any) { b["province"] = "punjab"; b["department"] = "Licensing" })
	karachi, _ := e.createPublished(func(b map[string]any) { b["province"] = "sindh" })
	idB, etagB := e.create(recruiterB)
	e.publish(recruiterB, idB, etagB)

	ids, _ := boardIDs(t, e.do("GET", "/v1/jobs?province=punjab", anonymous, nil))
	require.Equal(t, []string{lahore}, ids)
	ids, _ = boardIDs(t, e.do("GET", "/v1/jobs?province=SINDH", anonymous, nil))
	require.Equal(t, []string{karachi}, ids)
	ids, _ = boardIDs(t, e.do("GET", "/v1/jobs?department=licensing", anonymous, nil))
	require.Equal(t, []string{lahore}, ids)
	ids, _ = boardIDs(t, e.do("GET", "/v1/jobs?org_id="+e.orgB.String(), anonymous, nil))
	require.Equal(t, []string{idB}, ids)
	ids, _ = boardIDs(t, e.do("GET", "/v1/jobs?org_id="+e.orgA.String()+"&province=sindh", anonymous, nil))
	require.Equal(t, []string{karachi}, ids)

	for _, q := range []string{"province=mars", "org_id=nope", "limit=0", "limit=101", "status=bogus"} {
		r := e.do("GET", "/v1/jobs?"+q, anonymous, nil)
		require.Equal(t, 422, r.Status, q)
	}
	r := e.do("GET", "/v1/jobs?province=mars", anonymous, nil)
	_, locs := r.problem(t)
	require.Equal(t, []string{"query.province"}, locs)
}

func TestStaffListing(t *testing.T) {
	t.Parallel()
	e := setup(t)
	draft, _ := e.create(recruiterA)
	open, _ := e.createPublished()
	closedID, etag := e.createPublished()
	require.Equal(t, 200, e.do("POST", "/v1/jobs/"+closedID+"/close", recruiterA, nil, "If-Match", etag).Status)
	pastDue, _ := e.createPublished()
	e.db.Exec(t, "UPDATE jobs.jobs SET opens_at = now() - interval '2 days', closes_at = now() - interval '1 second' WHERE id = $1", pastDue)
	otherDraft, _ := e.create(recruiterB)

	list := func(q, token string) []string {
		ids, _ := boardIDs(t, e.do("GET", "/v1/jobs?"+q, token, nil))
		return ids
	}
	require.Equal(t, []string{draft}, list("status=draft", recruiterA))
	require.Equal(t, []string{open}, list("status=published", interviewerA))
	require.ElementsMatch(t, []string{closedID, pastDue}, list("status=closed", adminA))
	require.ElementsMatch(t, []string{draft, open, closedID, pastDue}, list("status=all", recruiterA))
	require.Equal(t, []string{otherDraft}, list("status=draft", recruiterB))

	require.Equal(t, 401, e.do("GET", "/v1/jobs?status=draft", anonymous, nil).Status)
	require.Equal(t, 403, e.do("GET", "/v1/jobs?status=draft", candidate, nil).Status)
	require.Equal(t, 404, e.do("GET", "/v1/jobs?status=draft&org_id="+e.orgB.String(), recruiterA, nil).Status)

	// Paging through staff lists.
	for range 4 {
		e.create(recruiterA)
	}
	seen := map[string]bool{}
	path := "/v1/jobs?status=draft&limit=2"
	for {
		ids, next := boardIDs(t, e.do("GET", path, recruiterA, nil))
		for _, id := range ids {
			require.False(t, seen[id])
			seen[id] = true
		}
		if next == nil {
			break
		}
		path = "/v1/jobs?status=draft&limit=2&cursor=" + url.QueryEscape(*next)
	}
	require.Len(t, seen, 5)
}

func TestSearch(t *testing.T) {
	t.Parallel()
	e := setup(t)
	naib, _ := e.createPublished(func(b map[string]any) {
		b["title"] = "Naib Qasid (Office Assistant)"
		b["department"] = "Administration"
		b["description"] = "Naib qasid ki mulazmat: dak aur files ki dekh bhaal."
		b["criteria"].(map[string]any)["required_skills"] = []string{"Office Work"}
		b["criteria"].(map[string]any)["min_education"] = "matric"
	})
	engineer, _ := e.createPublished(func(b map[string]any) {
		b["title"] = "Software Engineer"
		b["department"] = "Information Technology"
		b["description"] = "Engineers who build payment systems for the regulator."
		b["criteria"].(map[string]any)["required_skills"] = []string{"Kubernetes", "golang"}
	})
	analyst, _ := e.createPublished(func(b map[string]any) {
		b["title"] = "Data Analyst"
		b["department"] = "Research"
		b["description"] = "Prepare market dashboards and statistical reports."
		b["criteria"].(map[string]any)["required_skills"] = []string{"statistics"}
		b["criteria"].(map[string]any)["preferred_skills"] = []string{"python"}
	})
	draft, _ := e.create(recruiterA, func(b map[string]any) { b["title"] = "Software Engineer (draft)" })

	cases := []struct {
		q    string
		want []string
	}{
		{"engineer", []string{engineer}},              // title word (stemmed: engineer/engineers)
		{"ENGINEERS", []string{engineer}},             // case and plural
		{"kubernetes", []string{engineer}},            // required skill
		{"python", []string{analyst}},                 // preferred skill
		{"dashboards", []string{analyst}},             // description word
		{"payment", []string{engineer}},               // description word, stemmed ("payment")
		{"naib qasid", []string{naib}},                // romanised Urdu, title
		{"mulazmat", []string{naib}},                  // romanised Urdu, description only
		{"research", []string{analyst}},               // department
		{`"naib qasid"`, []string{naib}},              // phrase
		{"engineer -payment", nil},                    // exclusion
		{"analyst or qasid", []string{naib, analyst}}, // or
		{"astronaut", nil},
	}
	for _, c := range cases {
		ids, _ := boardIDs(t, e.do("GET", "/v1/jobs?q="+url.QueryEscape(c.q), anonymous, nil))
		require.ElementsMatch(t, c.want, ids, "q=%s", c.q)
		require.NotContains(t, ids, draft)
	}
	// Staff search their own organisation in every status.
	ids, _ := boardIDs(t, e.do("GET", "/v1/jobs?status=all&q=engineer", recruiterA, nil))
	require.ElementsMatch(t, []string{engineer, draft}, ids)
	require.Equal(t, 422, e.do("GET", "/v1/jobs?q="+url.QueryEscape(string(make([]byte, 201))), anonymous, nil).Status)
}

func TestKeysetPagesNeverRepeatOrSkipDuringInserts(t *testing.T) {
	t.Parallel()
	e := setup(t)
	before := map[string]bool{}
	for range 40 {
		id, _ := e.createPublished()
		before[id] = true
	}
	var lo, hi time.Time
	require.NoError(t, e.db.Owner.QueryRow(t.Context(),
		"SELECT min(published_at), max(published_at) FROM jobs.jobs WHERE status = 'published'").Scan(&lo, &hi))

	// insertBetween publishes a job whose position falls anywhere among the
	// jobs being paged (as a transaction that started earlier and commits
	// late would), written directly so the position can be chosen.
	var inserted atomic.Int64
	insertBetween := func(seed int64) {
		at := lo.Add(time.Duration(seed*7919) % hi.Sub(lo))
		id := uuid.Must(uuid.NewV7())
		e.db.Exec(t, `INSERT INTO jobs.jobs (id, org_id, status, title, department, description, location, positions,
			opens_at, closes_at, criteria, created_by, published_at)
			VALUES ($1, $2, 'published', 'Inserted meanwhile', 'Dept', 'Inserted while paging.', 'Quetta', 1,
			now() - interval '1 hour', now() + interval '1 day', '{"min_education":"matric"}', $2, $3)`, id, e.orgA, at)
		inserted.Add(1)
	}
	// Meanwhile, keep publishing through the API (these land in front).
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			e.createPublished()
		}
	})
	for round := range 3 {
		seen := map[string]int{}
		path := "/v1/jobs?limit=3"
		pages := 0
		for {
			ids, next := boardIDs(t, e.do("GET", path, anonymous, nil))
			pages++
			for _, id := range ids {
				seen[id]++
			}
			if next == nil {
				break
			}
			// Between every two pages, jobs appear before and after the
			// reader's position.
			insertBetween(int64(pages + 100*round))
			insertBetween(int64(pages*3 + 100*round))
			path = "/v1/jobs?limit=3&cursor=" + url.QueryEscape(*next)
		}
		for id, n := range seen {
			require.Equal(t, 1, n, "round %d: job %s listed %d times", round, id, n)
		}
		for id := range before {
			require.Contains(t, seen, id, "round %d: job skipped", round)
		}
		t.Logf("round %d: %d pages, %d jobs seen, %d inserted so far", round, pages, len(seen), inserted.Load())
	}
	close(stop)
	wg.Wait()

	// Cursors are tamper-evident and bound to their filters.
	_, next := boardIDs(t, e.do("GET", "/v1/jobs?limit=3", anonymous, nil))
	require.NotNil(t, next)
	r := e.do("GET", "/v1/jobs?limit=3&q=engineer&cursor="+url.QueryEscape(*next), anonymous, nil)
	require.Equal(t, 400, r.Status)
	code, _ := r.problem(t)
	require.Equal(t, "invalid_cursor", code)
	require.Equal(t, 400, e.do("GET", "/v1/jobs?cursor=eyJ4IjoxfQ.AAAA", anonymous, nil).Status)
}

// TestRowLevelSecurity checks the policies themselves, with queries that
// "forget" the organisation filter, as pvara_app.
func TestRowLevelSecurity(t *testing.T) {
	t.Parallel()
	e := setup(t)
	draftA, _ := e.create(recruiterA)
	draftB, _ := e.create(recruiterB)
	pubB, etagB := e.create(recruiterB)
	e.publish(recruiterB, pubB, etagB)

	ids := func(scope *postgres.Scope, sql string) []string {
		var out []string
		run := func(tx pgx.Tx) error {
			rows, err := tx.Query(context.Background(), sql)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id uuid.UUID
				if err := rows.Scan(&id); err != nil {
					return err
				}
				out = append(out, id.String())
			}
			return rows.Err()
		}
		var err error
		if scope == nil {
			err = postgres.Tx(context.Background(), e.db.App, run)
		} else {
			err = postgres.ScopedTx(context.Background(), e.db.App, *scope, run)
		}
		require.NoError(t, err)
		return out
	}
	staffA := postgres.OrgScope(e.orgA, e.tokens[recruiterA].UserID)
	public, user, system := postgres.PublicScope(), postgres.UserScope(uuid.New()), postgres.SystemScope()
	// Staff of A asking for every draft get only A's.
	require.Equal(t, []string{draftA}, ids(&staffA, "SELECT id FROM jobs.jobs WHERE status = 'draft'"))
	// ...and see B's published job (the board is public), never B's draft.
	require.ElementsMatch(t, []string{draftA, pubB}, ids(&staffA, "SELECT id FROM jobs.jobs"))
	// The public and candidates never see drafts.
	require.Equal(t, []string{pubB}, ids(&public, "SELECT id FROM jobs.jobs"))
	require.Equal(t, []string{pubB}, ids(&user, "SELECT id FROM jobs.jobs"))
	// No scope at all: nothing.
	require.Empty(t, ids(nil, "SELECT id FROM jobs.jobs"))
	// System sees everything.
	require.ElementsMatch(t, []string{draftA, draftB, pubB}, ids(&system, "SELECT id FROM jobs.jobs"))

	// Writes: staff of A cannot update B's rows even without a filter, nor
	// insert a job for B.
	err := postgres.ScopedTx(context.Background(), e.db.App, staffA, func(tx pgx.Tx) error {
		tag, err := tx.Exec(context.Background(), "UPDATE jobs.jobs SET title = 'hijacked'")
		if err != nil {
			return err
		}
		require.EqualValues(t, 1, tag.RowsAffected(), "only A's own job is updated")
		return nil
	})
	require.NoError(t, err)
	var title string
	require.NoError(t, e.db.Owner.QueryRow(t.Context(), "SELECT title FROM jobs.jobs WHERE id = $1", pubB).Scan(&title))
	require.NotEqual(t, "hijacked", title)
	err = postgres.ScopedTx(context.Background(), e.db.App, staffA, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `INSERT INTO jobs.jobs (id, org_id, title, department, description, location,
			positions, opens_at, closes_at, criteria, created_by) VALUES ($1, $2, 't', 'd', 'desc', 'l', 1, now(), now() + interval '1 day', '{}', $1)`,
			uuid.New(), e.orgB)
		return err
	})
	require.ErrorContains(t, err, "row-level security")
	err = postgres.ScopedTx(context.Background(), e.db.App, public, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), "UPDATE jobs.jobs SET title = 'x' WHERE id = $1", pubB)
		return err
	})
	require.NoError(t, err) // no error, and nothing changed:
	require.NoError(t, e.db.Owner.QueryRow(t.Context(), "SELECT title FROM jobs.jobs WHERE id = $1", pubB).Scan(&title))
	require.NotEqual(t, "x", title)
}
