package screening

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/screening/internal/db"
)

// WriterRoles may read a job's ranking and fairness report and re-screen
// it.
var WriterRoles = []authz.Role{authz.RoleRecruiter, authz.RoleOrgAdmin}

var authzForbidden = apperr.ErrForbidden

// Explanation is an application's screening result as its candidate and
// the organisation's staff see it.
type Explanation struct {
	ApplicationID uuid.UUID
	JobID         uuid.UUID
	Score         float64
	Eligible      bool
	Reasons       []Reason
	Breakdown     []Component
	ModelVersion  string
	CorpusID      string
	ScoredAt      time.Time
}

// Explanation returns an application's result to staff of the job's
// organisation and to its candidate (the right to an explanation);
// ErrNotScored before the score exists and for anybody else (checked here,
// and again by row-level security).
func (s *Service) Explanation(ctx context.Context, p authz.Principal, appID uuid.UUID) (Explanation, error) {
	if !p.IsStaff() && p.Role != authz.RoleCandidate {
		return Explanation{}, apperr.ErrForbidden
	}
	var out Explanation
	err := postgres.ScopedTx(ctx, s.db, p.Scope(), func(tx pgx.Tx) error {
		r, err := db.New(tx).ResultGet(ctx, appID)
		if postgres.IsNotFound(err) {
			return ErrNotScored
		}
		if err != nil {
			return postgres.Translate(err)
		}
		// The explicit check in front of row-level security: staff of the
		// job's organisation, or the application's own candidate.
		mine := (p.IsStaff() && r.OrgID == p.OrgID) || (p.Role == authz.RoleCandidate && r.CandidateID == p.UserID)
		if !mine {
			return ErrNotScored
		}
		out = Explanation{
			ApplicationID: r.ApplicationID, JobID: r.JobID, Score: r.Score, Eligible: deref(r.Eligible),
			ModelVersion: deref(r.ModelVersion), CorpusID: deref(r.CorpusID), ScoredAt: deref(r.ScoredAt).UTC(),
		}
		if err := json.Unmarshal(r.Reasons, &out.Reasons); err != nil {
			return fmt.Errorf("screening: reasons of %s: %w", appID, err)
		}
		return json.Unmarshal(r.Breakdown, &out.Breakdown)
	})
	return out, err
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}

// ReasonBody is one eligibility finding.
type ReasonBody struct {
	Code    string `json:"code" doc:"A stable reason code."`
	Message string `json:"message" doc:"The finding in a sentence."`
	Met     bool   `json:"met" doc:"Whether the candidate meets the rule."`
}

// ComponentBody is one part of the score.
type ComponentBody struct {
	Weight float64 `json:"weight" doc:"The most points the component can give."`
	Points float64 `json:"points" doc:"The points it gave; the components' points add up to the score."`
	Detail string  `json:"detail,omitempty"`
}

// ExplanationBody is GET /v1/applications/{application_id}/screening.
type ExplanationBody struct {
	ApplicationID uuid.UUID                `json:"application_id"`
	JobID         uuid.UUID                `json:"job_id"`
	Score         float64                  `json:"score" doc:"0–100; ranks applications, decides nothing."`
	Eligible      bool                     `json:"eligible" doc:"Whether every eligibility rule is met at the job's closing date; never an automatic rejection."`
	Reasons       []ReasonBody             `json:"reasons" nullable:"false"`
	Breakdown     map[string]ComponentBody `json:"breakdown" doc:"Each component of the score by name."`
	ModelVersion  string                   `json:"model_version"`
	CorpusID      string                   `json:"corpus_id,omitempty" doc:"The job corpus the text relevance was computed with."`
	ScoredAt      time.Time                `json:"scored_at"`
}

func explanationBody(e Explanation) *ExplanationBody {
	b := &ExplanationBody{
		ApplicationID: e.ApplicationID, JobID: e.JobID, Score: e.Score, Eligible: e.Eligible,
		Reasons: make([]ReasonBody, 0, len(e.Reasons)), Breakdown: make(map[string]ComponentBody, len(e.Breakdown)),
		ModelVersion: e.ModelVersion, CorpusID: e.CorpusID, ScoredAt: e.ScoredAt,
	}
	for _, r := range e.Reasons {
		b.Reasons = append(b.Reasons, ReasonBody{Code: r.Code, Message: r.Message, Met: r.Met})
	}
	for _, c := range e.Breakdown {
		b.Breakdown[c.Name] = ComponentBody{Weight: c.Weight, Points: c.Points, Detail: c.Detail}
	}
	return b
}

// RankItemBody is one line of a ranking.
type RankItemBody struct {
	ApplicationID uuid.UUID `json:"application_id"`
	Score         float64   `json:"score"`
	Eligible      bool      `json:"eligible"`
}

