package auth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/authz"
)

type tokenReq struct {
	form        url.Values
	basicID     string
	basicSecret string
	contentType string
}

func (e *env) token(t *testing.T, q tokenReq) (int, map[string]any, http.Header) {
	t.Helper()
	hr, err := http.NewRequest("POST", e.srv.URL+"/oauth2/token", strings.NewReader(q.form.Encode()))
	require.NoError(t, err)
	ct := q.contentType
	if ct == "" {
		ct = "application/x-www-form-urlencoded"
	}
	hr.Header.Set("Content-Type", ct)
	if q.basicID != "" {
		hr.SetBasicAuth(url.QueryEscape(q.basicID), url.QueryEscape(q.basicSecret))
	}
	res, err := http.DefaultClient.Do(hr)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), "%s", b)
	require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	return res.StatusCode, m, res.Header
}

func TestOAuthClientCredentials(t *testing.T) {
	t.Parallel()
	e := setup(t)
	w := e.world(t)
	r := e.do(t, req{method: "POST", path: "/v1/orgs/" + w.orgA.String() + "/clients", token: w.adminA.AccessToken,
		body: map[string]any{"name": "HR integration", "scopes": []string{"jobs:read", "applications:read"}}})
	require.Equal(t, http.StatusCreated, r.StatusCode, "%s", r.body)
	c := r.json(t)
	cid, secret, id := c["client_id"].(string), c["client_secret"].(string), c["id"].(string)
	require.NotEmpty(t, secret)
	// The secret is shown once: the list does not carry it, the database
	// holds only its digest.
	list := e.do(t, req{method: "GET", path: "/v1/orgs/" + w.orgA.String() + "/clients", token: w.adminA.AccessToken})
	require.NotContains(t, string(list.body), secret)
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM auth.clients WHERE secret_hash = sha256(convert_to($1, 'UTF8'))`, secret))
	// Unknown scopes are refused at creation.
	r = e.do(t, req{method: "POST", path: "/v1/orgs/" + w.orgA.String() + "/clients", token: w.adminA.AccessToken,
		body: map[string]any{"name": "x", "scopes": []string{"root"}}})
	require.Equal(t, http.StatusUnprocessableEntity, r.StatusCode)

	// HTTP Basic, all scopes.
	status, body, _ := e.token(t, tokenReq{form: url.Values{"grant_type": {"client_credentials"}}, basicID: cid, basicSecret: secret})
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Equal(t, "Bearer", body["token_type"])
	require.Equal(t, "applications:read jobs:read", body["scope"])
	require.Nil(t, body["refresh_token"], "no refresh token for client_credentials")
	p, err := e.svc.Verifier().Verify(context.Background(), body["access_token"].(string))
	require.NoError(t, err)
	require.Equal(t, authz.RoleClient, p.Role)
	require.Equal(t, w.orgA, p.OrgID)
	require.Equal(t, cid, p.ClientID)
	require.True(t, p.HasScope("jobs:read"))
	// A client has no account.
	me := e.do(t, req{method: "GET", path: "/v1/me", token: body["access_token"].(string)})
	require.Equal(t, http.StatusForbidden, me.StatusCode)
	// A client is not an org admin.
	r = e.do(t, req{method: "GET", path: "/v1/orgs/" + w.orgA.String() + "/staff", token: body["access_token"].(string)})
	require.Equal(t, http.StatusForbidden, r.StatusCode)

	// Form authentication, a narrower scope.
	status, body, _ = e.token(t, tokenReq{form: url.Values{"grant_type": {"client_credentials"}, "client_id": {cid}, "client_secret": {secret}, "scope": {"jobs:read"}}})
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Equal(t, "jobs:read", body["scope"])
	clientToken := body["access_token"].(string)

	for name, tc := range map[string]struct {
		q      tokenReq
		status int
		code   string
	}{
		"wrong secret":          {tokenReq{form: url.Values{"grant_type": {"client_credentials"}}, basicID: cid, basicSecret: secret + "x"}, 401, "invalid_client"},
		"unknown client":        {tokenReq{form: url.Values{"grant_type": {"client_credentials"}}, basicID: "pvc_nobodynobodynobody", basicSecret: secret}, 401, "invalid_client"},
		"no credentials":        {tokenReq{form: url.Values{"grant_type": {"client_credentials"}}}, 401, "invalid_client"},
		"scope not granted":     {tokenReq{form: url.Values{"grant_type": {"client_credentials"}, "scope": {"audit:read"}}, basicID: cid, basicSecret: secret}, 400, "invalid_scope"},
		"password grant":        {tokenReq{form: url.Values{"grant_type": {"password"}, "username": {"a"}, "password": {"b"}}, basicID: cid, basicSecret: secret}, 400, "unsupported_grant_type"},
		"unknown grant":         {tokenReq{form: url.Values{"grant_type": {"magic"}}}, 400, "unsupported_grant_type"},
		"no grant":              {tokenReq{form: url.Values{}}, 400, "invalid_request"},
		"JSON body":             {tokenReq{form: url.Values{"grant_type": {"client_credentials"}}, contentType: "application/json"}, 400, "invalid_request"},
		"repeated parameter":    {tokenReq{form: url.Values{"grant_type": {"client_credentials", "client_credentials"}}, basicID: cid, basicSecret: secret}, 400, "invalid_request"},
		"two auth methods":      {tokenReq{form: url.Values{"grant_type": {"client_credentials"}, "client_secret": {secret}}, basicID: cid, basicSecret: secret}, 400, "invalid_request"},
		"bad refresh token":     {tokenReq{form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}}, 400, "invalid_grant"},
		"missing refresh token": {tokenReq{form: url.Values{"grant_type": {"refresh_token"}}}, 400, "invalid_request"},
	} {
		status, body, h := e.token(t, tc.q)
		require.Equal(t, tc.status, status, "%s: %v", name, body)
		require.Equal(t, tc.code, body["error"], name)
		if status == 401 && tc.q.basicID != "" {
			require.Contains(t, h.Get("WWW-Authenticate"), "Basic", name)
		}
	}
	require.GreaterOrEqual(t, e.count(t, `SELECT count(*) FROM platform.audit_log WHERE action = 'auth.client_auth_failed'`), 2)

	// Revocation: the secret stops working and so do its tokens.
	r = e.do(t, req{method: "DELETE", path: "/v1/orgs/" + w.orgA.String() + "/clients/" + id, token: w.adminA.AccessToken})
	require.Equal(t, http.StatusNoContent, r.StatusCode, "%s", r.body)
	status, body, _ = e.token(t, tokenReq{form: url.Values{"grant_type": {"client_credentials"}}, basicID: cid, basicSecret: secret})
	require.Equal(t, 401, status)
	require.Equal(t, "invalid_client", body["error"])
	_, err = e.svc.Verifier().Verify(context.Background(), clientToken)
	require.Error(t, err)
	// Org B's admin cannot revoke (or see) org A's clients.
	r = e.do(t, req{method: "DELETE", path: "/v1/orgs/" + w.orgB.String() + "/clients/" + id, token: w.adminB.AccessToken})
	require.Equal(t, http.StatusNotFound, r.StatusCode)
}

func TestOAuthRefreshTokenGrant(t *testing.T) {
	t.Parallel()
	e := setup(t)
	_, p := e.candidate(t)
	status, body, _ := e.token(t, tokenReq{form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {p.RefreshToken}}})
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Equal(t, "Bearer", body["token_type"])
	require.NotEqual(t, p.RefreshToken, body["refresh_token"])
	require.EqualValues(t, 900, body["expires_in"])
	// The spent token is reuse: invalid_grant, and the session is revoked.
	status, body2, _ := e.token(t, tokenReq{form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {p.RefreshToken}}})
	require.Equal(t, 400, status)
	require.Equal(t, "invalid_grant", body2["error"])
	status, _, _ = e.token(t, tokenReq{form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {body["refresh_token"].(string)}}})
	require.Equal(t, 400, status)
	// Scopes are not part of a person's session.
	_, p = e.candidate(t)
	status, body, _ = e.token(t, tokenReq{form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {p.RefreshToken}, "scope": {"jobs:read"}}})
	require.Equal(t, 400, status)
	require.Equal(t, "invalid_scope", body["error"])
}

func TestOpenAPIDocumentsTheAuthRoutes(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do(t, req{method: "GET", path: "/v1/openapi.json"})
	require.Equal(t, http.StatusOK, r.StatusCode)
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(r.body, &doc))
	for path, method := range map[string]string{
		"/v1/auth/register": "post", "/v1/auth/login": "post", "/v1/auth/refresh": "post", "/v1/auth/logout": "post",
		"/v1/me": "get", "/oauth2/token": "post", "/.well-known/jwks.json": "get", "/v1/orgs": "post",
		"/v1/orgs/{org_id}/staff": "post", "/v1/users/{user_id}/disable": "post", "/v1/orgs/{org_id}/clients": "post",
	} {
		require.Contains(t, doc.Paths, path)
		require.Contains(t, doc.Paths[path], method, path)
	}
	require.Contains(t, string(r.body), "application/x-www-form-urlencoded")
}
