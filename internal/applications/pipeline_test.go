package applications_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/applications"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// pathTo is the chain of transitions that brings a submitted application to
// a status.
func pathTo(s applications.Status) []applications.Status {
	switch s {
	case applications.StatusSubmitted:
		return nil
	case applications.StatusRejected, applications.StatusWithdrawn:
		return []applications.Status{s}
	}
	var out []applications.Status
	for _, x := range []applications.Status{applications.StatusUnderReview, applications.StatusShortlisted,
		applications.StatusInterview, applications.StatusOffered, applications.StatusHired} {
		out = append(out, x)
		if x == s {
			return out
		}
	}
	panic("unknown status " + s)
}

func (w *world) transition(token, id string, to applications.Status, hdr ...string) resp {
	w.t.Helper()
	return w.do("POST", "/v1/applications/"+id+"/transition", token, map[string]any{"to": string(to), "reason": "step"}, hdr...)
}

// applicationIn makes a new application by candA (to a new job) and moves
// it to status s.
func (w *world) applicationIn(s applications.Status) string {
	w.t.Helper()
	id := w.submit(candA, w.job())["id"].(string)
	for _, to := range pathTo(s) {
		r := w.transition(recruiterA, id, to)
		require.Equal(w.t, 200, r.Status, string(r.Body))
	}
	return id
}

func TestEveryTransitionIsAllowedOrRefusedByThePipeline(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, from := range applications.Statuses {
		var allowed []applications.Status
		id := w.applicationIn(from)
		for _, to := range applications.Statuses {
			if applications.CanTransition(from, to) {
				allowed = append(allowed, to)
				continue
			}
			r := w.transition(recruiterA, id, to)
			require.Equal(t, 409, r.Status, "%s → %s: %s", from, to, r.Body)
			require.Equal(t, "invalid_transition", r.code(t))
		}
		// The refusals changed nothing.
		got := w.do("GET", "/v1/applications/"+id, recruiterA, nil).json(t)
		require.Equal(t, string(from), got["status"])
		for i, to := range allowed {
			target := id
			if i > 0 {
				target = w.applicationIn(from)
			}
			r := w.transition(adminA, target, to)
			require.Equal(t, 200, r.Status, "%s → %s: %s", from, to, r.Body)
			require.Equal(t, string(to), r.json(t)["status"])
		}
		switch from {
		case applications.StatusHired, applications.StatusRejected, applications.StatusWithdrawn:
			require.Empty(t, allowed, from)
		default:
			require.Len(t, allowed, 3, from) // the next step, rejected, withdrawn
		}
	}
	r := w.do("POST", "/v1/applications/"+w.applicationIn(applications.StatusSubmitted)+"/transition", recruiterA,
		map[string]any{"to": "archived"})
	require.Equal(t, 422, r.Status, string(r.Body))
}

func TestTransitionWritesHistoryAuditAndEvents(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id := w.submit(candA, w.job())["id"].(string)
	r := w.do("POST", "/v1/applications/"+id+"/transition", recruiterA, map[string]any{"to": "under_review", "reason": " looks promising "})
	require.Equal(t, 200, r.Status, string(r.Body))
	a := r.json(t)
	require.Equal(t, "under_review", a["status"])
	require.EqualValues(t, 2, a["version"])

	evs := w.outbox(id)
	require.Len(t, evs, 2)
	ch := evs[1]
	require.Equal(t, "applications.status_changed", ch.Type)
	require.Equal(t, w.orgA.String(), ch.OrgID)
	require.Equal(t, "submitted", ch.Data["from"])
	require.Equal(t, "under_review", ch.Data["to"])
	require.Equal(t, "looks promising", ch.Data["reason"])
	require.Equal(t, w.tokens[recruiterA].UserID.String(), ch.Data["changed_by"])

	h := w.do("GET", "/v1/applications/"+id+"/history", recruiterA, nil).json(t)["items"].([]any)
	require.Len(t, h, 2)
	last := h[1].(map[string]any)
	require.Equal(t, "submitted", last["from"])
	require.Equal(t, "under_review", last["to"])
	require.Equal(t, "looks promising", last["reason"])
	require.Equal(t, w.tokens[recruiterA].UserID.String(), last["by"])
	require.Equal(t, 1, w.count("SELECT count(*) FROM platform.audit_log WHERE action = 'applications.status_changed' AND resource_id = $1", id))

	// The candidate withdraws: withdrawn and status_changed, one transaction.
	r = w.do("POST", "/v1/applications/"+id+"/withdraw", candA, nil)
	require.Equal(t, 200, r.Status, string(r.Body))
	require.Equal(t, "withdrawn", r.json(t)["status"])
	evs = w.outbox(id)
	require.Len(t, evs, 4)
	require.Equal(t, "applications.status_changed", evs[2].Type)
	require.Equal(t, "withdrawn", evs[2].Data["to"])
	require.Equal(t, "applications.withdrawn", evs[3].Type)
	require.Equal(t, id, evs[3].Data["application_id"])
	// Final: no second withdrawal, no transition.
	r = w.do("POST", "/v1/applications/"+id+"/withdraw", candA, map[string]any{})
	require.Equal(t, 409, r.Status)
	require.Equal(t, "invalid_transition", r.code(t))
	require.Equal(t, 409, w.transition(recruiterA, id, applications.StatusRejected).Status)
}