// RunBody is a re-screening run.
type RunBody struct {
	ID         uuid.UUID  `json:"id"`
	JobID      uuid.UUID  `json:"job_id"`
	Status     string     `json:"status" enum:"queued,running,done,failed"`
	Reason     string     `json:"reason" enum:"manual,criteria_changed"`
	Done       int        `json:"done" doc:"Applications re-scored so far."`
	Total      int        `json:"total" doc:"Applications the job has (as screening counts them; grows if more arrive)."`
	Changed    int        `json:"changed" doc:"Re-scored applications whose result changed."`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Error      *string    `json:"error,omitempty"`
}

func runBody(r Run) *RunBody {
	return &RunBody{
		ID: r.ID, JobID: r.JobID, Status: r.Status, Reason: r.Reason, Done: r.Done, Total: max(r.Total, r.Done),
		Changed: r.Changed, CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Error: r.Error,
	}
}

// RankingBody is GET /v1/jobs/{job_id}/ranking.
type RankingBody struct {
	Items      []RankItemBody `json:"items" nullable:"false"`
	NextCursor *string        `json:"next_cursor" doc:"Pass as ?cursor= for the next page; null on the last page."`
	Rescreen   *RunBody       `json:"rescreen" doc:"The job's latest re-screening (null if never re-screened): watch its status, done and total."`
}

// FairnessGroupBody is one group of the fairness report.
type FairnessGroupBody struct {
	Attribute     string   `json:"attribute" enum:"gender,domicile_province"`
	Value         string   `json:"value" doc:"The group; unknown when the application did not say."`
	Applicants    int      `json:"applicants"`
	Selected      int      `json:"selected"`
	SelectionRate float64  `json:"selection_rate" doc:"selected / applicants, 4 decimals."`
	ImpactRatio   *float64 `json:"impact_ratio" doc:"The group's selection rate over the best rate among the attribute's groups that are large enough to judge; null when nobody was selected."`
	Flagged       bool     `json:"flagged" doc:"impact_ratio below 0.8 (the four-fifths rule), in a group large enough to judge."`
	TooSmall      bool     `json:"too_small" doc:"Fewer than 5 applicants: reported, not judged."`
}

// TopNBody is the fairness report's second view.
type TopNBody struct {
	N      int                 `json:"n" doc:"The selection is the ranking's top n (the job's positions unless ?top= says otherwise)."`
	Groups []FairnessGroupBody `json:"groups" nullable:"false"`
}

// FairnessBody is GET /v1/jobs/{job_id}/fairness.
type FairnessBody struct {
	JobID      uuid.UUID           `json:"job_id"`
	Applicants int                 `json:"applicants" doc:"Scored applications that were not withdrawn."`
	Groups     []FairnessGroupBody `json:"groups" nullable:"false" doc:"Selected = status shortlisted, interview, offered or hired."`
	TopN       TopNBody            `json:"top_n"`
}

func groupBodies(gs []FairnessGroup) []FairnessGroupBody {
	out := make([]FairnessGroupBody, 0, len(gs))
	for _, g := range gs {
		out = append(out, FairnessGroupBody{
			Attribute: g.Attribute, Value: g.Value, Applicants: g.Applicants, Selected: g.Selected,
			SelectionRate: g.SelectionRate, ImpactRatio: g.ImpactRatio, Flagged: g.Flagged, TooSmall: g.TooSmall,
		})
	}
	return out
}

// Handlers serves the screening API.
type Handlers struct {
	svc     *Service
	cursors *httpx.Cursors
}

// NewHandlers builds the HTTP layer; cursors signs the ranking's page
// cursors.
func NewHandlers(svc *Service, cursors *httpx.Cursors) *Handlers {
	return &Handlers{svc: svc, cursors: cursors}
}

type appIn struct {
	ApplicationID string `path:"application_id" maxLength:"64"`
}

type jobIn struct {
	JobID string `path:"job_id" maxLength:"64"`
}

type rankingIn struct {
	JobID string `path:"job_id" maxLength:"64"`
	httpx.PageParams
}

type rescreenIn struct {
	JobID string    `path:"job_id" maxLength:"64"`
	Body  *struct{} `required:"false"`
}

type fairnessIn struct {
	JobID string `path:"job_id" maxLength:"64"`
	Top   int    `query:"top" minimum:"0" maximum:"100000" doc:"The second view's N (default: the job's positions)."`
}

type explanationOut struct {
	CacheControl string `header:"Cache-Control"`
	Body         *ExplanationBody
}

type rankingOut struct {
	CacheControl string `header:"Cache-Control"`
	Body         *RankingBody
}

type runOut struct {
	Status       int
	CacheControl string `header:"Cache-Control"`
	Body         *RunBody
}

type fairnessOut struct {
	CacheControl string `header:"Cache-Control"`
	Body         *FairnessBody
}

