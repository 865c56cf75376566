package auth

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
)

// TokenPath is the OAuth 2.0 token endpoint.
const TokenPath = "/oauth2/token"

// oauthResponse is an RFC 6749 section 5.1 success body.
type oauthResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// oauthErrorBody is an RFC 6749 section 5.2 error body.
type oauthErrorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

func writeOAuth(w http.ResponseWriter, status int, body any) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// tokenEndpoint serves POST /oauth2/token. It is a plain handler because the
// body is application/x-www-form-urlencoded and the answers are RFC 6749
// bodies, not problem+json; registerTokenEndpoint documents it in the
// OpenAPI document by hand.
func (s *Service) tokenEndpoint(w http.ResponseWriter, r *http.Request) {
	basicUsed := false
	fail := func(e *OAuthError) {
		if e.Status == http.StatusUnauthorized && basicUsed {
			w.Header().Set("WWW-Authenticate", `Basic realm="pvara", charset="UTF-8"`)
		}
		writeOAuth(w, e.Status, oauthErrorBody{Error: e.Code, ErrorDescription: e.Description})
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		fail(oauthErr("invalid_request", "the body must be application/x-www-form-urlencoded", 400))
		return
	}
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			fail(oauthErr("invalid_request", "the request body is too large", http.StatusRequestEntityTooLarge))
			return
		}
		fail(oauthErr("invalid_request", "the body cannot be parsed", 400))
		return
	}
	form := r.PostForm
	for k, v := range form {
		if len(v) > 1 {
			fail(oauthErr("invalid_request", "parameter "+k+" is repeated", 400))
			return
		}
	}
	// Client authentication: HTTP Basic (values form-encoded, RFC 6749
	// section 2.3.1) or client_id/client_secret in the body, not both.
	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		basicUsed = true
		if secret != "" {
			fail(oauthErr("invalid_request", "use one client authentication method", 400))
			return
		}
		formID := clientID
		var e1, e2 error
		if clientID, e1 = url.QueryUnescape(u); e1 == nil {
			secret, e2 = url.QueryUnescape(p)
		}
		if e1 != nil || e2 != nil {
			fail(errInvalidClient)
			return
		}
		if formID != "" && formID != clientID {
			fail(oauthErr("invalid_request", "client_id differs from the authenticated client", 400))
			return
		}
	} else if r.Header.Get("Authorization") != "" {
		basicUsed = true
		fail(errInvalidClient)
		return
	}
	ctx := r.Context()
	switch grant := form.Get("grant_type"); grant {
	case "":
		fail(oauthErr("invalid_request", "grant_type is required", 400))
	case "client_credentials":
		if clientID == "" || secret == "" {
			fail(errInvalidClient)
			return
		}
		tok, err := s.ClientCredentials(ctx, clientID, secret, strings.Fields(form.Get("scope")))
		if err != nil {
			s.oauthFail(w, r, err, fail)
			return
		}
		writeOAuth(w, http.StatusOK, oauthResponse{AccessToken: tok.AccessToken, TokenType: "Bearer",
			ExpiresIn: tok.ExpiresIn, Scope: strings.Join(tok.Scopes, " ")})
	case "refresh_token":
		if clientID != "" || secret != "" {
			// Our refresh tokens belong to people signed in through the
			// first-party (public) client; a confidential client that
			// authenticates anyway must authenticate correctly.
			if _, err := s.authenticateClient(ctx, clientID, secret); err != nil {
				s.oauthFail(w, r, err, fail)
				return
			}
		}
		if form.Get("scope") != "" {
			fail(oauthErr("invalid_scope", "a session's refresh token carries no scopes", 400))
			return
		}
		rt := form.Get("refresh_token")
		if rt == "" {
			fail(oauthErr("invalid_request", "refresh_token is required", 400))
			return
		}
		pair, err := s.Refresh(ctx, rt)
		if err != nil {
			s.oauthFail(w, r, err, fail)
			return
		}
		writeOAuth(w, http.StatusOK, oauthResponse{AccessToken: pair.AccessToken, TokenType: "Bearer",
			ExpiresIn: pair.ExpiresIn, RefreshToken: pair.RefreshToken})
	default:
		fail(oauthErr("unsupported_grant_type", "supported grant types: client_credentials, refresh_token", 400))
	}
}

