package applications

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
)

// ScreeningBody is the stored screening result of an application.
type ScreeningBody struct {
	Eligible     bool      `json:"eligible"`
	ModelVersion string    `json:"model_version"`
	ScoredAt     time.Time `json:"scored_at"`
}

// SnapshotBody is the profile as submitted (no phone).
type SnapshotBody struct {
	Version          int              `json:"version" doc:"The profile version that was copied."`
	DateOfBirth      *string          `json:"date_of_birth"`
	Gender           *string          `json:"gender"`
	DomicileProvince *string          `json:"domicile_province"`
	DomicileDistrict *string          `json:"domicile_district"`
	Education        []EducationBody  `json:"education" nullable:"false"`
	Experience       []ExperienceBody `json:"experience" nullable:"false"`
	Skills           []string         `json:"skills" nullable:"false"`
	ResumeText       string           `json:"resume_text"`
}

// ApplicationBody is an application over HTTP (to its candidate and to
// staff of the job's organisation). The CNIC is always masked.
type ApplicationBody struct {
	ID            uuid.UUID      `json:"id"`
	JobID         uuid.UUID      `json:"job_id"`
	OrgID         uuid.UUID      `json:"org_id"`
	CandidateID   uuid.UUID      `json:"candidate_id"`
	ReceiptNumber string         `json:"receipt_number"`
	Status        string         `json:"status" enum:"submitted,under_review,shortlisted,interview,offered,hired,rejected,withdrawn"`
	Version       int            `json:"version"`
	CoverLetter   *string        `json:"cover_letter"`
	CandidateName string         `json:"candidate_name"`
	CNICMasked    string         `json:"cnic_masked"`
	AIScore       *float64       `json:"ai_score" doc:"0–100, null until scored."`
	Screening     *ScreeningBody `json:"screening" doc:"Null until scored."`
	Profile       SnapshotBody   `json:"profile"`
	CreatedAt     time.Time      `json:"created_at" doc:"When it was submitted."`
	UpdatedAt     time.Time      `json:"updated_at"`
}

// NewApplicationBody renders an application (the staff search of this
// module renders its items with it too).
func NewApplicationBody(a Application) ApplicationBody { return *applicationBody(a) }

func applicationBody(a Application) *ApplicationBody {
	b := &ApplicationBody{
		ID: a.ID, JobID: a.JobID, OrgID: a.OrgID, CandidateID: a.CandidateID, ReceiptNumber: a.ReceiptNumber,
		Status: string(a.Status), Version: a.Version, CoverLetter: a.CoverLetter, CandidateName: a.CandidateName,
		CNICMasked: a.CNICMasked, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
	}
	if a.Screening != nil {
		sc := a.Screening.Score
		b.AIScore = &sc
		b.Screening = &ScreeningBody{Eligible: a.Screening.Eligible, ModelVersion: a.Screening.ModelVersion, ScoredAt: a.Screening.ScoredAt}
	}
	pb := profileBody(a.Profile)
	b.Profile = SnapshotBody{
		Version: pb.Version, DateOfBirth: pb.DateOfBirth, Gender: pb.Gender, DomicileProvince: pb.DomicileProvince,
		DomicileDistrict: pb.DomicileDistrict, Education: pb.Education, Experience: pb.Experience, Skills: pb.Skills,
		ResumeText: pb.ResumeText,
	}
	return b
}

// HistoryBody is one status change over HTTP.
type HistoryBody struct {
	From   *string   `json:"from" doc:"Null for the submission."`
	To     string    `json:"to"`
	At     time.Time `json:"at"`
	By     uuid.UUID `json:"by"`
	Reason *string   `json:"reason"`
}

type submitIn struct {
	JobID          string `path:"job_id" maxLength:"64"`
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Optional: the same key with the same body answers the same response; with another body 422 idempotency_key_reused; while the first is in flight 409 idempotency_key_in_flight. Kept 24 hours."`
	Body           *struct {
		CoverLetter *string `json:"cover_letter,omitempty" maxLength:"20000" doc:"Up to 5,000 characters."`
	} `required:"false"`
}

type applicationOut struct {
	Status       int
	ETag         string `header:"ETag"`
	Location     string `header:"Location"`
	Replayed     string `header:"Idempotent-Replayed" doc:"true when this is the stored answer to an earlier request with the same Idempotency-Key."`
	CacheControl string `header:"Cache-Control"`
	Body         *ApplicationBody
}

type idIn struct {
	ApplicationID string `path:"application_id" maxLength:"64"`
}

