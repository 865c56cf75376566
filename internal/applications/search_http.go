package applications

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
)

// SearchItemBody is an application in a staff search page.
type SearchItemBody struct {
	ID               uuid.UUID `json:"id"`
	JobID            uuid.UUID `json:"job_id"`
	CandidateID      uuid.UUID `json:"candidate_id"`
	ReceiptNumber    string    `json:"receipt_number"`
	Status           string    `json:"status"`
	CandidateName    string    `json:"candidate_name"`
	CNICMasked       string    `json:"cnic_masked" doc:"The CNIC as submitted, masked (35202-*******-1)."`
	Gender           string    `json:"gender"`
	DomicileProvince string    `json:"domicile_province"`
	DomicileDistrict string    `json:"domicile_district"`
	Skills           []string  `json:"skills" nullable:"false"`
	AIScore          *float64  `json:"ai_score" doc:"0–100; null until screened."`
	Eligible         *bool     `json:"eligible" doc:"null until screened."`
	SubmittedAt      time.Time `json:"submitted_at"`
	// CreatedAt is SubmittedAt under the application's own field name.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func searchItemBody(it SearchItem) SearchItemBody {
	return SearchItemBody{
		ID: it.ID, JobID: it.JobID, CandidateID: it.CandidateID, ReceiptNumber: it.ReceiptNumber, Status: it.Status,
		CandidateName: it.CandidateName, CNICMasked: it.CNICMasked, Gender: it.Gender,
		DomicileProvince: it.DomicileProvince, DomicileDistrict: it.DomicileDistrict, Skills: it.Skills,
		AIScore: it.AIScore, Eligible: it.Eligible, SubmittedAt: it.SubmittedAt, CreatedAt: it.SubmittedAt,
		UpdatedAt: it.UpdatedAt,
	}
}

type searchIn struct {
	httpx.PageParams
	JobID           string `query:"job_id" maxLength:"40" doc:"Only this job's applications."`
	Status          string `query:"status" maxLength:"20" doc:"submitted, under_review, shortlisted, interview, offered, hired, rejected or withdrawn."`
	MinScore        string `query:"min_score" maxLength:"10" doc:"Lowest AI score, 0–100 (unscored applications are left out)."`
	MaxScore        string `query:"max_score" maxLength:"10" doc:"Highest AI score, 0–100 (unscored applications are left out)."`
	Province        string `query:"province" maxLength:"20" doc:"Domicile province code."`
	Q               string `query:"q" maxLength:"200" doc:"Words searched in the candidate's name, skills and résumé (websearch syntax)."`
	SubmittedAfter  string `query:"submitted_after" maxLength:"40" doc:"RFC 3339; submitted at or after."`
	SubmittedBefore string `query:"submitted_before" maxLength:"40" doc:"RFC 3339; submitted before."`
	Sort            string `query:"sort" maxLength:"20" doc:"submitted_at (newest first; the default without q), score (best first, unscored last) or relevance (best text match first; the default with q)."`
}

type searchOut struct {
	CacheControl string `header:"Cache-Control"`
	Body         httpx.Page[SearchItemBody]
}

type jobPathIn struct {
	JobID string `path:"job_id" maxLength:"40"`
}

// MetricsStatusBody is one status of a job's metrics.
type MetricsStatusBody struct {
	Count    int64    `json:"count"`
	AvgScore *float64 `json:"avg_score" doc:"Average AI score of the scored applications; null when none."`
}

// JobMetricsBody is a job's applications by status.
type JobMetricsBody struct {
	JobID       uuid.UUID                    `json:"job_id"`
	ByStatus    map[string]MetricsStatusBody `json:"by_status"`
	RefreshedAt *time.Time                   `json:"refreshed_at" doc:"When the figures were computed (the view is refreshed periodically); null before the first refresh."`
}

type metricsOut struct {
	CacheControl string `header:"Cache-Control"`
	Body         JobMetricsBody
}

// SearchHandlers serves staff search, the CSV export and job metrics.
type SearchHandlers struct{ svc *Search }

// NewSearchHandlers builds the HTTP layer of staff search.
func NewSearchHandlers(svc *Search) *SearchHandlers { return &SearchHandlers{svc: svc} }

