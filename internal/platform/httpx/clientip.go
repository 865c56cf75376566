package httpx

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

type clientIPKey struct{}

// ClientIP returns the client address worked out by the resolver middleware
// (the peer address when no trusted proxy forwarded the request).
func ClientIP(ctx context.Context) netip.Addr {
	ip, _ := ctx.Value(clientIPKey{}).(netip.Addr)
	return ip
}

// ClientIPResolver works out the client IP. X-Forwarded-For and Forwarded are
// believed only when the connection comes from a trusted proxy, and then
// only up to the first hop that is not itself trusted: a client cannot pick
// its own address by sending the header, and behind a load balancer every
// caller does not share the balancer's address.
type ClientIPResolver struct {
	trusted []netip.Prefix
}

// NewClientIPResolver parses the trusted proxies (addresses or CIDRs).
func NewClientIPResolver(trusted []string) (*ClientIPResolver, error) {
	r := &ClientIPResolver{}
	for _, s := range trusted {
		if p, err := netip.ParsePrefix(s); err == nil {
			r.trusted = append(r.trusted, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is not an address or CIDR", s)
		}
		r.trusted = append(r.trusted, netip.PrefixFrom(a, a.BitLen()))
	}
	return r, nil
}

func (r *ClientIPResolver) isTrusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Resolve returns the client address of req.
func (r *ClientIPResolver) Resolve(req *http.Request) netip.Addr {
	peer := parseHostAddr(req.RemoteAddr)
	if !peer.IsValid() || len(r.trusted) == 0 || !r.isTrusted(peer) {
		return peer
	}
	hops := forwardedHops(req.Header)
	// Walk from the nearest hop outwards; the first untrusted one is the client.
	for i := len(hops) - 1; i >= 0; i-- {
		a := hops[i]
		if !a.IsValid() {
			return peer // a garbled header: trust only what we saw
		}
		if !r.isTrusted(a) {
			return a.Unmap()
		}
		peer = a
	}
	return peer.Unmap()
}

// Middleware puts the client IP in the request context.
func (r *ClientIPResolver) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ip := r.Resolve(req)
		next.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), clientIPKey{}, ip)))
	})
}

func parseHostAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	host = strings.Trim(host, "[]")
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// forwardedHops lists the addresses of Forwarded (RFC 7239 for=) or, when
// absent, X-Forwarded-For, in order from the client to the nearest proxy.
func forwardedHops(h http.Header) []netip.Addr {
	var out []netip.Addr
	if fwd := h.Values("Forwarded"); len(fwd) > 0 {
		for _, line := range fwd {
			for _, elem := range strings.Split(line, ",") {
				for _, pair := range strings.Split(elem, ";") {
					k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
					if !ok || !strings.EqualFold(k, "for") {
						continue
					}
					out = append(out, parseHostAddr(strings.Trim(v, `"`)))
				}
			}
		}
		return out
	}
	for _, line := range h.Values("X-Forwarded-For") {
		for _, part := range strings.Split(line, ",") {
			out = append(out, parseHostAddr(strings.TrimSpace(part)))
		}
	}
	return out
}
