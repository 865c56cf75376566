package httpx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/logx"
)

type itemIn struct {
	Body struct {
		Name  string   `json:"name" minLength:"1" maxLength:"20"`
		Count int      `json:"count,omitempty" minimum:"0"`
		Tags  []string `json:"tags,omitempty"`
	}
}

type itemOut struct {
	Body struct {
		Name string `json:"name"`
	}
}

type actionIn struct {
	Body *struct{} `required:"false"`
}

// logBuffer collects log output so tests can check what was (not) logged.
type logBuffer struct{ bytes.Buffer }

func newTestServer(t *testing.T, cfg httpx.RouterConfig) (*httptest.Server, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	logger := logx.Discard()
	if cfg.Title == "" {
		cfg.Title = "test"
	}
	logger = newJSONLogger(&logs.Buffer)
	r, err := httpx.NewRouter(cfg, logger, httpx.NewHTTPMetrics(nil))
	require.NoError(t, err)
	huma.Register(r.API, huma.Operation{OperationID: "create-item", Method: http.MethodPost, Path: "/v1/items"},
		func(ctx context.Context, in *itemIn) (*itemOut, error) {
			switch in.Body.Name {
			case "dup":
				return nil, apperr.New(apperr.KindConflict, "duplicate_item", "an item with this name exists")
			case "secret":
				return nil, fmt.Errorf("pq: relation \"items\" violates SELECT * FROM secret_table WHERE cnic='35202-1234567-1'")
			case "panic":
				panic("kaboom")
			case "invalid":
				return nil, apperr.Invalid(apperr.Field("body.name", "must not be invalid"))
			case "slow-down":
				return nil, apperr.New(apperr.KindTooManyRequests, "rate_limited", "slow down").WithRetryAfter(1500_000_000)
			}
			out := &itemOut{}
			out.Body.Name = in.Body.Name
			return out, nil
		})
	huma.Register(r.API, huma.Operation{OperationID: "act", Method: http.MethodPost, Path: "/v1/items/{id}/act"},
		func(ctx context.Context, in *actionIn) (*struct{}, error) { return nil, nil })
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, logs
}

type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	RequestID string `json:"request_id"`
	Errors    []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
	} `json:"errors"`
}

func do(t *testing.T, method, url, contentType, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func TestDecodingAndErrorWriter(t *testing.T) {
	t.Parallel()
	srv, logs := newTestServer(t, httpx.RouterConfig{MaxBodyBytes: 2048})
	url := srv.URL + "/v1/items"
	cases := []struct {
		name, contentType, body string
		status                  int
		code                    string
		location                string
	}{
		{"valid", "application/json", `{"name":"ok"}`, 200, "", ""},
		{"no content type is read as JSON", "", `{"name":"ok"}`, 200, "", ""},
		{"json with charset", "application/json; charset=utf-8", `{"name":"ok"}`, 200, "", ""},
		{"unknown field", "application/json", `{"name":"ok","role":"platform_admin"}`, 422, "validation_failed", "body.role"},
		{"trailing data", "application/json", `{"name":"ok"} {"name":"again"}`, 400, "malformed_request", ""},
		{"truncated", "application/json", `{"name":`, 400, "malformed_request", ""},
		{"not an object", "application/json", `[1,2]`, 422, "validation_failed", "body"},
		{"wrong type", "application/json", `{"name":5}`, 422, "validation_failed", "body.name"},
		{"constraint", "application/json", `{"name":""}`, 422, "validation_failed", "body.name"},
		{"wrong content type", "text/plain", `{"name":"ok"}`, 415, "unsupported_media_type", ""},
		{"form content type", "application/x-www-form-urlencoded", `name=ok`, 415, "unsupported_media_type", ""},
		{"empty body where one is required", "application/json", ``, 400, "malformed_request", ""},
		{"too large", "application/json", `{"name":"` + strings.Repeat("a", 4096) + `"}`, 413, "body_too_large", ""},
		{"domain conflict", "application/json", `{"name":"dup"}`, 409, "duplicate_item", ""},
		{"domain validation", "application/json", `{"name":"invalid"}`, 422, "validation_failed", "body.name"},
		{"internal error hides its text", "application/json", `{"name":"secret"}`, 500, "internal", ""},
		{"panic", "application/json", `{"name":"panic"}`, 500, "internal", ""},
		{"rate limited", "application/json", `{"name":"slow-down"}`, 429, "rate_limited", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := do(t, http.MethodPost, url, c.contentType, c.body)
			require.Equal(t, c.status, resp.StatusCode, string(body))
			require.NotEmpty(t, resp.Header.Get("X-Request-ID"))
			if c.status < 400 {
				return
			}
			require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
			var p problem
			require.NoError(t, json.Unmarshal(body, &p), string(body))
			require.Equal(t, c.code, p.Code)
			require.Equal(t, c.status, p.Status)
			require.Equal(t, "urn:pvara:problem:"+c.code, p.Type)
			require.NotEmpty(t, p.Title)
			require.Equal(t, resp.Header.Get("X-Request-ID"), p.RequestID)
			if c.location != "" {
				require.NotEmpty(t, p.Errors, string(body))
				require.Equal(t, c.location, p.Errors[0].Location)
			}
			// Nothing internal ever reaches the client.
			for _, leak := range []string{"SELECT", "secret_table", "35202", "kaboom", "goroutine", ".go:"} {
				require.NotContains(t, string(body), leak)
			}
		})
	}
	// The internal error and the panic are in the log, with the request id.
	require.Contains(t, logs.String(), "secret_table")
	require.Contains(t, logs.String(), "kaboom")
	require.Contains(t, logs.String(), `"stack"`)
}