func TestConcurrentTransitionsOfOneApplicationOneWins(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for round := range 5 {
		id := w.submit(candA, w.job())["id"].(string)
		res := parallel(10, func(i int) resp {
			tok := recruiterA
			if i%2 == 1 {
				tok = adminA
			}
			return doHTTP(t, w.srv, "POST", "/v1/applications/"+id+"/transition", tok, map[string]any{"to": "under_review"})
		})
		won := 0
		for _, r := range res {
			switch r.Status {
			case 200:
				won++
			case 409:
				require.Equal(t, "invalid_transition", r.code(t))
			default:
				t.Fatalf("round %d: unexpected answer %d %s", round, r.Status, r.Body)
			}
		}
		require.Equal(t, 1, won, "round %d", round)
		require.Equal(t, 2, w.count("SELECT count(*) FROM applications.status_history WHERE application_id = $1", id))
		require.Equal(t, 1, w.count("SELECT count(*) FROM platform.outbox WHERE event_key = $1 AND topic = 'pvara.applications.status_changed'", id))
	}
}

func TestOtherOrganisationsAndCandidatesSeeNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id := w.submit(candA, w.job())["id"].(string)
	for _, tok := range []string{recruiterB, candB} {
		for _, path := range []string{"/v1/applications/" + id, "/v1/applications/" + id + "/history"} {
			r := w.do("GET", path, tok, nil)
			require.Equal(t, 404, r.Status, "%s %s", tok, path)
			require.Equal(t, "application_not_found", r.code(t))
		}
	}
	r := w.transition(recruiterB, id, applications.StatusUnderReview)
	require.Equal(t, 404, r.Status)
	r = w.do("POST", "/v1/applications/"+id+"/withdraw", candB, nil)
	require.Equal(t, 404, r.Status)
	// Staff of the job's organisation, interviewers included, may read.
	for _, tok := range []string{recruiterA, adminA, interviewerA, candA} {
		require.Equal(t, 200, w.do("GET", "/v1/applications/"+id, tok, nil).Status, tok)
		require.Equal(t, 200, w.do("GET", "/v1/applications/"+id+"/history", tok, nil).Status, tok)
	}
	// Interviewers and candidates do not move applications.
	require.Equal(t, 403, w.transition(interviewerA, id, applications.StatusUnderReview).Status)
	require.Equal(t, 403, w.transition(candA, id, applications.StatusUnderReview).Status)
	// Staff do not withdraw for the candidate through /withdraw.
	require.Equal(t, 403, w.do("POST", "/v1/applications/"+id+"/withdraw", recruiterA, nil).Status)
	// Candidate B's own list is empty; an unknown or non-v7 id is 404.
	list := w.do("GET", "/v1/me/applications", candB, nil)
	require.Equal(t, 200, list.Status)
	require.Empty(t, list.json(t)["items"])
	require.Equal(t, 404, w.do("GET", "/v1/applications/"+uuid.Must(uuid.NewV7()).String(), candA, nil).Status)
	require.Equal(t, 404, w.do("GET", "/v1/applications/"+uuid.New().String(), candA, nil).Status)
	require.Equal(t, 404, w.do("GET", "/v1/applications/nope", candA, nil).Status)
	// Nothing changed.
	got := w.do("GET", "/v1/applications/"+id, candA, nil).json(t)
	require.Equal(t, "submitted", got["status"])
}

