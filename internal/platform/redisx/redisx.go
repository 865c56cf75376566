// Package redisx opens the Redis client and names keys. Every key goes
// through Client.Key, which puts the deployment's prefix in front, so
// several deployments (and parallel tests) share one Redis safely.
package redisx

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Client is a go-redis client with the key prefix.
type Client struct {
	*redis.Client
	prefix string
	// embedded is set when this client talks to the in-process fallback.
	embedded *miniredis.Miniredis
}

// Open connects to url and checks that Redis answers.
func Open(ctx context.Context, url, prefix string) (*Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, errors.New("redis: cannot parse the Redis URL")
	}
	opt.DialTimeout = 2 * time.Second
	opt.ReadTimeout = time.Second
	opt.WriteTimeout = time.Second
	opt.PoolTimeout = 2 * time.Second
	// Let a caller's context deadline bound the socket reads and writes
	// too (go-redis applies only ReadTimeout otherwise): the rate limiter
	// gives each request's Redis call a budget of milliseconds, not 1s.
	opt.ContextTimeoutEnabled = true
	c := redis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("redis: does not answer at %s: %w", opt.Addr, err)
	}
	return &Client{Client: c, prefix: prefix}, nil
}

// OpenEmbedded starts an in-process Redis-protocol server (miniredis) and
// connects to it. Only `pvara dev` may use it: it keeps nothing across
// restarts and is not shared by replicas.
func OpenEmbedded(prefix string) (*Client, error) {
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		return nil, fmt.Errorf("redis: start in-process fallback: %w", err)
	}
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	return &Client{Client: c, prefix: prefix, embedded: m}, nil
}

// Embedded reports whether this is the in-process fallback.
func (c *Client) Embedded() bool { return c.embedded != nil }

// Addr is the server address.
func (c *Client) Addr() string { return c.Options().Addr }

// Key joins the prefix and parts with ':'.
func (c *Client) Key(parts ...string) string {
	n := len(c.prefix)
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, c.prefix...)
	for i, p := range parts {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, p...)
	}
	return string(b)
}

// Prefix is the key prefix.
func (c *Client) Prefix() string { return c.prefix }

// Close closes the client (and the fallback server).
func (c *Client) Close() error {
	err := c.Client.Close()
	if c.embedded != nil {
		c.embedded.Close()
	}
	return err
}

// Check is a readiness check.
func (c *Client) Check(ctx context.Context) error { return c.Client.Ping(ctx).Err() }