type transitionIn struct {
	ApplicationID  string `path:"application_id" maxLength:"64"`
	IfMatch        string `header:"If-Match" doc:"Optional: the application's ETag; 412 when it has changed since."`
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Optional, as on submission."`
	Body           struct {
		To     string  `json:"to" maxLength:"40" doc:"submitted → under_review → shortlisted → interview → offered → hired, one step at a time; rejected or withdrawn from any status that is not final."`
		Reason *string `json:"reason,omitempty" maxLength:"4000" doc:"Up to 1,000 characters; shown in the history."`
	}
}

type withdrawIn struct {
	ApplicationID  string    `path:"application_id" maxLength:"64"`
	IfMatch        string    `header:"If-Match" doc:"Optional: the application's ETag; 412 when it has changed since."`
	IdempotencyKey string    `header:"Idempotency-Key" maxLength:"255" doc:"Optional, as on submission."`
	Body           *struct{} `required:"false"`
}

type listMineIn struct {
	httpx.PageParams
}

type listMineOut struct {
	CacheControl string `header:"Cache-Control"`
	Body         httpx.Page[ApplicationBody]
}

type historyOut struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		Items []HistoryBody `json:"items" nullable:"false"`
		// NextCursor is always null: a history is short and comes whole;
		// the field keeps the house list envelope.
		NextCursor *string `json:"next_cursor"`
	}
}

// Handlers serves the applications API.
type Handlers struct {
	svc     *Service
	cursors *httpx.Cursors
}

// NewHandlers builds the HTTP layer; cursors signs page cursors.
func NewHandlers(svc *Service, cursors *httpx.Cursors) *Handlers {
	return &Handlers{svc: svc, cursors: cursors}
}

// Register adds the applications operations to r.
func (h *Handlers) Register(r *httpx.Router) {
	tags := []string{"applications"}
	bearer := []map[string][]string{{"bearer": {}}}
	huma.Register(r.API, huma.Operation{
		OperationID: "submit-application", Method: http.MethodPost, Path: "/v1/jobs/{job_id}/applications", Tags: tags,
		Security: bearer, DefaultStatus: http.StatusCreated,
		Summary: "Apply to an open job (candidate with a complete profile); the profile is copied as it is now",
	}, h.submit)
	huma.Register(r.API, huma.Operation{
		OperationID: "list-my-applications", Method: http.MethodGet, Path: "/v1/me/applications", Tags: tags,
		Security: bearer, Summary: "The caller's own applications, newest first",
	}, h.listMine)
	huma.Register(r.API, huma.Operation{
		OperationID: "get-application", Method: http.MethodGet, Path: "/v1/applications/{application_id}", Tags: tags,
		Security: bearer, Summary: "An application: to its candidate, or to staff of the job's organisation",
	}, h.get)
	huma.Register(r.API, huma.Operation{
		OperationID: "get-application-history", Method: http.MethodGet, Path: "/v1/applications/{application_id}/history",
		Tags: tags, Security: bearer, Summary: "The status changes of an application, oldest first",
	}, h.history)
	huma.Register(r.API, huma.Operation{
		OperationID: "transition-application", Method: http.MethodPost, Path: "/v1/applications/{application_id}/transition",
		Tags: tags, Security: bearer, Summary: "Move an application in the pipeline (recruiter, org_admin)",
	}, h.transition)
	huma.Register(r.API, huma.Operation{
		OperationID: "withdraw-application", Method: http.MethodPost, Path: "/v1/applications/{application_id}/withdraw",
		Tags: tags, Security: bearer, Summary: "Withdraw the caller's own application (before a final status)",
	}, h.withdraw)
}

// answer renders a write's outcome: the application, or a stored answer
// replayed as it was first sent.
func answer(s Submission, location bool) (*applicationOut, error) {
	out := &applicationOut{Status: s.Status, CacheControl: "no-store"}
	if s.Replayed {
		out.Replayed = "true"
		var b ApplicationBody
		if err := json.Unmarshal(s.Body, &b); err != nil {
			return nil, err
		}
		out.Body = &b
	} else {
		out.Body = applicationBody(s.Application)
	}
	if location {
		out.Location = "/v1/applications/" + out.Body.ID.String()
	}
	out.ETag = fmt.Sprintf(`"v%d"`, out.Body.Version)
	return out, nil
}

