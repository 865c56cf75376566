package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/pvara-gov/pvara/internal/platform/fieldcrypt"
)

// AccessTokenType is the JOSE "typ" header of access tokens (RFC 9068). The
// verifier requires it, so no other JWT signed by the same keys (an ID
// token, a future token type) is accepted as an access token.
const AccessTokenType = "at+jwt"

// SigningKey is one Ed25519 access-token signing key.
type SigningKey struct {
	ID      string
	Private ed25519.PrivateKey
}

// ParseSigningKeys reads "kid:base64(32-byte seed)[,kid:...]", newest
// first. Errors never include key material.
func ParseSigningKeys(s string) ([]SigningKey, error) {
	raw, err := fieldcrypt.ParseKeys(s)
	if err != nil {
		return nil, err
	}
	keys := make([]SigningKey, 0, len(raw))
	seen := map[string]bool{}
	for _, k := range raw {
		if k.ID == "" || len(k.ID) > 64 || seen[k.ID] {
			return nil, fmt.Errorf("signing key ids must be unique, 1-64 characters (%q)", k.ID)
		}
		seen[k.ID] = true
		if len(k.Secret) != ed25519.SeedSize {
			return nil, fmt.Errorf("signing key %q must be a %d-byte Ed25519 seed", k.ID, ed25519.SeedSize)
		}
		keys = append(keys, SigningKey{ID: k.ID, Private: ed25519.NewKeyFromSeed(k.Secret)})
	}
	return keys, nil
}

// GenerateSigningKey makes a new key and returns it with its configuration
// form "kid:base64(seed)".
func GenerateSigningKey(id string) (SigningKey, string, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return SigningKey{}, "", err
	}
	return SigningKey{ID: id, Private: ed25519.NewKeyFromSeed(seed)}, fieldcrypt.FormatKey(id, seed), nil
}

// AccessClaims are what an access token says.
type AccessClaims struct {
	Subject   uuid.UUID
	Role      string
	OrgID     uuid.UUID // uuid.Nil when none
	SessionID uuid.UUID // the refresh family (users); uuid.Nil for clients
	ClientID  string    // OAuth client_id (clients only)
	Scopes    []string
	TokenID   string
	IssuedAt  time.Time
	Expiry    time.Time
}

// tokenIssuer signs and verifies access tokens.
type tokenIssuer struct {
	issuer   string
	audience string
	ttl      time.Duration
	skew     time.Duration
	clock    func() time.Time
	signer   jwk.Key
	signKID  string
	verify   map[string]ed25519.PublicKey
	jwks     JWKSet
	keyProv  jws.KeyProvider
	verified *verifiedCache
}

// errToken is every verification failure; the details go to no client.
var errToken = errors.New("auth: invalid access token")

func newTokenIssuer(issuer, audience string, ttl time.Duration, keys []SigningKey, clock func() time.Time) (*tokenIssuer, error) {
	if len(keys) == 0 {
		return nil, errors.New("auth: at least one signing key is required")
	}
	if issuer == "" || audience == "" {
		return nil, errors.New("auth: issuer and audience are required")
	}
	t := &tokenIssuer{
		issuer: issuer, audience: audience, ttl: ttl, skew: 30 * time.Second, clock: clock,
		verify: make(map[string]ed25519.PublicKey, len(keys)),
	}
	for i, k := range keys {
		if _, dup := t.verify[k.ID]; dup {
			return nil, fmt.Errorf("auth: signing key id %q appears twice", k.ID)
		}
		pub := k.Private.Public().(ed25519.PublicKey)
		t.verify[k.ID] = pub
		t.jwks.Keys = append(t.jwks.Keys, JWK{
			Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub),
			Kid: k.ID, Alg: "EdDSA", Use: "sig",
		})
		if i == 0 {
			sk, err := jwk.FromRaw(k.Private)
			if err != nil {
				return nil, err
			}
			if err := sk.Set(jwk.KeyIDKey, k.ID); err != nil {
				return nil, err
			}
			t.signer, t.signKID = sk, k.ID
		}
	}
	t.keyProv = jws.KeyProviderFunc(t.fetchKey)
	t.verified = &verifiedCache{max: 100_000, m: map[[32]byte]AccessClaims{}}
	return t, nil
}

