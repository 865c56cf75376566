package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/auth"
)

var b64 = base64.RawURLEncoding

func segment(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b64.EncodeToString(b)
}

// forge builds a compact JWS from a header and claims, signed by sign
// (nil: no signature).
func forge(t *testing.T, header, claims map[string]any, sign func(input []byte) []byte) string {
	t.Helper()
	input := segment(t, header) + "." + segment(t, claims)
	sig := ""
	if sign != nil {
		sig = b64.EncodeToString(sign([]byte(input)))
	}
	return input + "." + sig
}

// TestJWTForgerySuite: every forged, stale or misdirected token gets 401
// from a protected route, never 500 and never 200.
func TestJWTForgerySuite(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u, pair := e.candidate(t)
	key := e.keys[0]
	pub := key.Private.Public().(ed25519.PublicKey)
	now := time.Now()

	// Decode the genuine token to start from its claims.
	parts := strings.Split(pair.AccessToken, ".")
	require.Len(t, parts, 3)
	var genuineHeader, genuine map[string]any
	hb, _ := b64.DecodeString(parts[0])
	cb, _ := b64.DecodeString(parts[1])
	require.NoError(t, json.Unmarshal(hb, &genuineHeader))
	require.NoError(t, json.Unmarshal(cb, &genuine))
	require.Equal(t, "EdDSA", genuineHeader["alg"])
	require.Equal(t, "at+jwt", genuineHeader["typ"])
	require.Equal(t, "test-1", genuineHeader["kid"])
	for _, c := range []string{"iss", "aud", "sub", "role", "exp", "iat", "nbf", "jti", "sid"} {
		require.Contains(t, genuine, c)
	}
	require.Equal(t, u.ID.String(), genuine["sub"])

	claims := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{}
		for k, v := range genuine {
			c[k] = v
		}
		if mod != nil {
			mod(c)
		}
		return c
	}
	edSign := func(k ed25519.PrivateKey) func([]byte) []byte {
		return func(in []byte) []byte { return ed25519.Sign(k, in) }
	}
	hdr := map[string]any{"alg": "EdDSA", "typ": "at+jwt", "kid": "test-1"}
	withHdr := func(mod func(map[string]any)) map[string]any {
		h := map[string]any{}
		for k, v := range hdr {
			h[k] = v
		}
		mod(h)
		return h
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	// Sanity: a token we forge with the real key and genuine claims passes,
	// so each case below fails for its one defect.
	ok := forge(t, hdr, claims(nil), edSign(key.Private))
	require.Equal(t, http.StatusOK, e.do(t, req{method: "GET", path: "/v1/me", token: ok}).StatusCode)

	cases := map[string]string{
		"alg none": forge(t, withHdr(func(h map[string]any) { h["alg"] = "none" }), claims(nil), nil),
		"alg none with signature": forge(t, withHdr(func(h map[string]any) { h["alg"] = "none" }), claims(nil),
			func([]byte) []byte { return []byte("x") }),
		"HS256 keyed with the public key": forge(t, withHdr(func(h map[string]any) { h["alg"] = "HS256" }), claims(nil),
			func(in []byte) []byte { m := hmac.New(sha256.New, pub); m.Write(in); return m.Sum(nil) }),
		"HS256 keyed with the JWK x value": forge(t, withHdr(func(h map[string]any) { h["alg"] = "HS256" }), claims(nil),
			func(in []byte) []byte {
				m := hmac.New(sha256.New, []byte(b64.EncodeToString(pub)))
				m.Write(in)
				return m.Sum(nil)
			}),
		"ES256 with an attacker key": func() string {
			s, err := jws.Sign([]byte(segment(t, claims(nil))), jws.WithKey(jwa.ES256, ecKey))
			require.NoError(t, err)
			return string(s)
		}(),
		"unknown kid":               forge(t, withHdr(func(h map[string]any) { h["kid"] = "nope" }), claims(nil), edSign(key.Private)),
		"missing kid":               forge(t, withHdr(func(h map[string]any) { delete(h, "kid") }), claims(nil), edSign(key.Private)),
		"signed by another key":     forge(t, hdr, claims(nil), edSign(otherKey)),
		"wrong typ":                 forge(t, withHdr(func(h map[string]any) { h["typ"] = "JWT" }), claims(nil), edSign(key.Private)),
		"no typ":                    forge(t, withHdr(func(h map[string]any) { delete(h, "typ") }), claims(nil), edSign(key.Private)),
		"tampered role, old sig":    parts[0] + "." + segment(t, claims(func(c map[string]any) { c["role"] = "platform_admin" })) + "." + parts[2],
		"tampered sub, old sig":     parts[0] + "." + segment(t, claims(func(c map[string]any) { c["sub"] = uuid.NewString() })) + "." + parts[2],
		"expired":                   forge(t, hdr, claims(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() }), edSign(key.Private)),
		"not yet valid":             forge(t, hdr, claims(func(c map[string]any) { c["nbf"] = now.Add(5 * time.Minute).Unix() }), edSign(key.Private)),
		"issued in the future":      forge(t, hdr, claims(func(c map[string]any) { c["iat"] = now.Add(5 * time.Minute).Unix() }), edSign(key.Private)),
		"no exp":                    forge(t, hdr, claims(func(c map[string]any) { delete(c, "exp") }), edSign(key.Private)),
		"wrong iss":                 forge(t, hdr, claims(func(c map[string]any) { c["iss"] = "https://evil.example" }), edSign(key.Private)),
		"no iss":                    forge(t, hdr, claims(func(c map[string]any) { delete(c, "iss") }), edSign(key.Private)),
		"wrong aud":                 forge(t, hdr, claims(func(c map[string]any) { c["aud"] = []string{"another-api"} }), edSign(key.Private)),
		"no aud":                    forge(t, hdr, claims(func(c map[string]any) { delete(c, "aud") }), edSign(key.Private)),
		"no jti":                    forge(t, hdr, claims(func(c map[string]any) { delete(c, "jti") }), edSign(key.Private)),
		"unknown role":              forge(t, hdr, claims(func(c map[string]any) { c["role"] = "superuser" }), edSign(key.Private)),
		"role not the account's":    forge(t, hdr, claims(func(c map[string]any) { c["role"] = "platform_admin" }), edSign(key.Private)),
		"unknown subject":           forge(t, hdr, claims(func(c map[string]any) { c["sub"] = uuid.NewString() }), edSign(key.Private)),
		"subject not a uuid":        forge(t, hdr, claims(func(c map[string]any) { c["sub"] = "admin" }), edSign(key.Private)),
		"org_id not the account's":  forge(t, hdr, claims(func(c map[string]any) { c["org_id"] = uuid.NewString() }), edSign(key.Private)),
		"refresh token as access":   pair.RefreshToken,
		"truncated":                 pair.AccessToken[:len(pair.AccessToken)-5],
		"signature stripped":        parts[0] + "." + parts[1] + ".",
		"two segments":              parts[0] + "." + parts[1],
		"JSON serialisation":        `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`,
		"garbage base64":            "!!!.???.###",
		"huge":                      strings.Repeat("a", 10000) + ".b.c",
		"claims not JSON":           parts[0] + "." + b64.EncodeToString([]byte("not json")) + "." + parts[2],
		"header not JSON":           b64.EncodeToString([]byte("{")) + "." + parts[1] + "." + parts[2],
		"empty":                     "",
		"lower-case bearer garbage": "x.y.z",
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.do(t, req{method: "GET", path: "/v1/me", token: tok})
			if tok == "" {
				r = e.do(t, req{method: "GET", path: "/v1/me", headers: map[string]string{"Authorization": "Bearer "}})
			}
			require.Equal(t, http.StatusUnauthorized, r.StatusCode, "%s", r.body)
			require.Contains(t, r.Header.Get("WWW-Authenticate"), "Bearer")
			require.NotContains(t, string(r.body), "jwx", "no library internals in the answer")
		})
	}

	// A cached (already verified) token still expires.
	require.Equal(t, http.StatusOK, e.do(t, req{method: "GET", path: "/v1/me", token: pair.AccessToken}).StatusCode)
	e.clock.Advance(16 * time.Minute)
	require.Equal(t, http.StatusUnauthorized, e.do(t, req{method: "GET", path: "/v1/me", token: pair.AccessToken}).StatusCode)
	e.clock.Advance(-16 * time.Minute)

	// A token of a disabled account stops working.
	w := e.world(t)
	require.Equal(t, http.StatusOK, e.do(t, req{method: "GET", path: "/v1/me", token: w.recruiterA.AccessToken}).StatusCode)
	r := e.do(t, req{method: "POST", path: "/v1/users/" + w.recruiterAUser.ID.String() + "/disable", token: w.adminA.AccessToken})
	require.Equal(t, http.StatusOK, r.StatusCode, "%s", r.body)
	r = e.do(t, req{method: "GET", path: "/v1/me", token: w.recruiterA.AccessToken})
	require.Equal(t, http.StatusUnauthorized, r.StatusCode)
	require.Equal(t, "invalid_token", r.code(t))
}

