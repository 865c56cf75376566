package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/audit"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// auditVerify runs `pvara audit verify args...` and returns its exit code
// and output.
func auditVerify(t *testing.T, args ...string) (int, string) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"audit", "verify", "--log-level", "error"}, args...))
	err := root.ExecuteContext(context.Background())
	if err == nil {
		return exitOK, out.String()
	}
	out.WriteString(err.Error())
	var ec *exitCodeError
	var ue *usageError
	switch {
	case errors.As(err, &ec):
		return ec.code, out.String()
	case errors.As(err, &ue):
		return exitUsage, out.String()
	}
	return exitFailure, out.String()
}

func TestAuditVerifyCommand(t *testing.T) {
	d := testenv.NewDB(t)
	t.Setenv("PVARA_DATABASE_URL", d.URL)
	ctx := context.Background()

	code, out := auditVerify(t)
	require.Equal(t, exitOK, code, out)
	require.Contains(t, out, "audit chain intact: 0 entries sealed, 0 pending")

	for range 5 {
		require.NoError(t, audit.Record(ctx, d.App, audit.Entry{Action: "auth.login_succeeded", Resource: "user"}))
	}
	n, err := audit.NewSealer(d.App, audit.SealerConfig{}).Seal(ctx)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	require.NoError(t, audit.Record(ctx, d.App, audit.Entry{Action: "auth.logout"}))

	code, out = auditVerify(t)
	require.Equal(t, exitOK, code, out)
	require.Contains(t, out, "audit chain intact: 5 entries sealed, 1 pending")
	anchor := strings.TrimSpace(out[strings.Index(out, "anchor: ")+len("anchor: "):])
	require.Regexp(t, `^5:[0-9a-f]{64}$`, anchor)
	code, out = auditVerify(t, "--anchor", anchor)
	require.Equal(t, exitOK, code, out)

	// Tamper with the third entry as the owner, triggers off.
	var victim string
	require.NoError(t, d.Owner.QueryRow(ctx, "SELECT entry_id::text FROM platform.audit_chain WHERE seq = 3").Scan(&victim))
	tx, err := d.Owner.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "SET LOCAL session_replication_role = replica")
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "UPDATE platform.audit_log SET action = 'auth.login_failed' WHERE id = $1", victim)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))

	code, out = auditVerify(t)
	require.Equal(t, exitFailure, code, out)
	require.Contains(t, out, "entry "+victim+" (seq 3) altered")

	code, out = auditVerify(t, "--anchor", "five:abc")
	require.Equal(t, exitUsage, code, out)
}
