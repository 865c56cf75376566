package testenv

import (
	"context"
	"os"
	"testing"

	"github.com/pvara-gov/pvara/internal/platform/redisx"
)

// RedisURL is the Redis tests use.
func RedisURL() string {
	if u := os.Getenv("PVARA_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// NewRedis returns a client whose keys live under a prefix private to the
// test; they are deleted when the test ends.
func NewRedis(t testing.TB) *redisx.Client {
	t.Helper()
	prefix := "pvara-test:" + randomSuffix() + ":"
	c, err := redisx.Open(context.Background(), RedisURL(), prefix)
	if err != nil {
		t.Fatalf("testenv: Redis does not answer at PVARA_TEST_REDIS_URL (run `make test`, which starts it): %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
			if len(keys) == 500 {
				c.Del(ctx, keys...)
				keys = keys[:0]
			}
		}
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
		_ = c.Close()
	})
	return c
}