// TestJWKSAndKeyRotation: the JWK set verifies our tokens with an
// independent verifier, and adding a new signing key in front of the old one
// keeps old tokens valid while new ones use the new key.
func TestJWKSAndKeyRotation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	_, pair := e.candidate(t)
	r := e.do(t, req{method: "GET", path: "/.well-known/jwks.json"})
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Contains(t, r.Header.Get("Cache-Control"), "max-age")
	set, err := jwk.Parse(r.body)
	require.NoError(t, err)
	require.Equal(t, 1, set.Len())
	tok, err := jwt.ParseString(pair.AccessToken, jwt.WithKeySet(set), jwt.WithIssuer("https://pvara.test"), jwt.WithAudience("pvara-api"))
	require.NoError(t, err, "an independent verifier accepts the token with the published keys")
	require.Equal(t, "candidate", func() any { v, _ := tok.Get("role"); return v }())
	// The set holds public keys only.
	require.NotContains(t, string(r.body), `"d"`)

	// Rotation: a second replica configured with [new, old].
	newKey, _, err := auth.GenerateSigningKey("test-2")
	require.NoError(t, err)
	cfg := e.cfg
	cfg.SigningKeys = []auth.SigningKey{newKey, e.keys[0]}
	deps := e.deps
	deps.Registerer = nil
	rotated, err := auth.New(cfg, deps)
	require.NoError(t, err)
	p, err := rotated.Verifier().Verify(context.Background(), pair.AccessToken)
	require.NoError(t, err, "tokens signed with the old key still verify after rotation")
	require.Equal(t, "candidate", string(p.Role))
	require.Len(t, rotated.JWKS().Keys, 2)
	require.Equal(t, "test-2", rotated.JWKS().Keys[0].Kid)

	// New logins on the rotated replica are signed with the new key, which
	// the old replica does not know: the old replica must get the new key
	// (publish first, sign later) before the new one signs.
	srv := newTestServer(t, rotated)
	e2 := &env{t: t, srv: srv}
	u, _ := e.candidate(t)
	np := e2.login(t, u.Email, goodPassword)
	h, _ := b64.DecodeString(strings.Split(np.AccessToken, ".")[0])
	require.Contains(t, string(h), `"kid":"test-2"`)
	_, err = e.svc.Verifier().Verify(context.Background(), np.AccessToken)
	require.Error(t, err)
}