func TestMyApplicationsPageNewestFirst(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var ids []string
	for range 5 {
		ids = append(ids, w.submit(candA, w.job())["id"].(string))
	}
	w.submit(candB, w.job())
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 4)
		path := "/v1/me/applications?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := w.do("GET", path, candA, nil)
		require.Equal(t, 200, r.Status, string(r.Body))
		body := r.json(t)
		for _, it := range body["items"].([]any) {
			got = append(got, it.(map[string]any)["id"].(string))
		}
		next, _ := body["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	want := make([]string, len(ids))
	for i, id := range ids {
		want[len(ids)-1-i] = id
	}
	require.Equal(t, want, got)
	// A cursor is bound to its list: B cannot use A's.
	r := w.do("GET", "/v1/me/applications?limit=2", candA, nil)
	c := r.json(t)["next_cursor"].(string)
	require.Equal(t, 400, w.do("GET", fmt.Sprintf("/v1/me/applications?cursor=%s", c), candB, nil).Status)
}

func TestTransitionIfMatchAndStaffReadsAreAudited(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id := w.submit(candA, w.job())["id"].(string)
	got := w.do("GET", "/v1/applications/"+id, recruiterA, nil)
	require.Equal(t, 200, got.Status)
	require.Equal(t, `"v1"`, got.Header.Get("ETag"))
	// Staff reads are PII reads; the candidate's own are not audited.
	require.Equal(t, 1, w.count("SELECT count(*) FROM platform.audit_log WHERE action = 'applications.pii_read' AND resource_id = $1", id))
	require.Equal(t, 200, w.do("GET", "/v1/applications/"+id, candA, nil).Status)
	require.Equal(t, 1, w.count("SELECT count(*) FROM platform.audit_log WHERE action = 'applications.pii_read' AND resource_id = $1", id))

	r := w.transition(recruiterA, id, applications.StatusUnderReview, "If-Match", `"v1"`)
	require.Equal(t, 200, r.Status, string(r.Body))
	require.Equal(t, `"v2"`, r.Header.Get("ETag"))
	// A stale ETag: 412 and nothing changes.
	r = w.transition(adminA, id, applications.StatusRejected, "If-Match", `"v1"`)
	require.Equal(t, 412, r.Status, string(r.Body))
	r = w.do("POST", "/v1/applications/"+id+"/withdraw", candA, nil, "If-Match", `"v1"`)
	require.Equal(t, 412, r.Status, string(r.Body))
	require.Equal(t, "under_review", w.do("GET", "/v1/applications/"+id, candA, nil).json(t)["status"])
	r = w.do("POST", "/v1/applications/"+id+"/withdraw", candA, nil, "If-Match", `"v2"`)
	require.Equal(t, 200, r.Status, string(r.Body))
}

func TestStaffWithdrawalEmitsWithdrawn(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id := w.submit(candA, w.job())["id"].(string)
	r := w.transition(adminA, id, applications.StatusWithdrawn)
	require.Equal(t, 200, r.Status, string(r.Body))
	evs := w.outbox(id)
	require.Len(t, evs, 3)
	require.Equal(t, []string{"applications.submitted", "applications.status_changed", "applications.withdrawn"},
		[]string{evs[0].Type, evs[1].Type, evs[2].Type})
	require.Equal(t, w.tokens[adminA].UserID.String(), evs[1].Data["changed_by"])
}

