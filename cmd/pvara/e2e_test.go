package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/auth"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// e2e is the whole application against real services: PostgreSQL, Redis,
// a Kafka-protocol broker (kfake) and every worker role running, with the
// API served over HTTP. Tests drive it only through the public API (and the
// operator commands), as a client would.
type e2e struct {
	t   *testing.T
	app *app
	db  *testenv.DB
	url string
	// brokers are the Kafka seed brokers, for independent clients.
	brokers []string
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	kafka := testenv.NewKafka(t)
	d := testenv.NewDB(t)
	cfg := testConfig(t, d)
	cfg.Kafka.Brokers = kafka.ListenAddrs()
	cfg.Kafka.TopicPartitions = 2
	cfg.Outbox.PollMax = 10 * time.Millisecond
	// One client IP drives everything: lift the per-IP limits.
	cfg.RateLimit.Requests = 1_000_000
	cfg.RateLimit.AuthRequests = 1_000_000
	cfg.Auth.RegisterIPLimit = 1_000_000
	require.NoError(t, cfg.Validate())
	a, err := openApp(context.Background(), cfg, logx.Discard())
	require.NoError(t, err)
	t.Cleanup(a.Close)
	r, err := a.router()
	require.NoError(t, err)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.runRoles(ctx, knownRoles) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Error("worker roles did not stop")
		}
	})
	return &e2e{t: t, app: a, db: d, url: srv.URL, brokers: cfg.Kafka.Brokers}
}

// call sends a JSON request and decodes a JSON answer into out (when not nil);
// it returns the status and the raw body.
func (e *e2e) call(method, path, token string, body any, out any, hdr ...string) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(e.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	require.NoError(e.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	if out != nil && resp.StatusCode < 300 && len(raw) > 0 {
		require.NoError(e.t, json.Unmarshal(raw, out), string(raw))
	}
	return resp.StatusCode, raw
}

// must is call that requires the status.
func (e *e2e) must(status int, method, path, token string, body any, out any, hdr ...string) []byte {
	e.t.Helper()
	got, raw := e.call(method, path, token, body, out, hdr...)
	require.Equal(e.t, status, got, "%s %s: %s", method, path, raw)
	return raw
}

func (e *e2e) login(email, password string) string {
	e.t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	e.must(200, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": password}, &tok)
	require.NotEmpty(e.t, tok.AccessToken)
	return tok.AccessToken
}

// org is an organisation with its admin and a recruiter, all signed in.
type org struct {
	ID        string
	Admin     string
	Recruiter string
}

// platformAdmin creates the first platform admin as `pvara admin create`
// does, and signs in.
func (e *e2e) platformAdmin() string {
	e.t.Helper()
	_, _, err := e.app.auth.CreatePlatformAdmin(context.Background(), auth.AdminInput{
		Email: "root@pvara.test", Password: "correct horse battery staple", FullName: "Platform Admin",
	})
	require.NoError(e.t, err)
	return e.login("root@pvara.test", "correct horse battery staple")
}

// newOrg creates an organisation, its admin and a recruiter through the API.
func (e *e2e) newOrg(platformToken, slug string) org {
	e.t.Helper()
	var o struct {
		ID string `json:"id"`
	}
	e.must(201, "POST", "/v1/orgs", platformToken, map[string]string{"name": "Org " + slug, "slug": slug}, &o)
	pw := "a long enough passphrase for " + slug
	e.must(201, "POST", "/v1/orgs/"+o.ID+"/staff", platformToken, map[string]string{
		"email": "admin@" + slug + ".test", "full_name": "Admin " + slug, "role": "org_admin", "password": pw,
	}, nil)
	admin := e.login("admin@"+slug+".test", pw)
	e.must(201, "POST", "/v1/orgs/"+o.ID+"/staff", admin, map[string]string{
		"email": "recruiter@" + slug + ".test", "full_name": "Recruiter " + slug, "role": "recruiter", "password": pw,
	}, nil)
	return org{ID: o.ID, Admin: admin, Recruiter: e.login("recruiter@"+slug+".test", pw)}
}

// candidate registers a candidate with a complete profile and signs in.
func (e *e2e) candidate(email, cnic string, profile map[string]any) string {
	e.t.Helper()
	pw := "my candidate passphrase " + cnic
	e.must(201, "POST", "/v1/auth/register", "", map[string]string{
		"email": email, "password": pw, "full_name": "Candidate " + cnic, "cnic": cnic, "phone": "+923001234567",
	}, nil)
	tok := e.login(email, pw)
	e.must(200, "PUT", "/v1/me/profile", tok, profile, nil)
	return tok
}

// publishJob creates and publishes a job open now for a month.
func (e *e2e) publishJob(recruiter string, body map[string]any) string {
	e.t.Helper()
	var j struct {
		ID      string `json:"id"`
		Version int    `json:"version"`
	}
	e.must(201, "POST", "/v1/jobs", recruiter, body, &j)
	e.must(200, "POST", "/v1/jobs/"+j.ID+"/publish", recruiter, nil, nil, "If-Match", `"v`+strconv.Itoa(j.Version)+`"`)
	return j.ID
}
