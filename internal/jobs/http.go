package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/vocab"
)

// CriteriaBody is a job's criteria over HTTP.
type CriteriaBody struct {
	MinEducation       string   `json:"min_education" enum:"matric,intermediate,bachelor,master,mphil,phd" doc:"Minimum education level on the ordered scale matric < intermediate < bachelor < master < mphil < phd."`
	MinExperienceYears int      `json:"min_experience_years" doc:"Minimum years of experience."`
	AgeMin             *int     `json:"age_min,omitempty" doc:"Minimum age at the closing date."`
	AgeMax             *int     `json:"age_max,omitempty" doc:"Maximum age at the closing date."`
	AgeRelaxationYears *int     `json:"age_relaxation_years,omitempty" doc:"Years added to age_max for groups entitled to relaxation."`
	RequiredSkills     []string `json:"required_skills" nullable:"false" doc:"Normalised: lower-case, trimmed, de-duplicated."`
	PreferredSkills    []string `json:"preferred_skills" nullable:"false"`
	DomicileProvinces  []string `json:"domicile_provinces,omitempty" doc:"Who may apply, by domicile; absent means everyone."`
}

// CriteriaInputBody is criteria as written by a recruiter.
type CriteriaInputBody struct {
	MinEducation       string   `json:"min_education,omitempty" maxLength:"40" doc:"matric, intermediate, bachelor, master, mphil or phd (required)."`
	MinExperienceYears int      `json:"min_experience_years,omitempty" doc:"0–50."`
	AgeMin             *int     `json:"age_min,omitempty"`
	AgeMax             *int     `json:"age_max,omitempty"`
	AgeRelaxationYears *int     `json:"age_relaxation_years,omitempty" doc:"0–15; needs age_max."`
	RequiredSkills     []string `json:"required_skills,omitempty" maxItems:"100"`
	PreferredSkills    []string `json:"preferred_skills,omitempty" maxItems:"100"`
	DomicileProvinces  []string `json:"domicile_provinces,omitempty" maxItems:"20" doc:"punjab, sindh, kpk, balochistan, islamabad, gb, ajk."`
}

func (c CriteriaInputBody) input() CriteriaInput {
	return CriteriaInput{
		MinEducation: c.MinEducation, MinExperienceYears: c.MinExperienceYears, AgeMin: c.AgeMin, AgeMax: c.AgeMax,
		AgeRelaxationYears: c.AgeRelaxationYears, RequiredSkills: c.RequiredSkills, PreferredSkills: c.PreferredSkills,
		DomicileProvinces: c.DomicileProvinces,
	}
}

func criteriaBody(c Criteria) CriteriaBody {
	b := CriteriaBody{
		MinEducation: string(c.MinEducation), MinExperienceYears: c.MinExperienceYears, AgeMin: c.AgeMin,
		AgeMax: c.AgeMax, AgeRelaxationYears: c.AgeRelaxationYears, RequiredSkills: c.RequiredSkills,
		PreferredSkills: c.PreferredSkills,
	}
	for _, p := range c.DomicileProvinces {
		b.DomicileProvinces = append(b.DomicileProvinces, string(p))
	}
	return b
}

