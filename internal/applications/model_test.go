package applications_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/applications"
	"github.com/pvara-gov/pvara/internal/platform/authz"
)

func TestIDsCarryTheirTimeAndSortByIt(t *testing.T) {
	t.Parallel()
	base := time.Date(2027, 3, 31, 23, 59, 59, 998_000_000, time.UTC)
	prev, err := applications.NewIDAt(base)
	require.NoError(t, err)
	for i := 1; i < 3000; i++ {
		at := base.Add(time.Duration(i) * 700 * time.Nanosecond)
		id, err := applications.NewIDAt(at)
		require.NoError(t, err)
		require.EqualValues(t, 7, id.Version())
		got, ok := applications.IDTime(id)
		require.True(t, ok)
		require.Equal(t, at.Truncate(time.Millisecond), got)
		require.Less(t, prev.String(), id.String(), "ids must sort in time order")
		prev = id
	}
}

// The explicit check behind row-level security: a query that RLS would let
// through (a mistaken scope) still does not show another organisation's or
// another candidate's application.
func TestVisibleToIsTheSecondWall(t *testing.T) {
	t.Parallel()
	org, other, cand := uuid.New(), uuid.New(), uuid.New()
	a := applications.Application{OrgID: org, CandidateID: cand}
	for _, c := range []struct {
		p    *authz.Principal
		want bool
	}{
		{nil, true},
		{&authz.Principal{UserID: uuid.New(), Role: authz.RoleRecruiter, OrgID: org}, true},
		{&authz.Principal{UserID: uuid.New(), Role: authz.RoleInterviewer, OrgID: org}, true},
		{&authz.Principal{UserID: uuid.New(), Role: authz.RoleOrgAdmin, OrgID: other}, false},
		{&authz.Principal{UserID: cand, Role: authz.RoleCandidate}, true},
		{&authz.Principal{UserID: uuid.New(), Role: authz.RoleCandidate}, false},
		{&authz.Principal{UserID: uuid.New(), Role: authz.RolePlatformAdmin}, false},
		{&authz.Principal{UserID: uuid.New(), Role: authz.RoleClient, OrgID: org}, false},
	} {
		require.Equal(t, c.want, applications.VisibleTo(c.p, a), "%+v", c.p)
	}
}
