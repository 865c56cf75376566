package httpx_test

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/httpx"
)

func TestClientIPResolver(t *testing.T) {
	t.Parallel()
	r, err := httpx.NewClientIPResolver([]string{"10.0.0.0/8", "192.168.1.1"})
	require.NoError(t, err)
	cases := []struct {
		name, remote, xff, fwd, want string
	}{
		{"direct client", "203.0.113.7:5555", "", "", "203.0.113.7"},
		{"untrusted peer cannot pick its ip", "203.0.113.7:5555", "1.2.3.4", "", "203.0.113.7"},
		{"trusted proxy forwards", "10.1.2.3:80", "198.51.100.9", "", "198.51.100.9"},
		{"chain of trusted proxies", "10.1.2.3:80", "198.51.100.9, 10.9.9.9, 192.168.1.1", "", "198.51.100.9"},
		{"client-supplied prefix is ignored", "10.1.2.3:80", "6.6.6.6, 198.51.100.9", "", "198.51.100.9"},
		{"garbled header", "10.1.2.3:80", "not-an-ip", "", "10.1.2.3"},
		{"forwarded header", "10.1.2.3:80", "", `for="[2001:db8::1]:4711";proto=https`, "2001:db8::1"},
		{"forwarded wins over xff", "10.1.2.3:80", "1.1.1.1", `for=198.51.100.20`, "198.51.100.20"},
		{"ipv6 peer", "[2001:db8::5]:443", "", "", "2001:db8::5"},
		{"all hops trusted", "10.1.2.3:80", "10.4.4.4", "", "10.4.4.4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = c.remote
			if c.xff != "" {
				req.Header.Set("X-Forwarded-For", c.xff)
			}
			if c.fwd != "" {
				req.Header.Set("Forwarded", c.fwd)
			}
			require.Equal(t, c.want, r.Resolve(req).String())
		})
	}
	_, err = httpx.NewClientIPResolver([]string{"not-a-cidr"})
	require.Error(t, err)

	none, _ := httpx.NewClientIPResolver(nil)
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "10.1.2.3:80"
	req.Header.Set("X-Forwarded-For", "1.2.3.4")
	require.Equal(t, "10.1.2.3", none.Resolve(req).String(), "no trusted proxies: headers are ignored")
}