// Register adds the operations to r.
func (h *SearchHandlers) Register(r *httpx.Router) {
	tags := []string{"applications"}
	bearer := []map[string][]string{{"bearer": {}}}
	huma.Register(r.API, huma.Operation{
		OperationID: "search-applications", Method: http.MethodGet, Path: "/v1/applications", Tags: tags, Security: bearer,
		Summary: "Search the caller's organisation's applications (recruiter, org_admin)",
	}, h.search)
	huma.Register(r.API, huma.Operation{
		OperationID: "export-job-applications", Method: http.MethodGet, Path: "/v1/jobs/{job_id}/applications.csv", Tags: tags,
		Security: bearer, Summary: "A job's applications as CSV, streamed, CNIC masked (recruiter, org_admin; audited)",
		Responses: map[string]*huma.Response{"200": {
			Description: "CSV (RFC 4180) with a header row; cells a spreadsheet would run as formulas are prefixed with an apostrophe.",
			Content:     map[string]*huma.MediaType{"text/csv": {Schema: &huma.Schema{Type: "string"}}},
		}},
	}, h.export)
	huma.Register(r.API, huma.Operation{
		OperationID: "job-metrics", Method: http.MethodGet, Path: "/v1/jobs/{job_id}/metrics", Tags: tags, Security: bearer,
		Summary: "A job's applications by status: count and average score (recruiter, org_admin)",
	}, h.metrics)
}

func parseScore(loc, s string, v *apperr.Validator) *float64 {
	if s == "" {
		return nil
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	v.Check(err == nil, loc, "must be a number between 0 and 100")
	if err != nil {
		return nil
	}
	return &f
}

func parseTime(loc, s string, v *apperr.Validator) *time.Time {
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	v.Check(err == nil, loc, "must be an RFC 3339 time")
	if err != nil {
		return nil
	}
	return &t
}

func (h *SearchHandlers) search(ctx context.Context, in *searchIn) (*searchOut, error) {
	p, err := authz.Require(ctx, SearchRoles...)
	if err != nil {
		return nil, err
	}
	var v apperr.Validator
	q := SearchQuery{
		Status: in.Status, Province: in.Province, Q: in.Q, Sort: in.Sort, Limit: in.Limit, Cursor: in.Cursor,
		MinScore: parseScore("query.min_score", in.MinScore, &v), MaxScore: parseScore("query.max_score", in.MaxScore, &v),
		SubmittedAfter:  parseTime("query.submitted_after", in.SubmittedAfter, &v),
		SubmittedBefore: parseTime("query.submitted_before", in.SubmittedBefore, &v),
	}
	if in.JobID != "" {
		id, err := uuid.Parse(in.JobID)
		v.Check(err == nil, "query.job_id", "must be a UUID")
		q.JobID = &id
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	items, next, err := h.svc.Search(ctx, p, q)
	if err != nil {
		return nil, err
	}
	out := &searchOut{CacheControl: "private, no-store", Body: httpx.Page[SearchItemBody]{Items: make([]SearchItemBody, len(items)), NextCursor: next}}
	for i, it := range items {
		out.Body.Items[i] = searchItemBody(it)
	}
	return out, nil
}

func (h *SearchHandlers) export(ctx context.Context, in *jobPathIn) (*huma.StreamResponse, error) {
	p, err := authz.Require(ctx, SearchRoles...)
	if err != nil {
		return nil, err
	}
	id, err := httpx.PathID(in.JobID, errSearchJobNotFound)
	if err != nil {
		return nil, err
	}
	// Every refusal happens here, before the 200 and the first byte.
	if err := h.svc.PrepareExport(ctx, p, id); err != nil {
		return nil, err
	}
	return &huma.StreamResponse{Body: func(hc huma.Context) {
		hc.SetHeader("Content-Type", "text/csv; charset=utf-8")
		hc.SetHeader("Content-Disposition", `attachment; filename="applications-`+id.String()+`.csv"`)
		hc.SetHeader("Cache-Control", "private, no-store")
		hc.SetStatus(http.StatusOK)
		n, err := h.svc.WriteExport(hc.Context(), p, id, hc.BodyWriter())
		if err != nil {
			// The status is sent: the client sees a cut-off file (no
			// final CRLF, a broken chunked stream), the log says why.
			h.svc.logger.ErrorContext(hc.Context(), "applications: CSV export failed", "job_id", id, "rows", n, "error", err)
		}
	}}, nil
}

func (h *SearchHandlers) metrics(ctx context.Context, in *jobPathIn) (*metricsOut, error) {
	p, err := authz.Require(ctx, SearchRoles...)
	if err != nil {
		return nil, err
	}
	id, err := httpx.PathID(in.JobID, errSearchJobNotFound)
	if err != nil {
		return nil, err
	}
	m, err := h.svc.JobMetrics(ctx, p, id)
	if err != nil {
		return nil, err
	}
	out := &metricsOut{CacheControl: "private, no-store", Body: JobMetricsBody{JobID: m.JobID, RefreshedAt: m.RefreshedAt,
		ByStatus: make(map[string]MetricsStatusBody, len(m.ByStatus))}}
	for st, sm := range m.ByStatus {
		out.Body.ByStatus[st] = MetricsStatusBody{Count: sm.Count, AvgScore: sm.AvgScore}
	}
	return out, nil
}
