package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/applications"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// explainCase is one staff search measured by explain.
type explainCase struct {
	name string
	q    applications.SearchQuery
}

// explain prints EXPLAIN ANALYZE of staff search on a seeded database:
// for the large organisation and a small one, each search of the harness's
// search scenarios and a few more (a job, submission windows, text), with
// the statement, arguments and planner settings the service uses
// (applications.ExplainSearch), run as pvara_app in the organisation's
// scope, prepared as pgx prepares it, second execution. Each case also
// runs in the other plan_cache_mode, for comparison. docs/applications.md,
// "Plan settings", has the results.
func explain(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("explain", flag.ExitOnError)
	dbURL := fs.String("db", os.Getenv("PVARA_LOAD_DB"), "owner (superuser) URL of the seeded database (PVARA_LOAD_DB)")
	_ = fs.Parse(args)
	if *dbURL == "" {
		return fmt.Errorf("-db (or PVARA_LOAD_DB) is required")
	}
	conn, err := pgx.Connect(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	fmt.Fprintln(w, "| organisation: search | served plan: planning + execution ms | other mode: planning + execution ms | plan |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, slug := range []string{"load-large", "load-org-001"} {
		var org, job uuid.UUID
		if err := conn.QueryRow(ctx, `SELECT id FROM auth.orgs WHERE slug = $1`, slug).Scan(&org); err != nil {
			return fmt.Errorf("organisation %s (is the database seeded?): %w", slug, err)
		}
		// The organisation's job with the most applications.
		if err := conn.QueryRow(ctx, `SELECT job_id FROM applications.applications WHERE org_id = $1
			GROUP BY job_id ORDER BY count(*) DESC LIMIT 1`, org).Scan(&job); err != nil {
			return err
		}
		p := authz.Principal{UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleRecruiter, OrgID: org}
		for _, c := range explainCases(job, time.Now()) {
			served, other, top, err := explainOne(ctx, conn, p, c.q)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", slug, c.name, err)
			}
			fmt.Fprintf(w, "| %s: %s | %s | %s | %s |\n", slug, c.name, served, other, top)
		}
	}
	return nil
}

// explainCases are the harness's recency searches (recencyQueries) and the
// shapes that need an index of their own or a custom plan.
func explainCases(job uuid.UUID, now time.Time) []explainCase {
	f := func(v float64) *float64 { return &v }
	t := func(d time.Duration) *time.Time { at := now.Add(d); return &at }
	return []explainCase{
		{"newest first", applications.SearchQuery{Sort: applications.SortSubmittedAt}},
		{"status=submitted", applications.SearchQuery{Status: "submitted", Sort: applications.SortSubmittedAt}},
		{"status=under_review, province=punjab", applications.SearchQuery{Status: "under_review", Province: "punjab", Sort: applications.SortSubmittedAt}},
		{"min_score=60", applications.SearchQuery{MinScore: f(60), Sort: applications.SortSubmittedAt}},
		{"province=sindh", applications.SearchQuery{Province: "sindh", Sort: applications.SortSubmittedAt}},
		{"status=shortlisted, score 40–90", applications.SearchQuery{Status: "shortlisted", MinScore: f(40), MaxScore: f(90), Sort: applications.SortSubmittedAt}},
		{"by score", applications.SearchQuery{Sort: applications.SortScore}},
		{"status=submitted, by score", applications.SearchQuery{Status: "submitted", Sort: applications.SortScore}},
		{"its largest job", applications.SearchQuery{JobID: &job, Sort: applications.SortSubmittedAt}},
		{"last 7 days", applications.SearchQuery{SubmittedAfter: t(-7 * 24 * time.Hour), Sort: applications.SortSubmittedAt}},
		{"before 4 months ago", applications.SearchQuery{SubmittedBefore: t(-4 * 30 * 24 * time.Hour), Sort: applications.SortSubmittedAt}},
		{"q=ahmed, newest first", applications.SearchQuery{Q: "ahmed", Sort: applications.SortSubmittedAt}},
		{"q=ahmed khan, relevance", applications.SearchQuery{Q: "ahmed khan"}},
		{"q=python, relevance", applications.SearchQuery{Q: "python"}},
	}
}