func TestRetryAfterHeader(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t, httpx.RouterConfig{})
	resp, _ := do(t, http.MethodPost, srv.URL+"/v1/items", "application/json", `{"name":"slow-down"}`)
	require.Equal(t, 429, resp.StatusCode)
	require.Equal(t, "2", resp.Header.Get("Retry-After"), "1.5 s rounds up")
}

func TestValidationNeverEchoesValues(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t, httpx.RouterConfig{})
	resp, body := do(t, http.MethodPost, srv.URL+"/v1/items", "application/json", `{"name":"ok","cnic":"35202-1234567-1"}`)
	require.Equal(t, 422, resp.StatusCode)
	require.NotContains(t, string(body), "35202")
	resp, body = do(t, http.MethodPost, srv.URL+"/v1/items", "application/json", `{"name":"35202-1234567-1-way-too-long-name"}`)
	require.Equal(t, 422, resp.StatusCode)
	require.NotContains(t, string(body), "35202")
}

func TestActionEndpointsAcceptEmptyBodyOrEmptyObject(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t, httpx.RouterConfig{})
	url := srv.URL + "/v1/items/1/act"
	for _, c := range []struct{ ct, body string }{{"", ""}, {"application/json", ""}, {"application/json", "{}"}, {"", "{}"}} {
		resp, body := do(t, http.MethodPost, url, c.ct, c.body)
		require.Less(t, resp.StatusCode, 300, "content type %q body %q: %s", c.ct, c.body, body)
	}
	resp, _ := do(t, http.MethodPost, url, "application/json", `{"x":1}`)
	require.Equal(t, 422, resp.StatusCode)
}

func TestRoutingProblems(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t, httpx.RouterConfig{})
	resp, body := do(t, http.MethodGet, srv.URL+"/v1/nowhere", "", "")
	require.Equal(t, 404, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	var p problem
	require.NoError(t, json.Unmarshal(body, &p))
	require.Equal(t, "not_found", p.Code)
	require.Equal(t, resp.Header.Get("X-Request-ID"), p.RequestID)

	resp, body = do(t, http.MethodDelete, srv.URL+"/v1/items", "", "")
	require.Equal(t, 405, resp.StatusCode)
	require.NoError(t, json.Unmarshal(body, &p))
	require.Equal(t, "method_not_allowed", p.Code)
}

func TestRequestIDAndSecurityHeaders(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t, httpx.RouterConfig{})
	resp, _ := do(t, http.MethodPost, srv.URL+"/v1/items", "application/json", `{"name":"ok"}`, "X-Request-ID", "abc-123.DEF_4:5")
	require.Equal(t, "abc-123.DEF_4:5", resp.Header.Get("X-Request-ID"), "a sane inbound id is kept")
	for _, bad := range []string{"has space", "x\"><script>", strings.Repeat("a", 129), "é"} {
		resp, _ = do(t, http.MethodPost, srv.URL+"/v1/items", "application/json", `{"name":"ok"}`, "X-Request-ID", bad)
		got := resp.Header.Get("X-Request-ID")
		require.NotEqual(t, bad, got)
		require.Len(t, got, 36, "a generated UUID replaces %q", bad)
	}
	require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	require.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	require.NotEmpty(t, resp.Header.Get("Content-Security-Policy"))
	require.NotEmpty(t, resp.Header.Get("Strict-Transport-Security"))
}

func TestCORSAllowList(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t, httpx.RouterConfig{CORSOrigins: []string{"https://portal.example.gov.pk"}})
	resp, _ := do(t, http.MethodOptions, srv.URL+"/v1/items", "", "",
		"Origin", "https://portal.example.gov.pk", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "Content-Type, Idempotency-Key")
	require.Equal(t, "https://portal.example.gov.pk", resp.Header.Get("Access-Control-Allow-Origin"))
	resp, _ = do(t, http.MethodOptions, srv.URL+"/v1/items", "", "",
		"Origin", "https://evil.example.com", "Access-Control-Request-Method", "POST")
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
}

func TestOpenAPIIs31(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t, httpx.RouterConfig{})
	resp, body := do(t, http.MethodGet, srv.URL+"/v1/openapi.json", "", "")
	require.Equal(t, 200, resp.StatusCode)
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(body, &doc))
	require.Equal(t, "3.1.0", doc.OpenAPI)
	require.Contains(t, doc.Paths, "/v1/items")
}