// oauthFail maps a service error to an RFC 6749 answer.
func (s *Service) oauthFail(w http.ResponseWriter, r *http.Request, err error, fail func(*OAuthError)) {
	var oe *OAuthError
	if errors.As(err, &oe) {
		fail(oe)
		return
	}
	if ae, ok := apperr.As(err); ok {
		switch ae.Kind {
		case apperr.KindUnauthenticated:
			fail(oauthErr("invalid_grant", ae.Message, 400))
			return
		case apperr.KindUnavailable, apperr.KindTooManyRequests:
			w.Header().Set("Retry-After", "2")
			writeOAuth(w, http.StatusServiceUnavailable, oauthErrorBody{Error: "temporarily_unavailable", ErrorDescription: ae.Message})
			return
		}
	}
	s.logger.ErrorContext(r.Context(), "auth: token endpoint failed", "error", err)
	writeOAuth(w, http.StatusInternalServerError, oauthErrorBody{Error: "server_error", ErrorDescription: "an internal error occurred"})
}

// registerTokenEndpoint mounts the token endpoint on the router and adds it
// to the OpenAPI document.
func (s *Service) registerTokenEndpoint(r *httpx.Router) {
	r.Mux.Post(TokenPath, s.tokenEndpoint)
	oapi := r.API.OpenAPI()
	if oapi.Components.SecuritySchemes == nil {
		oapi.Components.SecuritySchemes = map[string]*huma.SecurityScheme{}
	}
	oapi.Components.SecuritySchemes["clientBasic"] = &huma.SecurityScheme{Type: "http", Scheme: "basic",
		Description: "OAuth client authentication: client_id and client_secret (RFC 6749 section 2.3.1)."}
	str := func(desc string, enum ...any) *huma.Schema {
		return &huma.Schema{Type: "string", Description: desc, Enum: enum}
	}
	errSchema := &huma.Schema{Type: "object", Required: []string{"error"}, Properties: map[string]*huma.Schema{
		"error":             str("RFC 6749 error code", "invalid_request", "invalid_client", "invalid_grant", "unsupported_grant_type", "invalid_scope", "temporarily_unavailable", "server_error"),
		"error_description": str("Human-readable explanation"),
	}}
	errResp := func(desc string) *huma.Response {
		return &huma.Response{Description: desc, Content: map[string]*huma.MediaType{"application/json": {Schema: errSchema}}}
	}
	oapi.AddOperation(&huma.Operation{
		OperationID: "oauth2-token", Method: http.MethodPost, Path: TokenPath, Tags: []string{tag},
		Summary: "OAuth 2.0 token endpoint (RFC 6749)",
		Description: "Form-encoded. grant_type=client_credentials issues an access token to an API client (client authentication by HTTP Basic or client_id/client_secret in the body; optional space-separated scope). " +
			"grant_type=refresh_token rotates a session's refresh token exactly like POST /v1/auth/refresh. There is no password grant. Responses carry Cache-Control: no-store.",
		Security: []map[string][]string{{"clientBasic": {}}, {}},
		RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
			"application/x-www-form-urlencoded": {Schema: &huma.Schema{Type: "object", Required: []string{"grant_type"}, Properties: map[string]*huma.Schema{
				"grant_type":    str("The grant", "client_credentials", "refresh_token"),
				"scope":         str("Space-separated scopes (client_credentials)"),
				"refresh_token": str("The refresh token (refresh_token grant)"),
				"client_id":     str("Client id, when not sent with HTTP Basic"),
				"client_secret": str("Client secret, when not sent with HTTP Basic"),
			}}},
		}},
		Responses: map[string]*huma.Response{
			"200": {Description: "RFC 6749 section 5.1 token response", Content: map[string]*huma.MediaType{"application/json": {Schema: &huma.Schema{
				Type: "object", Required: []string{"access_token", "token_type", "expires_in"},
				Properties: map[string]*huma.Schema{
					"access_token":  str("JWT access token"),
					"token_type":    str("Always Bearer", "Bearer"),
					"expires_in":    {Type: "integer", Description: "Seconds until the access token expires"},
					"refresh_token": str("The next refresh token (refresh_token grant only)"),
					"scope":         str("Granted scopes (client_credentials only)"),
				},
			}}}},
			"400": errResp("invalid_request, invalid_grant, unsupported_grant_type or invalid_scope"),
			"401": errResp("invalid_client"),
			"503": errResp("temporarily_unavailable"),
		},
	})
}
