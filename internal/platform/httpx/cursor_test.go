package httpx_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
)

type pos struct {
	At string `json:"at"`
	ID string `json:"id"`
}

func TestCursorRoundTripAndTampering(t *testing.T) {
	t.Parallel()
	c, err := httpx.NewCursors([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	in := pos{At: "2026-11-29T10:00:00Z", ID: "0193-abc"}
	cur, err := c.Encode("jobs", in)
	require.NoError(t, err)
	require.NotContains(t, cur, "0193-abc", "opaque to clients (no plain ids)")

	var out pos
	require.NoError(t, c.Decode("jobs", cur, &out))
	require.Equal(t, in, out)

	// An empty cursor is the first page.
	var empty pos
	require.NoError(t, c.Decode("jobs", "", &empty))
	require.Equal(t, pos{}, empty)

	payload, sig, _ := strings.Cut(cur, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(payload)
	forged := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), "0193-abc", "0193-abd", 1))) + "." + sig
	other, err := httpx.NewCursors([]byte("another-secret-of-32-bytes-long!"))
	require.NoError(t, err)
	foreign, _ := other.Encode("jobs", in)

	bad := map[string]string{
		"edited payload":       forged,
		"other list":           "", // filled below
		"other key":            foreign,
		"no signature":         payload,
		"garbage":              "%%%not-base64%%%",
		"signature flipped":    payload + "." + flip(sig),
		"very long":            strings.Repeat("A", 5000) + "." + sig,
		"valid sig, bad json":  "", // filled below
		"dot only":             ".",
		"base64 of non-object": base64.RawURLEncoding.EncodeToString([]byte(`"x"`)) + "." + sig,
	}
	bad["other list"], _ = c.Encode("applications", in)
	bad["valid sig, bad json"] = signedGarbage(t, c)
	for name, cursor := range bad {
		var p pos
		err := c.Decode("jobs", cursor, &p)
		require.Error(t, err, name)
		require.True(t, errors.Is(err, apperr.ErrBadCursor), name)
		ae, _ := apperr.As(err)
		require.Equal(t, apperr.KindBadRequest, ae.Kind, "a forged cursor is a 400, not a 500")
	}

	_, err = httpx.NewCursors([]byte("short"))
	require.Error(t, err)
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

// signedGarbage is a correctly signed cursor whose payload is not the
// expected shape: decoding must still be a 400.
func signedGarbage(t *testing.T, c *httpx.Cursors) string {
	cur, err := c.Encode("jobs", []int{1, 2, 3})
	require.NoError(t, err)
	return cur
}