// fetchKey is the allow-list: only EdDSA, only the access-token typ, only a
// configured kid. Anything else (alg "none", HS256 with the public key as
// the secret, an unknown kid) gets no key and fails verification.
func (t *tokenIssuer) fetchKey(_ context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
	h := sig.ProtectedHeaders()
	if h.Algorithm() != jwa.EdDSA {
		return errToken
	}
	if h.Type() != AccessTokenType {
		return errToken
	}
	pub, ok := t.verify[h.KeyID()]
	if !ok {
		return errToken
	}
	sink.Key(jwa.EdDSA, pub)
	return nil
}

// Issue signs an access token for c (IssuedAt, Expiry and TokenID are
// filled in) and returns it with the filled claims.
func (t *tokenIssuer) Issue(c AccessClaims) (string, AccessClaims, error) {
	now := t.clock().Truncate(time.Second)
	c.IssuedAt = now
	c.Expiry = now.Add(t.ttl)
	c.TokenID = uuid.Must(uuid.NewV7()).String()
	b := jwt.NewBuilder().
		Issuer(t.issuer).
		Audience([]string{t.audience}).
		Subject(c.Subject.String()).
		IssuedAt(now).
		NotBefore(now).
		Expiration(c.Expiry).
		JwtID(c.TokenID).
		Claim("role", c.Role)
	if c.OrgID != uuid.Nil {
		b = b.Claim("org_id", c.OrgID.String())
	}
	if c.SessionID != uuid.Nil {
		b = b.Claim("sid", c.SessionID.String())
	}
	if c.ClientID != "" {
		b = b.Claim("client_id", c.ClientID)
	}
	if len(c.Scopes) > 0 {
		b = b.Claim("scope", strings.Join(c.Scopes, " "))
	}
	tok, err := b.Build()
	if err != nil {
		return "", c, err
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.TypeKey, AccessTokenType); err != nil {
		return "", c, err
	}
	if err := hdr.Set(jws.KeyIDKey, t.signKID); err != nil {
		return "", c, err
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.EdDSA, t.signer, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", c, err
	}
	return string(signed), c, nil
}

// compactShape accepts only a compact JWS: three base64url parts. It
// refuses the JSON serialisation and anything else before parsing.
func compactShape(s string) bool {
	if len(s) < 16 || len(s) > 8192 {
		return false
	}
	dots := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			dots++
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return dots == 2
}

// VerifyCached is Verify with a per-process cache of tokens that already
// passed it, keyed by the SHA-256 of the whole token: a hit skips the
// signature check and JSON decoding (about 85% of the cost per request) and
// is honoured only until the token's exp. Only fully verified tokens enter
// the cache, so a forged or altered token (a different digest) is always
// verified in full. Signing keys change only with a restart, which empties
// the cache.
func (t *tokenIssuer) VerifyCached(raw string) (AccessClaims, error) {
	if !compactShape(raw) {
		return AccessClaims{}, errToken
	}
	key := sha256.Sum256([]byte(raw))
	now := t.clock()
	if c, ok := t.verified.get(key); ok {
		if now.Before(c.Expiry.Add(t.skew)) {
			return c, nil
		}
		t.verified.drop(key)
	}
	c, err := t.Verify(raw)
	if err != nil {
		return c, err
	}
	t.verified.put(key, c, now, t.skew)
	return c, nil
}

// verifiedCache is a bounded map of verified tokens. When full, expired
// entries are dropped, and if none were, everything is.
type verifiedCache struct {
	max int
	mu  sync.RWMutex
	m   map[[32]byte]AccessClaims
}

