package applications_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/applications"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/fieldcrypt"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// anyJob answers every id with an open job: each benchmark submission goes
// to a new job, so none is a duplicate.
type anyJob struct{ org uuid.UUID }

func (j anyJob) QueueJobForApplication(_ *pgx.Batch, id uuid.UUID, done func(applications.JobView, error)) {
	now := time.Now()
	done(applications.JobView{ID: id, OrgID: j.org, Title: "t", Open: true, OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(time.Hour)}, nil)
}

// BenchmarkSubmit measures the submission transaction (service level, the
// jobs and auth reads faked), with parallel callers: go test -run '^$'
// -bench Submit -benchtime 5000x ./internal/applications
func BenchmarkSubmit(b *testing.B) {
	d := testenv.NewDB(b)
	k, _ := fieldcrypt.GenerateKey()
	bk, _ := fieldcrypt.GenerateKey()
	cipher, err := fieldcrypt.New([]fieldcrypt.Key{{ID: "t1", Secret: k}}, bk)
	if err != nil {
		b.Fatal(err)
	}
	profiles, err := applications.NewProfiles(applications.ProfilesDeps{DB: d.App, Cipher: cipher})
	if err != nil {
		b.Fatal(err)
	}
	svc, err := applications.New(applications.Config{}, applications.Deps{
		DB: d.App, Cipher: cipher, Profiles: profiles, Jobs: anyJob{org: uuid.Must(uuid.NewV7())}, Candidates: fakeCandidates{},
	})
	if err != nil {
		b.Fatal(err)
	}
	const candidates = 200
	ps := make([]authz.Principal, candidates)
	for i := range ps {
		ps[i] = authz.Principal{UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleCandidate}
		dob, g, prov, dist := "1995-01-02", "male", "sindh", "Karachi"
		if _, err := profiles.Put(context.Background(), ps[i], applications.ProfileInput{
			DateOfBirth: &dob, Gender: &g, DomicileProvince: &prov, DomicileDistrict: &dist,
			Education: []applications.EducationInput{{Level: "bachelor", Field: "CS", Institution: "NED", Year: 2017}},
			Skills:    []string{"go", "sql"}, Phone: ptr("03001234567"),
		}, ""); err != nil {
			b.Fatal(err)
		}
	}
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			idem := applications.Idempotency{}
			if i%2 == 0 {
				idem, _ = applications.NewIdempotency(fmt.Sprint("k", i), "POST", "/x", i)
			}
			if _, err := svc.Submit(context.Background(), ps[i%candidates], uuid.Must(uuid.NewV7()), applications.SubmitInput{}, idem); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }
