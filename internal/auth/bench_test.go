package auth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pvara-gov/pvara/internal/auth"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/logx"
)

// BenchmarkVerifyMiddleware measures what every authenticated request pays:
// the authz middleware with the auth Verifier (JWT parse and EdDSA
// signature check, claims validation, the cached account-state check) and a
// role check in the handler. Results: docs/benchmarks.md, "Identity".
func BenchmarkVerifyMiddleware(b *testing.B) {
	e := setup(b)
	_, pair := e.candidate(b)
	handler := authz.Middleware(e.svc.Verifier(), &httpx.ErrorMapper{Logger: logx.Discard()})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := authz.Require(r.Context(), authz.RoleCandidate); err != nil {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	req := httptest.NewRequest("GET", "/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+pair.AccessToken)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			handler.ServeHTTP(w, req)
			if w.Code != http.StatusNoContent {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}

// BenchmarkPasswordHashOWASP is one argon2id hash with the default (OWASP)
// parameters: what each login and registration costs in CPU.
func BenchmarkPasswordHashOWASP(b *testing.B) {
	h, err := auth.NewHasher(auth.HashConfig{MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 1}, nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := h.Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
