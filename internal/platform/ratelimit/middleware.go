package ratelimit

import (
	"context"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
)

// Header names, draft-ietf-httpapi-ratelimit-headers-07.
const (
	HeaderPolicy = "RateLimit-Policy" // "1000;w=60"
	HeaderLimit  = "RateLimit"        // "limit=1000, remaining=999, reset=1"
)

// ErrRateLimited is the 429 answer; Retry-After says when to try again.
var ErrRateLimited = apperr.New(apperr.KindTooManyRequests, "rate_limited",
	"too many requests; wait for the time in Retry-After before trying again")

// errLimiterDown is the 503 of a fail-closed policy while Redis is away.
var errLimiterDown = apperr.New(apperr.KindUnavailable, "unavailable",
	"the service is temporarily unavailable; try again shortly")

// ErrorWriter writes an error response (httpx's ErrorMapper).
type ErrorWriter interface {
	WriteError(w http.ResponseWriter, r *http.Request, err error)
}

// Middleware limits every request. It must run after the authentication
// middleware, so an authenticated caller is limited as a user (not as the
// IP it shares with others) and anonymous callers by their client IP as
// worked out from trusted proxies only.
//
// Every response it lets through or refuses carries RateLimit-Policy and,
// when Redis answered, RateLimit. A refused request gets 429 rate_limited
// with Retry-After. When Redis cannot be asked, a FailClosed policy answers
// 503 with Retry-After and any other lets the request through (counted in
// pvara_ratelimit_decisions_total{outcome="failed_open"}, with a warning
// logged once per cooldown).
func Middleware(l *Limiter, ew ErrorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := l.policyFor(r.URL.Path)
			h := w.Header()
			h.Set(HeaderPolicy, p.policyHeader)
			d, err := l.allow(r.Context(), p, Subject(r.Context()))
			if err != nil {
				if p.FailClosed {
					p.failedClosed.Inc()
					ew.WriteError(w, r, errLimiterDown.WithRetryAfter(l.cfg.Cooldown))
					return
				}
				p.failedOpen.Inc()
				next.ServeHTTP(w, r)
				return
			}
			h.Set(HeaderLimit, "limit="+strconv.Itoa(d.Limit)+", remaining="+strconv.Itoa(d.Remaining)+
				", reset="+strconv.FormatInt(ceilSeconds(d.Reset), 10))
			if !d.Allowed {
				p.limited.Inc()
				ew.WriteError(w, r, ErrRateLimited.WithRetryAfter(d.RetryAfter))
				return
			}
			p.allowed.Inc()
			next.ServeHTTP(w, r)
		})
	}
}

// Subject is whose bucket a request counts against: the user ("u:<id>"),
// an OAuth client without a user ("c:<client id>"), or for anonymous
// requests the client IP ("ip:<addr>"). The IP is httpx.ClientIP, which
// believes X-Forwarded-For / Forwarded only from trusted proxies, so a
// client cannot pick its own bucket. IPv6 callers are grouped by /64, the
// block one subscriber usually holds, so rotating addresses within it does
// not buy more requests.
func Subject(ctx context.Context) string {
	if p, ok := authz.FromContext(ctx); ok {
		if p.UserID != uuid.Nil {
			return "u:" + p.UserID.String()
		}
		if p.ClientID != "" {
			return "c:" + p.ClientID
		}
	}
	ip := httpx.ClientIP(ctx)
	if !ip.IsValid() {
		return "ip:unknown"
	}
	ip = ip.Unmap()
	if ip.Is6() {
		return "ip6:" + netip.PrefixFrom(ip, 64).Masked().String()
	}
	return "ip:" + ip.String()
}
