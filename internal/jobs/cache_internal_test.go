package jobs

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCachedPageEncoding(t *testing.T) {
	body := bytes.Repeat([]byte(`{"title":"Assistant Director"},`), 100)
	p, err := cachedPage{Body: body, ETag: `"b0123"`, Expires: time.UnixMilli(1_800_000_000_123)}.compressed()
	require.NoError(t, err)
	require.NotNil(t, p.Gzip)
	require.Equal(t, `"b0123-gz"`, p.gzipETag)
	got, ok := decodePage(p.encode())
	require.True(t, ok)
	require.Equal(t, p, got)

	// Tiny pages are not compressed.
	small, err := cachedPage{Body: []byte(`{"items":[]}`), ETag: `"b1"`}.compressed()
	require.NoError(t, err)
	require.Nil(t, small.Gzip)
	got, ok = decodePage(small.encode())
	require.True(t, ok)
	require.Equal(t, small.Body, got.Body)
	require.Nil(t, got.Gzip)

	for _, bad := range [][]byte{nil, make([]byte, 8), append(make([]byte, 8), 200), p.encode()[:20]} {
		_, ok := decodePage(bad)
		require.False(t, ok)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"": false, "gzip": true, "gzip, deflate, br, zstd": true, " GZip ; q=1": true, "x-gzip": true,
		"gzip;q=0": false, "gzip; q=0.0": false, "gzip;q=0.001": true, "*": true, "*;q=0": false,
		"gzip;q=0, *": false, "*;q=0, gzip": true, "identity": false, "br": false, "deflate;q=0.5, br": false,
	} {
		require.Equal(t, want, acceptsGzip(h), h)
	}
}