func (h *Handlers) submit(ctx context.Context, in *submitIn) (*applicationOut, error) {
	p, err := authz.Require(ctx, authz.RoleCandidate)
	if err != nil {
		return nil, err
	}
	jobID, err := httpx.PathID(in.JobID, ErrJobNotFound)
	if err != nil {
		return nil, err
	}
	var si SubmitInput
	if in.Body != nil {
		si.CoverLetter = in.Body.CoverLetter
	}
	idem, err := NewIdempotency(in.IdempotencyKey, http.MethodPost, "/v1/jobs/"+jobID.String()+"/applications", si)
	if err != nil {
		return nil, err
	}
	s, err := h.svc.Submit(ctx, p, jobID, si, idem)
	if err != nil {
		return nil, err
	}
	return answer(s, true)
}

func (h *Handlers) listMine(ctx context.Context, in *listMineIn) (*listMineOut, error) {
	p, err := authz.Require(ctx, authz.RoleCandidate)
	if err != nil {
		return nil, err
	}
	list := "applications.mine:" + p.UserID.String()
	var before uuid.UUID
	if in.Cursor != "" {
		if err := h.cursors.Decode(list, in.Cursor, &before); err != nil {
			return nil, err
		}
	}
	limit := in.Limit
	if limit <= 0 || limit > 100 {
		limit = 25
	}
	items, err := h.svc.ListMine(ctx, p, before, limit+1)
	if err != nil {
		return nil, err
	}
	out := &listMineOut{CacheControl: "private, no-store"}
	out.Body.Items = make([]ApplicationBody, 0, min(len(items), limit))
	for i, a := range items {
		if i == limit {
			c, err := h.cursors.Encode(list, items[limit-1].ID)
			if err != nil {
				return nil, err
			}
			out.Body.NextCursor = &c
			break
		}
		out.Body.Items = append(out.Body.Items, *applicationBody(a))
	}
	return out, nil
}

func (h *Handlers) get(ctx context.Context, in *idIn) (*applicationOut, error) {
	p, err := authz.Require(ctx)
	if err != nil {
		return nil, err
	}
	id, err := httpx.PathID(in.ApplicationID, ErrNotFound)
	if err != nil {
		return nil, err
	}
	a, err := h.svc.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return &applicationOut{Status: http.StatusOK, ETag: a.ETag(), CacheControl: "private, no-store", Body: applicationBody(a)}, nil
}

func (h *Handlers) history(ctx context.Context, in *idIn) (*historyOut, error) {
	p, err := authz.Require(ctx)
	if err != nil {
		return nil, err
	}
	id, err := httpx.PathID(in.ApplicationID, ErrNotFound)
	if err != nil {
		return nil, err
	}
	hs, err := h.svc.History(ctx, p, id)
	if err != nil {
		return nil, err
	}
	out := &historyOut{CacheControl: "private, no-store"}
	out.Body.Items = make([]HistoryBody, len(hs))
	for i, e := range hs {
		hb := HistoryBody{To: string(e.To), At: e.At, By: e.By, Reason: e.Reason}
		if e.From != nil {
			f := string(*e.From)
			hb.From = &f
		}
		out.Body.Items[i] = hb
	}
	return out, nil
}

func (h *Handlers) transition(ctx context.Context, in *transitionIn) (*applicationOut, error) {
	p, err := authz.Require(ctx, StaffWriterRoles...)
	if err != nil {
		return nil, err
	}
	id, err := httpx.PathID(in.ApplicationID, ErrNotFound)
	if err != nil {
		return nil, err
	}
	ti := TransitionInput{To: in.Body.To, Reason: in.Body.Reason, IfMatch: in.IfMatch}
	idem, err := NewIdempotency(in.IdempotencyKey, http.MethodPost, "/v1/applications/"+id.String()+"/transition", ti)
	if err != nil {
		return nil, err
	}
	s, err := h.svc.Transition(ctx, p, id, ti, idem)
	if err != nil {
		return nil, err
	}
	return answer(s, false)
}

func (h *Handlers) withdraw(ctx context.Context, in *withdrawIn) (*applicationOut, error) {
	p, err := authz.Require(ctx, authz.RoleCandidate)
	if err != nil {
		return nil, err
	}
	id, err := httpx.PathID(in.ApplicationID, ErrNotFound)
	if err != nil {
		return nil, err
	}
	idem, err := NewIdempotency(in.IdempotencyKey, http.MethodPost, "/v1/applications/"+id.String()+"/withdraw", struct{}{})
	if err != nil {
		return nil, err
	}
	s, err := h.svc.Withdraw(ctx, p, id, in.IfMatch, idem)
	if err != nil {
		return nil, err
	}
	return answer(s, false)
}