// Row-level security, the second wall: in a candidate's own scope, as
// pvara_app, the only change the policy accepts to their application is
// withdrawing it; a query that tried to set its own score or status, or to
// move it to another organisation, is refused by PostgreSQL itself.
func TestCandidateScopeMayOnlyWithdraw(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id := uuid.MustParse(w.submit(candA, w.job())["id"].(string))
	ctx := context.Background()
	scope := postgres.UserScope(w.tokens[candA].UserID)
	for _, set := range []string{"ai_score = 99", "status = 'hired'", "org_id = '" + w.orgB.String() + "'"} {
		err := postgres.ScopedTx(ctx, w.db.App, scope, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "UPDATE applications.applications SET "+set+" WHERE id = $1", id)
			return err
		})
		require.ErrorContains(t, err, "row-level security", set)
	}
	err := postgres.ScopedTx(ctx, w.db.App, scope, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE applications.applications SET status = 'withdrawn' WHERE id = $1", id)
		if err == nil && tag.RowsAffected() != 1 {
			t.Errorf("withdrawing updated %d rows", tag.RowsAffected())
		}
		return err
	})
	require.NoError(t, err)
}

// Row-level security on status history (migration 00420): as pvara_app, a
// history row must belong to an application the caller can see, with that
// application's organisation and candidate. Before it, a candidate could
// write a row naming any organisation or application as long as it named
// themselves, and staff any application as long as it named their
// organisation.
func TestHistoryInsertMustMatchAVisibleApplication(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	appA := uuid.MustParse(w.submit(candA, w.job())["id"].(string))
	appB := uuid.MustParse(w.submit(candB, w.job(func(j *applications.JobView) { j.OrgID = w.orgB }))["id"].(string))
	candAID, candBID := w.tokens[candA].UserID, w.tokens[candB].UserID
	ctx := context.Background()
	asCandA := postgres.UserScope(candAID)
	asRecruiterA := postgres.OrgScope(w.orgA, w.tokens[recruiterA].UserID)
	recruiterAID := w.tokens[recruiterA].UserID
	for _, tc := range []struct {
		name           string
		scope          postgres.Scope
		app, org, cand uuid.UUID
		by             uuid.UUID
		to             string
		ok             bool
	}{
		{"candidate, own application", asCandA, appA, w.orgA, candAID, candAID, "withdrawn", true},
		{"candidate, own application named under another organisation", asCandA, appA, w.orgB, candAID, candAID, "withdrawn", false},
		{"candidate, another candidate's application", asCandA, appB, w.orgB, candAID, candAID, "withdrawn", false},
		{"candidate, an application that does not exist", asCandA, uuid.Must(uuid.NewV7()), w.orgA, candAID, candAID, "withdrawn", false},
		{"candidate, a staff decision (hired)", asCandA, appA, w.orgA, candAID, candAID, "hired", false},
		{"candidate, naming someone else as the author", asCandA, appA, w.orgA, candAID, recruiterAID, "withdrawn", false},
		{"staff, own organisation's application", asRecruiterA, appA, w.orgA, candAID, recruiterAID, "shortlisted", true},
		{"staff, another organisation's application", asRecruiterA, appB, w.orgA, candBID, recruiterAID, "shortlisted", false},
		{"staff, own organisation's application named with another candidate", asRecruiterA, appA, w.orgA, candBID, recruiterAID, "shortlisted", false},
		{"staff, naming someone else as the author", asRecruiterA, appA, w.orgA, candAID, candAID, "shortlisted", false},
		{"system, an application named under another organisation", postgres.SystemScope(), appA, w.orgB, candAID, candAID, "withdrawn", false},
	} {
		err := postgres.ScopedTx(ctx, w.db.App, tc.scope, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO applications.status_history (id, application_id, org_id, candidate_id,
				from_status, to_status, changed_by, changed_at) VALUES ($1, $2, $3, $4, 'submitted', $5, $6, now())`,
				uuid.Must(uuid.NewV7()), tc.app, tc.org, tc.cand, tc.to, tc.by)
			return err
		})
		if tc.ok {
			require.NoError(t, err, tc.name)
			continue
		}
		var pgErr *pgconn.PgError
		require.ErrorAs(t, err, &pgErr, tc.name)
		require.Equal(t, "42501", pgErr.Code, tc.name)
		require.Contains(t, pgErr.Message, `row-level security policy for table "status_history"`, tc.name)
	}
	// Only the two accepted rows were added to the submissions' own.
	require.Equal(t, 3, w.count("SELECT count(*) FROM applications.status_history WHERE application_id = $1", appA))
	require.Equal(t, 1, w.count("SELECT count(*) FROM applications.status_history WHERE application_id = $1", appB))
}
