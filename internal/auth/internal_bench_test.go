package auth

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

// BenchmarkTokenVerifyUncached is the full verification of an access token
// (parse, EdDSA signature, claims) that a request pays the first time a
// replica sees the token; later requests hit the verified-token cache.
func BenchmarkTokenVerifyUncached(b *testing.B) {
	k, _, err := GenerateSigningKey("bench")
	if err != nil {
		b.Fatal(err)
	}
	ti, err := newTokenIssuer("https://pvara.test", "pvara-api", 15*time.Minute, []SigningKey{k}, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	tok, _, err := ti.Issue(AccessClaims{Subject: uuid.New(), Role: "candidate", SessionID: uuid.New()})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ti.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTokenIssue is the cost of signing an access token (login and
// refresh pay it once).
func BenchmarkTokenIssue(b *testing.B) {
	k, _, err := GenerateSigningKey("bench")
	if err != nil {
		b.Fatal(err)
	}
	ti, err := newTokenIssuer("https://pvara.test", "pvara-api", 15*time.Minute, []SigningKey{k}, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	c := AccessClaims{Subject: uuid.New(), Role: "candidate", SessionID: uuid.New()}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ti.Issue(c); err != nil {
			b.Fatal(err)
		}
	}
}
