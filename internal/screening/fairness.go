package screening

import (
	"context"
	"math"
	"sort"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/screening/internal/db"
)

// The fairness report follows the four-fifths rule (US EEOC Uniform
// Guidelines, used by NYC Local Law 144 bias audits): a group whose
// selection rate is below 80% of the best-treated group's is flagged as a
// possible adverse impact.
const (
	// FourFifths is the impact ratio below which a group is flagged.
	FourFifths = 0.8
	// MinGroupSize is the fewest applicants a group needs to be judged;
	// a smaller group is reported with too_small set and never flagged,
	// and it is not the reference (one hire out of one applicant would
	// otherwise make every other group look disadvantaged).
	MinGroupSize = 5
)

// Attributes the report groups by.
const (
	AttributeGender   = "gender"
	AttributeProvince = "domicile_province"
)

// selectedStatuses are "shortlisted or beyond": what counts as selected
// in the report's main view.
var selectedStatuses = map[string]bool{"shortlisted": true, "interview": true, "offered": true, "hired": true}

// FairnessGroup is one group's line of the report.
type FairnessGroup struct {
	Attribute  string
	Value      string // "unknown" when the snapshot did not say
	Applicants int
	Selected   int
	// SelectionRate is Selected / Applicants.
	SelectionRate float64
	// ImpactRatio is SelectionRate over the reference rate (the best rate
	// among the attribute's groups large enough to judge); nil when the
	// reference rate is 0 (nobody selected: no ratio to speak of).
	ImpactRatio *float64
	// Flagged: ImpactRatio below FourFifths, in a group large enough.
	Flagged bool
	// TooSmall: fewer than MinGroupSize applicants.
	TooSmall bool
}

// Fairness is a job's report: selection by status, and the top-N by score
// as a second view.
type Fairness struct {
	JobID  uuid.UUID
	Groups []FairnessGroup
	// TopN is the size of the second view's selection (the job's
	// positions unless asked otherwise).
	TopN       int
	TopNGroups []FairnessGroup
	// Applicants counts what the report covers: scored applications that
	// were not withdrawn.
	Applicants int
}

// fairnessRow is one applicant as the report sees it.
type fairnessRow struct {
	gender, province string
	selected         bool // status shortlisted or beyond
	top              bool // within the top N of the ranking
}

// Fairness returns a job's fairness report (recruiter or org admin of the
// job's organisation). top is the second view's N; 0 takes the job's
// positions.
func (s *Service) Fairness(ctx context.Context, p authz.Principal, jobID uuid.UUID, top int) (Fairness, error) {
	job, err := s.ownJob(ctx, p, jobID)
	if err != nil {
		return Fairness{}, err
	}
	if top <= 0 {
		top = max(job.Positions, 1)
	}
	var rows []fairnessRow
	err = postgres.ScopedTx(ctx, s.db, p.Scope(), func(tx pgx.Tx) error {
		rs, err := db.New(tx).FairnessRows(ctx, job.ID)
		if err != nil {
			return postgres.Translate(err)
		}
		rows = make([]fairnessRow, len(rs))
		for i, r := range rs { // in rank order
			rows[i] = fairnessRow{gender: r.Gender, province: r.DomicileProvince, selected: selectedStatuses[r.Status], top: i < top}
		}
		return nil
	})
	if err != nil {
		return Fairness{}, err
	}
	out := Fairness{JobID: job.ID, TopN: top, Applicants: len(rows)}
	out.Groups = fairnessGroups(rows, func(r fairnessRow) bool { return r.selected })
	out.TopNGroups = fairnessGroups(rows, func(r fairnessRow) bool { return r.top })
	return out, nil
}

// fairnessGroups counts applicants and selections per gender and per
// province and computes rates, impact ratios and flags.
func fairnessGroups(rows []fairnessRow, selected func(fairnessRow) bool) []FairnessGroup {
	var out []FairnessGroup
	for _, attr := range []string{AttributeGender, AttributeProvince} {
		counts := map[string]*FairnessGroup{}
		for _, r := range rows {
			v := r.gender
			if attr == AttributeProvince {
				v = r.province
			}
			if v == "" {
				v = "unknown"
			}
			g := counts[v]
			if g == nil {
				g = &FairnessGroup{Attribute: attr, Value: v}
				counts[v] = g
			}
			g.Applicants++
			if selected(r) {
				g.Selected++
			}
		}
		groups := make([]FairnessGroup, 0, len(counts))
		for _, g := range counts {
			groups = append(groups, *g)
		}
		sort.Slice(groups, func(i, j int) bool { return groups[i].Value < groups[j].Value })
		out = append(out, judge(groups)...)
	}
	return out
}

// judge fills the rates, impact ratios and flags of one attribute's groups.
// Rates are compared in integers (a/b < c/d as a·d < c·b) so a group exactly
// at four fifths is not flagged by a rounding error.
func judge(groups []FairnessGroup) []FairnessGroup {
	refSel, refApps := 0, 1 // the reference rate refSel/refApps
	for i := range groups {
		g := &groups[i]
		g.SelectionRate = round4(float64(g.Selected) / float64(g.Applicants))
		g.TooSmall = g.Applicants < MinGroupSize
		if !g.TooSmall && g.Selected*refApps > refSel*g.Applicants {
			refSel, refApps = g.Selected, g.Applicants
		}
	}
	if refSel == 0 {
		return groups
	}
	for i := range groups {
		g := &groups[i]
		ratio := round4(float64(g.Selected*refApps) / float64(refSel*g.Applicants))
		g.ImpactRatio = &ratio
		// selected/applicants < 4/5 · refSel/refApps
		g.Flagged = !g.TooSmall && 5*g.Selected*refApps < 4*refSel*g.Applicants
	}
	return groups
}

func round4(f float64) float64 { return math.Round(f*10000) / 10000 }