// Register adds the screening operations to r.
func (h *Handlers) Register(r *httpx.Router) {
	tags := []string{"screening"}
	bearer := []map[string][]string{{"bearer": {}}}
	huma.Register(r.API, huma.Operation{
		OperationID: "get-application-screening", Method: http.MethodGet, Path: "/v1/applications/{application_id}/screening",
		Tags: tags, Security: bearer,
		Summary: "An application's screening result with its reasons and breakdown (its candidate, staff of the organisation); 404 until scored",
	}, h.explanation)
	huma.Register(r.API, huma.Operation{
		OperationID: "get-job-ranking", Method: http.MethodGet, Path: "/v1/jobs/{job_id}/ranking", Tags: tags, Security: bearer,
		Summary: "A job's applications best first: eligible first, then by score, ties by application id (recruiter, org_admin)",
	}, h.ranking)
	huma.Register(r.API, huma.Operation{
		OperationID: "rescreen-job", Method: http.MethodPost, Path: "/v1/jobs/{job_id}/rescreen", Tags: tags, Security: bearer,
		Summary:       "Re-score every application of a job (recruiter, org_admin); a run already queued or running is returned",
		DefaultStatus: http.StatusAccepted,
	}, h.rescreen)
	huma.Register(r.API, huma.Operation{
		OperationID: "get-job-rescreen", Method: http.MethodGet, Path: "/v1/jobs/{job_id}/rescreen", Tags: tags, Security: bearer,
		Summary: "The job's latest re-screening run and its progress (recruiter, org_admin)",
	}, h.rescreenStatus)
	huma.Register(r.API, huma.Operation{
		OperationID: "get-job-fairness", Method: http.MethodGet, Path: "/v1/jobs/{job_id}/fairness", Tags: tags, Security: bearer,
		Summary: "Selection rates and impact ratios by gender and domicile province, with the four-fifths rule (recruiter, org_admin)",
	}, h.fairness)
}

func (h *Handlers) explanation(ctx context.Context, in *appIn) (*explanationOut, error) {
	p, err := authz.Require(ctx)
	if err != nil {
		return nil, err
	}
	id, err := httpx.PathID(in.ApplicationID, ErrNotScored)
	if err != nil {
		return nil, err
	}
	e, err := h.svc.Explanation(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return &explanationOut{CacheControl: "no-store", Body: explanationBody(e)}, nil
}

func (h *Handlers) ranking(ctx context.Context, in *rankingIn) (*rankingOut, error) {
	p, err := authz.Require(ctx, WriterRoles...)
	if err != nil {
		return nil, err
	}
	id, err := httpx.PathID(in.JobID, ErrJobNotFound)
	if err != nil {
		return nil, err
	}
	list := "screening.ranking:" + id.String()
	var after *RankCursor
	if in.Cursor != "" {
		var c RankCursor
		if err := h.cursors.Decode(list, in.Cursor, &c); err != nil {
			return nil, err
		}
		after = &c
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 25
	}
	pg, err := h.svc.Ranking(ctx, p, id, after, limit)
	if err != nil {
		return nil, err
	}
	b := &RankingBody{Items: make([]RankItemBody, 0, len(pg.Items))}
	for _, e := range pg.Items {
		b.Items = append(b.Items, RankItemBody{ApplicationID: e.ApplicationID, Score: e.Score, Eligible: e.Eligible})
	}
	if pg.Next != nil {
		c, err := h.cursors.Encode(list, pg.Next)
		if err != nil {
			return nil, err
		}
		b.NextCursor = &c
	}
	if pg.Rescreen != nil {
		b.Rescreen = runBody(*pg.Rescreen)
	}
	return &rankingOut{CacheControl: "no-store", Body: b}, nil
}

func (h *Handlers) rescreen(ctx context.Context, in *rescreenIn) (*runOut, error) {
	p, err := authz.Require(ctx, WriterRoles...)
	if err != nil {
		return nil, err
	}
	id, err := httpx.PathID(in.JobID, ErrJobNotFound)
	if err != nil {
		return nil, err
	}
	run, err := h.svc.Rescreen(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return &runOut{Status: http.StatusAccepted, CacheControl: "no-store", Body: runBody(run)}, nil
}

func (h *Handlers) rescreenStatus(ctx context.Context, in *jobIn) (*runOut, error) {
	p, err := authz.Require(ctx, WriterRoles...)
	if err != nil {
		return nil, err
	}
	id, err := httpx.PathID(in.JobID, ErrJobNotFound)
	if err != nil {
		return nil, err
	}
	run, err := h.svc.LatestRun(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return &runOut{Status: http.StatusOK, CacheControl: "no-store", Body: runBody(run)}, nil
}

func (h *Handlers) fairness(ctx context.Context, in *fairnessIn) (*fairnessOut, error) {
	p, err := authz.Require(ctx, WriterRoles...)
	if err != nil {
		return nil, err
	}
	id, err := httpx.PathID(in.JobID, ErrJobNotFound)
	if err != nil {
		return nil, err
	}
	f, err := h.svc.Fairness(ctx, p, id, in.Top)
	if err != nil {
		return nil, err
	}
	return &fairnessOut{CacheControl: "no-store", Body: &FairnessBody{
		JobID: f.JobID, Applicants: f.Applicants, Groups: groupBodies(f.Groups),
		TopN: TopNBody{N: f.TopN, Groups: groupBodies(f.TopNGroups)},
	}}, nil
}
