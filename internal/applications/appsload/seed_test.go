package appsload_test

import (
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/applications/appsload"
	"github.com/pvara-gov/pvara/internal/platform/fieldcrypt"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

func TestSeed(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	cipher, hash, err := appsload.CheapSecrets()
	require.NoError(t, err)
	res, err := appsload.Seed(t.Context(), d.Owner, appsload.Config{
		Jobs: 3000, Open: 60, Orgs: 4, StaffPerOrg: 2, Candidates: 600, Reserve: 100, Applications: 4000,
		Months: 4, PasswordHash: hash, Cipher: cipher,
	})
	require.NoError(t, err)
	require.Equal(t, 4000, res.Applications)
	require.Greater(t, res.Partitions, 1)
	// Half the applications (±5 %) belong to the large organisation.
	require.InDelta(t, 2000, res.ByOrg[0], 200)

	ctx := t.Context()
	var apps, guards, history, orgs, staff, cands, profiles, reserved, months int
	require.NoError(t, d.Owner.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM applications.applications),
		(SELECT count(*) FROM applications.guards),
		(SELECT count(*) FROM applications.status_history),
		(SELECT count(*) FROM auth.orgs),
		(SELECT count(*) FROM auth.users WHERE org_id IS NOT NULL),
		(SELECT count(*) FROM auth.users WHERE role = 'candidate'),
		(SELECT count(*) FROM applications.profiles),
		(SELECT count(DISTINCT tableoid) FROM applications.applications)`).Scan(&apps, &guards, &history, &orgs, &staff, &cands, &profiles, &months))
	require.Equal(t, []int{4000, 4000, 4000, 4, 8, 600, 600}, []int{apps, guards, history, orgs, staff, cands, profiles})
	require.Equal(t, res.Partitions, months)
	// The secondary indexes, dropped for the load, are back on every
	// partition, and valid.
	var unindexed, invalid int
	require.NoError(t, d.Owner.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM pg_inherits i
		 WHERE i.inhparent = 'applications.applications'::regclass
		   AND (SELECT count(*) FROM pg_index x WHERE x.indrelid = i.inhrelid)
		     <> (SELECT count(*) FROM pg_index x WHERE x.indrelid = i.inhparent)),
		(SELECT count(*) FROM pg_index WHERE NOT indisvalid)`).Scan(&unindexed, &invalid))
	require.Zero(t, unindexed)
	require.Zero(t, invalid)
	// Every application's org is its job's; ids carry created_at; the
	// reserved candidates have none.
	var mismatched int
	require.NoError(t, d.Owner.QueryRow(ctx, `SELECT count(*) FROM applications.applications a
		JOIN jobs.jobs j ON j.id = a.job_id
		WHERE a.org_id <> j.org_id OR a.created_at < j.opens_at
		   OR a.created_at <> to_timestamp(('x' || lpad(replace(left(a.id::text, 13), '-', ''), 16, '0'))::bit(64)::bigint / 1000.0)`).Scan(&mismatched))
	require.Zero(t, mismatched)
	require.NoError(t, d.Owner.QueryRow(ctx, `SELECT count(*) FROM applications.applications a JOIN auth.users u ON u.id = a.candidate_id
		WHERE u.email < $1`, appsload.CandidateEmail(100)).Scan(&reserved))
	require.Zero(t, reserved)

	// The accounts work as the server expects: the shared password, a
	// CNIC that decrypts under its row's binding.
	var id uuid.UUID
	var pw string
	var enc []byte
	require.NoError(t, d.Owner.QueryRow(ctx, "SELECT id, password_hash, cnic_enc FROM auth.users WHERE email = $1",
		appsload.CandidateEmail(7)).Scan(&id, &pw, &enc))
	ok, err := argon2id.ComparePasswordAndHash(appsload.Password, pw)
	require.NoError(t, err)
	require.True(t, ok)
	cnic, err := cipher.DecryptString(enc, "auth.users.cnic:"+id.String())
	require.NoError(t, err)
	_, valid := fieldcrypt.NormalizeCNIC(cnic)
	require.True(t, valid)
	var staffOrg uuid.UUID
	require.NoError(t, d.Owner.QueryRow(ctx, "SELECT org_id FROM auth.users WHERE email = $1", appsload.StaffEmail(0, 1)).Scan(&staffOrg))
	require.Equal(t, res.OrgIDs[0], staffOrg)
	// Searchable: the generated vector holds the skills.
	var hits int
	require.NoError(t, d.Owner.QueryRow(ctx, "SELECT count(*) FROM applications.applications WHERE search @@ 'python'::tsquery").Scan(&hits))
	require.Positive(t, hits)
	// Open jobs exist to apply to.
	var open int
	require.NoError(t, d.Owner.QueryRow(ctx, "SELECT count(*) FROM jobs.jobs WHERE status = 'published' AND closes_at > $1", time.Now()).Scan(&open))
	require.Equal(t, 60, open)
}