// explainOne runs q's statement under the service's settings and under the
// other plan_cache_mode and returns both timings and the served plan's top
// node.
func explainOne(ctx context.Context, conn *pgx.Conn, p authz.Principal, q applications.SearchQuery) (served, other, top string, err error) {
	sql, args, scope, err := applications.ExplainSearch(p, q)
	if err != nil {
		return "", "", "", err
	}
	lits := make([]string, len(args))
	for i, a := range args {
		if lits[i], err = literal(a); err != nil {
			return "", "", "", err
		}
	}
	exec := "EXECUTE s(" + strings.Join(lits, ", ") + ")"
	run := func(sc postgres.Scope) (string, string, error) {
		var timing, first string
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL ROLE pvara_app"); err != nil {
				return err
			}
			if err := sc.Apply(ctx, tx); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "PREPARE s AS "+sql); err != nil {
				return err
			}
			// The first execution warms the caches and the plan cache; the
			// second is measured.
			if _, err := tx.Exec(ctx, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) "+exec); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) "+exec)
			if err != nil {
				return err
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			first = planSummary(lines)
			var plan, run string
			for _, l := range lines {
				if m := timeRE.FindStringSubmatch(l); m != nil {
					if m[1] == "Planning" {
						plan = m[2]
					} else {
						run = m[2]
					}
				}
			}
			timing = plan + " + " + run
			// A prepared statement outlives the transaction.
			if _, err := tx.Exec(ctx, "DEALLOCATE s"); err != nil {
				return err
			}
			return errRollback
		})
		if errors.Is(err, errRollback) {
			err = nil
		}
		return timing, first, err
	}
	served, top, err = run(scope)
	if err != nil {
		return "", "", "", err
	}
	alt := scope
	alt.Settings = nil
	for _, s := range scope.Settings {
		if s.Name == "plan_cache_mode" {
			s.Value = map[string]string{"force_generic_plan": "force_custom_plan", "force_custom_plan": "force_generic_plan"}[s.Value]
		}
		alt.Settings = append(alt.Settings, s)
	}
	other, _, err = run(alt)
	if err != nil {
		return "", "", "", err
	}
	mode := "generic"
	for _, s := range scope.Settings {
		if s.Name == "plan_cache_mode" && s.Value == "force_custom_plan" {
			mode = "custom"
		}
	}
	return mode + ": " + served, other, top, nil
}

// planSummary is the plan's nodes down to the first index read, without
// their row counts and partition names: "Limit → Append → Index Scan
// using applications_pNNNNNN_org_id_status_created_at_id_idx".
func planSummary(lines []string) string {
	var nodes []string
	for _, l := range lines {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "->"))
		if strings.Contains(l, ":") && !strings.Contains(l, "(actual") {
			continue // a detail line (Index Cond, Filter, Sort Key, ...)
		}
		if i := strings.Index(l, " (actual"); i >= 0 {
			l = l[:i]
		}
		if i := strings.Index(l, " on applications_"); i >= 0 {
			l = l[:i]
		}
		l = partitionRE.ReplaceAllString(l, "pNNNNNN")
		nodes = append(nodes, strings.TrimSpace(l))
		if strings.Contains(l, "Index") || len(nodes) == 4 {
			break
		}
	}
	return strings.Join(nodes, " → ")
}

var partitionRE = regexp.MustCompile(`p\d{6}`)

// errRollback ends an explain transaction (it changed nothing) without
// committing.
var errRollback = errors.New("rollback")

var timeRE = regexp.MustCompile(`(Planning|Execution) Time: ([0-9.]+) ms`)

// literal is a as a literal of an EXECUTE statement's argument list.
func literal(a any) (string, error) {
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	switch v := a.(type) {
	case nil:
		return "NULL", nil
	case uuid.UUID:
		return quote(v.String()), nil
	case *uuid.UUID:
		if v == nil {
			return "NULL", nil
		}
		return quote(v.String()), nil
	case string:
		return quote(v), nil
	case *string:
		if v == nil {
			return "NULL", nil
		}
		return quote(*v), nil
	case int32:
		return fmt.Sprint(v), nil
	case *int32:
		if v == nil {
			return "NULL", nil
		}
		return fmt.Sprint(*v), nil
	case *float32:
		if v == nil {
			return "NULL", nil
		}
		return fmt.Sprint(*v), nil
	case time.Time:
		return quote(v.Format(time.RFC3339Nano)), nil
	case *time.Time:
		if v == nil {
			return "NULL", nil
		}
		return quote(v.Format(time.RFC3339Nano)), nil
	}
	return "", fmt.Errorf("explain: no literal for %T", a)
}