// JobBody is a job over HTTP.
type JobBody struct {
	ID          uuid.UUID    `json:"id"`
	OrgID       uuid.UUID    `json:"org_id"`
	Status      string       `json:"status" enum:"draft,published,closed,archived" doc:"A published job past closes_at is shown closed."`
	Open        bool         `json:"open" doc:"Whether applications are accepted now."`
	Version     int          `json:"version"`
	Title       string       `json:"title"`
	Department  string       `json:"department"`
	Description string       `json:"description"`
	Location    string       `json:"location"`
	Province    *string      `json:"province" doc:"Where the post is (the board's ?province= filter)."`
	Grade       *string      `json:"grade"`
	Positions   int          `json:"positions"`
	OpensAt     time.Time    `json:"opens_at"`
	ClosesAt    time.Time    `json:"closes_at"`
	Criteria    CriteriaBody `json:"criteria"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
	PublishedAt *time.Time   `json:"published_at"`
	ClosedAt    *time.Time   `json:"closed_at"`
}

func jobBody(j Job, now time.Time) *JobBody {
	b := &JobBody{
		ID: j.ID, OrgID: j.OrgID, Status: string(j.EffectiveStatus(now)), Open: j.OpenAt(now), Version: j.Version,
		Title: j.Title, Department: j.Department, Description: j.Description, Location: j.Location,
		Province: provinceParam(j.Province), Grade: j.Grade, Positions: j.Positions, OpensAt: j.OpensAt,
		ClosesAt: j.ClosesAt, Criteria: criteriaBody(j.Criteria), CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
		PublishedAt: j.PublishedAt, ClosedAt: j.ClosedAt,
	}
	if b.Status == string(StatusClosed) && b.ClosedAt == nil {
		at := j.ClosesAt
		b.ClosedAt = &at
	}
	return b
}

// JobSummaryBody is a job as listed.
type JobSummaryBody struct {
	ID          uuid.UUID    `json:"id"`
	OrgID       uuid.UUID    `json:"org_id"`
	Status      string       `json:"status"`
	Version     int          `json:"version"`
	Title       string       `json:"title"`
	Department  string       `json:"department"`
	Excerpt     string       `json:"excerpt" doc:"The first 280 characters of the description."`
	Location    string       `json:"location"`
	Province    *string      `json:"province"`
	Grade       *string      `json:"grade"`
	Positions   int          `json:"positions"`
	OpensAt     time.Time    `json:"opens_at"`
	ClosesAt    time.Time    `json:"closes_at"`
	PublishedAt *time.Time   `json:"published_at"`
	Criteria    CriteriaBody `json:"criteria"`
}

func summaryBody(s Summary) JobSummaryBody {
	return JobSummaryBody{
		ID: s.ID, OrgID: s.OrgID, Status: string(s.Status), Version: s.Version, Title: s.Title,
		Department: s.Department, Excerpt: s.Excerpt, Location: s.Location, Province: provinceParam(s.Province),
		Grade: s.Grade, Positions: s.Positions, OpensAt: s.OpensAt, ClosesAt: s.ClosesAt,
		PublishedAt: s.PublishedAt, Criteria: criteriaBody(s.Criteria),
	}
}

// createIn is POST /v1/jobs. Every body field is optional in the schema so
// that a missing one is reported by the service with its own location.
type createIn struct {
	Body struct {
		Title       string            `json:"title,omitempty" maxLength:"1000"`
		Department  string            `json:"department,omitempty" maxLength:"1000"`
		Description string            `json:"description,omitempty" maxLength:"100000"`
		Location    string            `json:"location,omitempty" maxLength:"1000"`
		Province    *string           `json:"province,omitempty" maxLength:"40" doc:"Where the post is: punjab, sindh, kpk, balochistan, islamabad, gb, ajk."`
		Grade       *string           `json:"grade,omitempty" maxLength:"1000" doc:"e.g. BPS-17."`
		Positions   int               `json:"positions,omitempty" doc:"1–100000."`
		OpensAt     time.Time         `json:"opens_at,omitempty"`
		ClosesAt    time.Time         `json:"closes_at,omitempty" doc:"After opens_at, in the future, within 366 days of opens_at."`
		Criteria    CriteriaInputBody `json:"criteria,omitempty"`
	}
}

// patchIn is PATCH /v1/jobs/{job_id}.
type patchIn struct {
	JobID   string `path:"job_id" maxLength:"64"`
	IfMatch string `header:"If-Match" doc:"The job's ETag (required: 428 without it, 412 when stale)."`
	Body    struct {
		Title       *string            `json:"title,omitempty" maxLength:"1000"`
		Department  *string            `json:"department,omitempty" maxLength:"1000"`
		Description *string            `json:"description,omitempty" maxLength:"100000"`
		Location    *string            `json:"location,omitempty" maxLength:"1000"`
		Province    *string            `json:"province,omitempty" maxLength:"40" doc:"An empty string clears it."`
		Grade       *string            `json:"grade,omitempty" maxLength:"1000" doc:"An empty string clears it."`
		Positions   *int               `json:"positions,omitempty"`
		OpensAt     *time.Time         `json:"opens_at,omitempty"`
		ClosesAt    *time.Time         `json:"closes_at,omitempty"`
		Criteria    *CriteriaInputBody `json:"criteria,omitempty" doc:"Replaces the whole criteria object."`
	}
}

type jobOut struct {
	Status       int
	ETag         string `header:"ETag"`
	Location     string `header:"Location"`
	CacheControl string `header:"Cache-Control"`
	Body         *JobBody
}

type getIn struct {
	JobID       string `path:"job_id" maxLength:"64"`
	IfNoneMatch string `header:"If-None-Match" doc:"An ETag from an earlier response: 304 when unchanged."`
}

type actionIn struct {
	JobID   string    `path:"job_id" maxLength:"64"`
	IfMatch string    `header:"If-Match" doc:"The job's ETag (required: 428 without it, 412 when stale)."`
	Body    *struct{} `required:"false"`
}

type listIn struct {
	httpx.PageParams
	Q           string `query:"q" maxLength:"200" doc:"Full-text search over title, department, description and skills (English stems and exact words, so romanised Urdu works). Web-search syntax: words, \"a phrase\", -excluded, or."`
	OrgID       string `query:"org_id" maxLength:"64" doc:"Only this organisation's jobs."`
	Province    string `query:"province" maxLength:"40" doc:"Only jobs located in this province."`
	Department  string `query:"department" maxLength:"120" doc:"Only this department (case-insensitive exact match)."`
	Status      string `query:"status" enum:"draft,published,closed,archived,all" doc:"Staff only: list the caller's own organisation's jobs in this status (all: every status) instead of the public board. Never cached."`
	IfNoneMatch string `header:"If-None-Match"`
	// AcceptEncoding picks the board page's representation: the page is
	// kept gzip-compressed next to its JSON, so gzip costs nothing to serve.
	AcceptEncoding string `header:"Accept-Encoding" doc:"With gzip, the public board page comes gzip-compressed (Content-Encoding: gzip, its own ETag); never refused, however long."`
}

type listOut struct {
	Status          int
	ETag            string   `header:"ETag"`
	CacheControl    string   `header:"Cache-Control"`
	ContentType     string   `header:"Content-Type"`
	ContentEncoding string   `header:"Content-Encoding"`
	ContentLength   string   `header:"Content-Length"`
	Vary            []string `header:"Vary"`
	Body            []byte
}

// varyEncoding is the Vary of board pages: a shared cache must keep the
// gzip and the plain representation apart. (A slice, so it is appended to
// any Vary already set, e.g. Origin by CORS; never modified.)
var varyEncoding = []string{"Accept-Encoding"}

// Handlers serves the jobs API.
type Handlers struct {
	svc     *Service
	cursors *httpx.Cursors
}

// NewHandlers builds the HTTP layer; cursors signs the board's page cursors.
func NewHandlers(svc *Service, cursors *httpx.Cursors) *Handlers {
	return &Handlers{svc: svc, cursors: cursors}
}

// Register adds the jobs operations to r.
func (h *Handlers) Register(r *httpx.Router) {
	tags := []string{"jobs"}
	bearer := []map[string][]string{{"bearer": {}}}
	huma.Register(r.API, huma.Operation{
		OperationID: "list-jobs", Method: http.MethodGet, Path: "/v1/jobs", Tags: tags,
		Summary: "The public job board (published jobs open now), or with ?status= the caller's organisation's jobs",
		Responses: map[string]*huma.Response{"200": {
			Description: "A page of jobs.",
			Headers: map[string]*huma.Param{
				"ETag":          {Schema: &huma.Schema{Type: "string"}},
				"Cache-Control": {Schema: &huma.Schema{Type: "string"}},
			},
			Content: map[string]*huma.MediaType{"application/json": {
				Schema: r.API.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[httpx.Page[JobSummaryBody]](), true, "JobsPage"),
			}},
		}},
	}, h.list)
	huma.Register(r.API, huma.Operation{
		OperationID: "get-job", Method: http.MethodGet, Path: "/v1/jobs/{job_id}", Tags: tags,
		Summary: "A job: published and closed ones to anyone, drafts to staff of its organisation",
	}, h.get)
	huma.Register(r.API, huma.Operation{
		OperationID: "create-job", Method: http.MethodPost, Path: "/v1/jobs", Tags: tags, Security: bearer,
		Summary: "Create a draft job (recruiter, org_admin)", DefaultStatus: http.StatusCreated,
	}, h.create)
	huma.Register(r.API, huma.Operation{
		OperationID: "update-job", Method: http.MethodPatch, Path: "/v1/jobs/{job_id}", Tags: tags, Security: bearer,
		Summary: "Change a draft or published job (If-Match required)",
	}, h.update)
	huma.Register(r.API, huma.Operation{
		OperationID: "publish-job", Method: http.MethodPost, Path: "/v1/jobs/{job_id}/publish", Tags: tags, Security: bearer,
		Summary: "Publish a draft (If-Match required)",
	}, h.action((*Service).Publish))
	huma.Register(r.API, huma.Operation{
		OperationID: "close-job", Method: http.MethodPost, Path: "/v1/jobs/{job_id}/close", Tags: tags, Security: bearer,
		Summary: "Close a published job (If-Match required)",
	}, h.action((*Service).Close))
}

func (h *Handlers) create(ctx context.Context, in *createIn) (*jobOut, error) {
	p, err := authz.Require(ctx, WriterRoles...)
	if err != nil {
		return nil, err
	}
	b := in.Body
	j, err := h.svc.Create(ctx, p, Input{
		Title: b.Title, Department: b.Department, Description: b.Description, Location: b.Location,
		Province: b.Province, Grade: b.Grade, Positions: b.Positions, OpensAt: b.OpensAt, ClosesAt: b.ClosesAt,
		Criteria: b.Criteria.input(),
	})
	if err != nil {
		return nil, err
	}
	now := h.svc.now()
	return &jobOut{Status: http.StatusCreated, ETag: j.ETag(now), Location: "/v1/jobs/" + j.ID.String(),
		CacheControl: "no-store", Body: jobBody(j, now)}, nil
}

func (h *Handlers) update(ctx context.Context, in *patchIn) (*jobOut, error) {
	p, err := authz.Require(ctx, WriterRoles...)
	if err != nil {
		return nil, err
	}
	id, err := httpx.PathID(in.JobID, ErrNotFound)
	if err != nil {
		return nil, err
	}
	b := in.Body
	patch := Patch{
		Title: b.Title, Department: b.Department, Description: b.Description, Location: b.Location,
		Province: b.Province, Grade: b.Grade, Positions: b.Positions, OpensAt: b.OpensAt, ClosesAt: b.ClosesAt,
	}
	if b.Criteria != nil {
		c := b.Criteria.input()
		patch.Criteria = &c
	}
	j, err := h.svc.Update(ctx, p, id, in.IfMatch, patch)
	if err != nil {
		return nil, err
	}
	now := h.svc.now()
	return &jobOut{Status: http.StatusOK, ETag: j.ETag(now), CacheControl: "no-store", Body: jobBody(j, now)}, nil
}

func (h *Handlers) action(fn func(*Service, context.Context, authz.Principal, uuid.UUID, string) (Job, error)) func(context.Context, *actionIn) (*jobOut, error) {
	return func(ctx context.Context, in *actionIn) (*jobOut, error) {
		p, err := authz.Require(ctx, WriterRoles...)
		if err != nil {
			return nil, err
		}
		id, err := httpx.PathID(in.JobID, ErrNotFound)
		if err != nil {
			return nil, err
		}
		j, err := fn(h.svc, ctx, p, id, in.IfMatch)
		if err != nil {
			return nil, err
		}
		now := h.svc.now()
		return &jobOut{Status: http.StatusOK, ETag: j.ETag(now), CacheControl: "no-store", Body: jobBody(j, now)}, nil
	}
}

// Cache lifetimes of public responses. A shared cache (CDN) may keep a
// response publicMaxAge seconds and serve it stale for publicSWR more while
// it revalidates; both are cut so that together they never reach past the
// earliest deadline the response shows.
const (
	publicMaxAge = 5
	publicSWR    = 5
)

// publicCacheControl is the Cache-Control of a public response that stays
// true until validUntil.
func publicCacheControl(now, validUntil time.Time) string {
	left := int(validUntil.Sub(now) / time.Second)
	maxAge := min(publicMaxAge, left)
	if maxAge <= 0 {
		return "public, no-cache"
	}
	swr := min(publicSWR, left-maxAge)
	if maxAge == publicMaxAge && swr == publicSWR {
		return publicCacheControlFull // the usual case, not formatted per request
	}
	return fmt.Sprintf("public, max-age=%d, s-maxage=%d, stale-while-revalidate=%d", maxAge, maxAge, swr)
}

var publicCacheControlFull = fmt.Sprintf("public, max-age=%d, s-maxage=%d, stale-while-revalidate=%d",
	publicMaxAge, publicMaxAge, publicSWR)

// acceptsGzip reports whether an Accept-Encoding header admits gzip
// (RFC 9110 §12.5.3): "gzip" or "x-gzip" with a non-zero weight, or "*"
// with a non-zero weight when gzip is not listed itself.
func acceptsGzip(header string) bool {
	if header == "" {
		return false
	}
	star := false
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "x-gzip" && coding != "*" {
			continue
		}
		ok := qNonZero(params)
		if coding == "*" {
			star = ok
			continue
		}
		return ok
	}
	return star
}

// qNonZero reports whether the parameters of an Accept-Encoding element
// leave its weight above zero ("q=0", "q=0.0", "q=0.000" exclude it).
func qNonZero(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		v = strings.TrimSpace(v)
		if v == "" || v[0] != '0' {
			return true
		}
		return strings.Trim(v[1:], ".0") != ""
	}
	return true
}

// noneMatch implements If-None-Match (weak comparison, "*" matches): it
// reports whether header names any of etags.
func noneMatch(header string, etags ...string) bool {
	if header == "" {
		return false
	}
	strip := func(t string) string { return strings.TrimPrefix(strings.TrimSpace(t), "W/") }
	for t := range strings.SplitSeq(header, ",") {
		if t = strings.TrimSpace(t); t == "*" {
			return true
		}
		for _, etag := range etags {
			if etag != "" && strip(t) == strip(etag) {
				return true
			}
		}
	}
	return false
}

func (h *Handlers) get(ctx context.Context, in *getIn) (*jobOut, error) {
	id, err := httpx.PathID(in.JobID, ErrNotFound)
	if err != nil {
		return nil, err
	}
	var pp *authz.Principal
	if p, ok := authz.FromContext(ctx); ok {
		pp = &p
	}
	j, err := h.svc.Get(ctx, pp, id)
	if err != nil {
		return nil, err
	}
	now := h.svc.now()
	out := &jobOut{Status: http.StatusOK, ETag: j.ETag(now)}
	switch j.EffectiveStatus(now) {
	case StatusPublished:
		out.CacheControl = publicCacheControl(now, j.ClosesAt)
	case StatusClosed:
		out.CacheControl = publicCacheControl(now, now.Add(time.Hour))
	default:
		// Drafts are for their organisation's staff only.
		out.CacheControl = "private, no-store"
	}
	if noneMatch(in.IfNoneMatch, out.ETag) {
		out.Status = http.StatusNotModified
		return out, nil
	}
	out.Body = jobBody(j, now)
	return out, nil
}

// boardKey identifies a board request in the cache: every parameter that
// changes the answer.
type boardKey struct {
	OrgID      string `json:"o,omitempty"`
	Province   string `json:"p,omitempty"`
	Department string `json:"d,omitempty"`
	Q          string `json:"q,omitempty"`
	Limit      int    `json:"l"`
	Cursor     string `json:"c,omitempty"`
}

func (k boardKey) hash() string {
	b, _ := json.Marshal(k)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// cacheKey is the request's key in the board cache: a hash of every
// parameter, each length-prefixed so no two requests share a key. Cheaper
// than hash (no JSON), it is computed on every request.
func (k boardKey) cacheKey() string {
	var buf [512]byte
	b := buf[:0]
	for _, f := range [...]string{k.OrgID, k.Province, k.Department, k.Q, k.Cursor} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	b = binary.AppendUvarint(b, uint64(k.Limit))
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// filterList names a cursor's list, filters included, so that a cursor
// from one search cannot be replayed against another (400, not a wrong
// page).
func filterList(prefix string, k boardKey) string {
	k.Limit, k.Cursor = 0, ""
	return prefix + ":" + k.hash()
}

func (h *Handlers) list(ctx context.Context, in *listIn) (*listOut, error) {
	if in.Status != "" {
		return h.listStaff(ctx, in)
	}
	q := BoardQuery{Limit: in.Limit}
	var v apperr.Validator
	if in.OrgID != "" {
		id, err := uuid.Parse(in.OrgID)
		v.Check(err == nil, "query.org_id", "must be a UUID")
		q.OrgID = &id
	}
	if in.Province != "" {
		p := vocab.Province(strings.ToLower(in.Province))
		v.Check(p.Valid(), "query.province", "must be one of "+vocab.Words(vocab.Provinces))
		q.Province = &p
	}
	if in.Department != "" {
		q.Department = &in.Department
	}
	if in.Q != "" {
		q.Q = &in.Q
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	q = q.Normalize()
	key := boardKey{Limit: q.Limit, Cursor: in.Cursor}
	if q.OrgID != nil {
		key.OrgID = q.OrgID.String()
	}
	if q.Province != nil {
		key.Province = string(*q.Province)
	}
	if q.Department != nil {
		key.Department = strings.ToLower(*q.Department)
	}
	if q.Q != nil {
		key.Q = *q.Q
	}
	// The cursor's list name is only needed to read a cursor or to make one
	// (on a miss); a hit on the first page never computes it.
	list := func() string { return filterList("jobs.board", key) }
	if in.Cursor != "" {
		var c BoardCursor
		if err := h.cursors.Decode(list(), in.Cursor, &c); err != nil {
			return nil, err
		}
		q.After = &c
	}
	page, err := h.svc.boardPage(ctx, q, key.cacheKey(), func(p BoardPage) ([]byte, error) {
		out := httpx.Page[JobSummaryBody]{Items: make([]JobSummaryBody, len(p.Items))}
		for i, s := range p.Items {
			out.Items[i] = summaryBody(s)
		}
		if p.Next != nil {
			c, err := h.cursors.Encode(list(), p.Next)
			if err != nil {
				return nil, err
			}
			out.NextCursor = &c
		}
		return json.Marshal(out)
	})
	if err != nil {
		return nil, err
	}
	now := h.svc.now()
	out := &listOut{Status: http.StatusOK, ETag: page.ETag, ContentType: "application/json",
		CacheControl: publicCacheControl(now, page.Expires), Vary: varyEncoding}
	gz := page.Gzip != nil && acceptsGzip(in.AcceptEncoding)
	if gz {
		out.ETag = page.gzipETag
	}
	// Either representation's tag is current: a client (or CDN) holding the
	// other one still has the page.
	if noneMatch(in.IfNoneMatch, page.ETag, page.gzipETag) {
		out.Status, out.ContentType = http.StatusNotModified, ""
		return out, nil
	}
	// An explicit Content-Length: no chunked framing.
	out.Body, out.ContentLength = page.Body, page.bodyLen
	if gz {
		out.Body, out.ContentLength, out.ContentEncoding = page.Gzip, page.gzipLen, "gzip"
	}
	return out, nil
}

func (h *Handlers) listStaff(ctx context.Context, in *listIn) (*listOut, error) {
	p, err := authz.Require(ctx, authz.StaffRoles...)
	if err != nil {
		return nil, err
	}
	if in.OrgID != "" && in.OrgID != p.OrgID.String() {
		// Staff list only their own organisation.
		return nil, apperr.ErrNotFound
	}
	q := StaffQuery{Limit: in.Limit}
	if in.Status != "all" {
		q.Status = Status(in.Status)
	}
	if in.Q != "" {
		q.Q = &in.Q
	}
	list := "jobs.staff:" + p.OrgID.String() + ":" + in.Status + ":" + strings.ToLower(strings.TrimSpace(in.Q))
	if in.Cursor != "" {
		var before uuid.UUID
		if err := h.cursors.Decode(list, in.Cursor, &before); err != nil {
			return nil, err
		}
		q.Before = &before
	}
	items, next, err := h.svc.ListOrg(ctx, p, q)
	if err != nil {
		return nil, err
	}
	out := httpx.Page[JobSummaryBody]{Items: make([]JobSummaryBody, len(items))}
	for i, s := range items {
		out.Items[i] = summaryBody(s)
	}
	if next != nil {
		c, err := h.cursors.Encode(list, next)
		if err != nil {
			return nil, err
		}
		out.NextCursor = &c
	}
	body, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return &listOut{Status: http.StatusOK, ContentType: "application/json", CacheControl: "private, no-store", Body: body}, nil
}

// boardPage returns the rendered page for q, from the cache when it has it.
// Concurrent misses of one page on one replica share a single database
// read.
func (s *Service) boardPage(ctx context.Context, q BoardQuery, key string, render func(BoardPage) ([]byte, error)) (cachedPage, error) {
	now := s.now()
	build := func(ctx context.Context) (cachedPage, error) {
		p, err := s.Board(ctx, q)
		if err != nil {
			return cachedPage{}, err
		}
		body, err := render(p)
		if err != nil {
			return cachedPage{}, err
		}
		sum := sha256.Sum256(body)
		expires := p.ValidUntil
		if s.cache != nil && p.At.Add(s.cache.ttl).Before(expires) {
			expires = p.At.Add(s.cache.ttl)
		}
		page := cachedPage{Body: body, ETag: `"b` + hex.EncodeToString(sum[:12]) + `"`, Expires: expires}
		if s.cache == nil {
			// Nothing would reuse a compressed copy: compressing every
			// response is a different trade-off (CPU for bytes), not taken.
			return page.derive(), nil
		}
		return page.compressed()
	}
	if s.cache == nil {
		return build(ctx)
	}
	if p, ok := s.cache.getLocal(key, now); ok {
		return *p, nil
	}
	localGen := s.cache.localGen.Load()
	gen, hit, err := s.cache.get(ctx, key, now)
	if err != nil {
		// Redis trouble must not take the board down: read the database.
		s.logger.WarnContext(ctx, "jobs: board cache read failed", "error", err)
		return build(ctx)
	}
	if hit != nil {
		s.cache.setLocal(key, *hit, now, localGen)
		return *hit, nil
	}
	v, err, _ := s.cache.sf.Do(gen+":"+key, func() (any, error) {
		// Shared by every waiting request: not cancelled by the first one's
		// client going away.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		p, err := build(sctx)
		if err != nil {
			return nil, err
		}
		s.cache.set(sctx, gen, key, p, s.now())
		s.cache.setLocal(key, p, now, localGen)
		return p, nil
	})
	if err != nil {
		return cachedPage{}, err
	}
	return v.(cachedPage), nil
}
