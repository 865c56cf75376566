package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/applications/appsload"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// TestExplain runs pvara-load explain on a small seeded database: every
// case is explained in both plan modes, with the plan the service serves
// (generic without q, custom with it).
func TestExplain(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	cipher, hash, err := appsload.CheapSecrets()
	require.NoError(t, err)
	_, err = appsload.Seed(t.Context(), d.Owner, appsload.Config{Jobs: 200, Open: 20, Orgs: 3, StaffPerOrg: 1,
		Candidates: 300, Reserve: 10, Applications: 2000, Months: 3, PasswordHash: hash, Cipher: cipher})
	require.NoError(t, err)

	var out bytes.Buffer
	require.NoError(t, explain(t.Context(), []string{"-db", d.URL}, &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	cases := explainCases([16]byte{}, time.Now())
	require.Len(t, lines, 2+2*len(cases), out.String())
	for i, l := range lines[2:] {
		c := cases[i%len(cases)]
		cols := strings.Split(l, " | ")
		require.Len(t, cols, 4, l)
		require.Contains(t, cols[0], c.name)
		mode := "generic: "
		if c.q.Q != "" {
			mode = "custom: "
		}
		require.True(t, strings.HasPrefix(cols[1], mode), l)
		require.Regexp(t, `^[0-9.]+ \+ [0-9.]+$`, strings.TrimPrefix(cols[1], mode))
		require.Regexp(t, `^[0-9.]+ \+ [0-9.]+$`, cols[2])
		require.True(t, strings.HasPrefix(cols[3], "Limit"), l)
	}
}
