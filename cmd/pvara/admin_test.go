package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// TestAdminCreateIsIdempotent runs `pvara admin create` through the cobra
// command tree against a real database: the first run creates the platform
// admin, later runs leave it alone and still exit 0.
func TestAdminCreateIsIdempotent(t *testing.T) {
	d := testenv.NewDB(t)
	t.Setenv("PVARA_DATABASE_URL", d.URL)
	t.Setenv("PVARA_DATA_DIR", t.TempDir())
	t.Setenv("PVARA_LOG_LEVEL", "error")
	// Cheap hashes keep the test fast; the parameters are configuration.
	t.Setenv("PVARA_AUTH_ARGON2_MEMORY_KIB", "64")
	t.Setenv("PVARA_AUTH_ARGON2_ITERATIONS", "1")
	ctx := context.Background()

	// execute runs the command tree and returns what it printed.
	execute := func(args ...string) (string, error) {
		root := newRootCmd()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(args)
		err := root.ExecuteContext(ctx)
		return out.String(), err
	}
	hash := func() string {
		var h string
		require.NoError(t, d.Owner.QueryRow(ctx, `SELECT password_hash FROM auth.users WHERE email = 'root@pvara.gov.pk' AND role = 'platform_admin'`).Scan(&h))
		return h
	}
	args := []string{"admin", "create", "--email", " Root@PVARA.gov.pk ", "--password", "a long enough admin passphrase", "--full-name", "Root Admin"}

	out, err := execute(args...)
	require.NoError(t, err)
	require.Contains(t, out, "created platform admin root@pvara.gov.pk")
	first := hash()
	var n int
	require.NoError(t, d.Owner.QueryRow(ctx, `SELECT count(*) FROM auth.users`).Scan(&n))
	require.Equal(t, 1, n)

	// Again, even with another password: left alone, exit 0.
	other := append(args[:4:4], "--password", "another admin passphrase here", "--full-name", "Root Admin")
	out, err = execute(other...)
	require.NoError(t, err)
	require.Contains(t, out, "already exists")
	require.Equal(t, exitOK, run(other), "and the process exit code is 0")
	require.Equal(t, first, hash(), "the existing admin's password is not changed")
	require.NoError(t, d.Owner.QueryRow(ctx, `SELECT count(*) FROM auth.users`).Scan(&n))
	require.Equal(t, 1, n)
	require.NoError(t, d.Owner.QueryRow(ctx, `SELECT count(*) FROM platform.audit_log WHERE action = 'auth.platform_admin_created'`).Scan(&n))
	require.Equal(t, 1, n)

	// Bad usage exits 2: a missing flag, a weak password.
	require.Equal(t, exitUsage, run([]string{"admin", "create", "--email", "x@pvara.gov.pk"}))
	require.Equal(t, exitUsage, run([]string{"admin", "create", "--email", "x@pvara.gov.pk", "--password", "password", "--full-name", "X"}))
	require.Equal(t, exitUsage, run([]string{"admin", "create", "--no-such-flag"}))
}