func (v *verifiedCache) get(k [32]byte) (AccessClaims, bool) {
	v.mu.RLock()
	c, ok := v.m[k]
	v.mu.RUnlock()
	return c, ok
}

func (v *verifiedCache) drop(k [32]byte) {
	v.mu.Lock()
	delete(v.m, k)
	v.mu.Unlock()
}

func (v *verifiedCache) put(k [32]byte, c AccessClaims, now time.Time, skew time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= v.max {
		for key, e := range v.m {
			if !now.Before(e.Expiry.Add(skew)) {
				delete(v.m, key)
			}
		}
		if len(v.m) >= v.max {
			clear(v.m)
		}
	}
	v.m[k] = c
}

// Verify checks an access token: compact form, allow-listed algorithm, typ
// and kid, a valid signature, issuer, audience, exp/nbf/iat within a 30 s
// skew, and the claims PVARA needs. Every failure is errToken.
func (t *tokenIssuer) Verify(raw string) (AccessClaims, error) {
	if !compactShape(raw) {
		return AccessClaims{}, errToken
	}
	tok, err := jwt.ParseString(raw,
		jwt.WithKeyProvider(t.keyProv),
		jwt.WithValidate(true),
		jwt.WithIssuer(t.issuer),
		jwt.WithAudience(t.audience),
		jwt.WithClock(jwt.ClockFunc(t.clock)),
		jwt.WithAcceptableSkew(t.skew),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.IssuedAtKey),
		jwt.WithRequiredClaim(jwt.NotBeforeKey),
		jwt.WithRequiredClaim(jwt.JwtIDKey),
		jwt.WithRequiredClaim("role"),
	)
	if err != nil {
		return AccessClaims{}, errToken
	}
	sub, err := uuid.Parse(tok.Subject())
	if err != nil {
		return AccessClaims{}, errToken
	}
	c := AccessClaims{Subject: sub, TokenID: tok.JwtID(), IssuedAt: tok.IssuedAt(), Expiry: tok.Expiration()}
	if c.Role, err = stringClaim(tok, "role", true); err != nil {
		return AccessClaims{}, errToken
	}
	if c.OrgID, err = uuidClaim(tok, "org_id"); err != nil {
		return AccessClaims{}, errToken
	}
	if c.SessionID, err = uuidClaim(tok, "sid"); err != nil {
		return AccessClaims{}, errToken
	}
	if c.ClientID, err = stringClaim(tok, "client_id", false); err != nil {
		return AccessClaims{}, errToken
	}
	scope, err := stringClaim(tok, "scope", false)
	if err != nil {
		return AccessClaims{}, errToken
	}
	if scope != "" {
		c.Scopes = strings.Fields(scope)
	}
	return c, nil
}

func stringClaim(tok jwt.Token, name string, required bool) (string, error) {
	v, ok := tok.Get(name)
	if !ok {
		if required {
			return "", errToken
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok || (required && s == "") {
		return "", errToken
	}
	return s, nil
}

func uuidClaim(tok jwt.Token, name string) (uuid.UUID, error) {
	s, err := stringClaim(tok, name, false)
	if err != nil || s == "" {
		return uuid.Nil, err
	}
	return uuid.Parse(s)
}

// JWK is one public key of the JWK set (RFC 7517; OKP keys per RFC 8037).
type JWK struct {
	Kty string `json:"kty" example:"OKP"`
	Crv string `json:"crv" example:"Ed25519"`
	X   string `json:"x" doc:"The public key, base64url."`
	Kid string `json:"kid"`
	Alg string `json:"alg" example:"EdDSA"`
	Use string `json:"use" example:"sig"`
}

// JWKSet is the document served at /.well-known/jwks.json.
type JWKSet struct {
	Keys []JWK `json:"keys"`
}

// randomToken returns 256 bits of randomness, base64url without padding.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // the OS has no entropy: nothing is safe to do
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashToken is how refresh tokens and client secrets are stored: SHA-256 of
// a 256-bit random value cannot be reversed or guessed.
func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}
