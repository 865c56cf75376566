package screening

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/platform/audit"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/screening/internal/db"
)

// Run statuses and reasons.
const (
	RunQueued  = "queued"
	RunRunning = "running"
	RunDone    = "done"
	RunFailed  = "failed"

	reasonManual          = "manual"
	reasonCriteriaChanged = "criteria_changed"
)

// Run is one re-screening of every application of a job.
type Run struct {
	ID          uuid.UUID
	JobID       uuid.UUID
	OrgID       uuid.UUID
	Status      string
	Reason      string
	RequestedBy *uuid.UUID
	// Total is how many applications the job had when the run started
	// (screening's count of them; it grows if more arrive); Done how many
	// were re-scored so far; Changed how many of those got a different
	// result (and a screening.scored event).
	Total, Done, Changed int
	Attempts             int
	Error                *string
	CreatedAt            time.Time
	StartedAt            *time.Time
	FinishedAt           *time.Time

	generation int32
	claim      *uuid.UUID
	cursor     *uuid.UUID
}

func toRun(r db.ScreeningRescreenRun) Run {
	return Run{
		ID: r.ID, JobID: r.JobID, OrgID: r.OrgID, Status: r.Status, Reason: r.Reason, RequestedBy: r.RequestedBy,
		Total: int(r.Total), Done: int(r.Done), Changed: int(r.Changed), Attempts: int(r.Attempts), Error: r.Error,
		CreatedAt: r.CreatedAt.UTC(), StartedAt: utcPtr(r.StartedAt), FinishedAt: utcPtr(r.FinishedAt),
		generation: r.Generation, claim: r.Claim, cursor: r.Cursor,
	}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// queueRunTx queues a run for the job, or returns the one queued or
// running; restart starts that one over (criteria changed).
func (s *Service) queueRunTx(ctx context.Context, tx pgx.Tx, jobID, orgID uuid.UUID, reason string, by *uuid.UUID, restart bool) (Run, error) {
	q := db.New(tx)
	total, err := q.ResultsCountForJob(ctx, jobID)
	if err != nil {
		return Run{}, postgres.Translate(err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Run{}, err
	}
	row, err := q.RunInsert(ctx, db.RunInsertParams{
		ID: id, JobID: jobID, OrgID: orgID, Reason: reason, RequestedBy: by, Total: total, Now: s.now().UTC(),
	})
	if err == nil {
		return toRun(row), nil
	}
	if !postgres.IsNotFound(err) {
		return Run{}, postgres.Translate(err)
	}
	// One is queued or running already.
	if restart {
		active, err := q.RunActive(ctx, jobID)
		if err != nil {
			return Run{}, postgres.Translate(err)
		}
		if err := q.RunRestart(ctx, total, active.ID); err != nil {
			return Run{}, postgres.Translate(err)
		}
	}
	row, err = q.RunActive(ctx, jobID)
	if err != nil {
		return Run{}, postgres.Translate(err)
	}
	return toRun(row), nil
}

// requireWriter checks that p is a recruiter or org admin of an
// organisation.
func requireWriter(p authz.Principal) error {
	if !p.Has(WriterRoles...) || p.OrgID == uuid.Nil {
		return authzForbidden
	}
	return nil
}

// ownJob returns the job when it belongs to p's organisation; another
// organisation's job is ErrJobNotFound.
func (s *Service) ownJob(ctx context.Context, p authz.Principal, jobID uuid.UUID) (Job, error) {
	if err := requireWriter(p); err != nil {
		return Job{}, err
	}
	job, err := s.jobs.ScreeningJob(ctx, jobID)
	if err != nil {
		return Job{}, err
	}
	if job.OrgID != p.OrgID {
		return Job{}, ErrJobNotFound
	}
	return job, nil
}

// Rescreen queues a re-screening of every application of the job (a
// recruiter or org admin of the job's organisation) and returns the run; a
// run already queued or running is returned as it is.
func (s *Service) Rescreen(ctx context.Context, p authz.Principal, jobID uuid.UUID) (Run, error) {
	job, err := s.ownJob(ctx, p, jobID)
	if err != nil {
		return Run{}, err
	}
	var run Run
	err = postgres.ScopedTx(ctx, s.db, p.Scope(), func(tx pgx.Tx) error {
		by := p.UserID
		run, err = s.queueRunTx(ctx, tx, job.ID, job.OrgID, reasonManual, &by, false)
		if err != nil {
			return err
		}
		ip := ""
		if a := httpx.ClientIP(ctx); a.IsValid() {
			ip = a.String()
		}
		return audit.RecordTx(ctx, tx, audit.Entry{
			OrgID: job.OrgID, ActorID: p.UserID, ActorRole: string(p.Role), Action: "screening.rescreen_requested",
			Resource: "job", ResourceID: job.ID.String(), IP: ip, Details: map[string]any{"run_id": run.ID.String()},
			OccurredAt: s.now(),
		})
	})
	return run, err
}

// LatestRun returns the job's newest re-screening run (ErrNoRescreen when
// it never had one).
func (s *Service) LatestRun(ctx context.Context, p authz.Principal, jobID uuid.UUID) (Run, error) {
	job, err := s.ownJob(ctx, p, jobID)
	if err != nil {
		return Run{}, err
	}
	return s.latestRun(ctx, p.Scope(), job.ID)
}

func (s *Service) latestRun(ctx context.Context, scope postgres.Scope, jobID uuid.UUID) (Run, error) {
	var run Run
	err := postgres.ScopedTx(ctx, s.db, scope, func(tx pgx.Tx) error {
		row, err := db.New(tx).RunLatest(ctx, jobID)
		if postgres.IsNotFound(err) {
			return ErrNoRescreen
		}
		if err != nil {
			return postgres.Translate(err)
		}
		run = toRun(row)
		return nil
	})
	return run, err
}

// RunRescreens is the re-screening runner of the `screening` worker role:
// it claims queued runs (and runs whose worker died) and carries each to
// its end, until ctx ends. Several workers may run it.
func (s *Service) RunRescreens(ctx context.Context) error {
	for ctx.Err() == nil {
		ran, err := s.RescreenOnce(ctx)
		if err != nil && ctx.Err() == nil {
			s.logger.Warn("screening: re-screening failed; the run will be taken over when its lease expires", "error", err)
		}
		if !ran || err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(s.cfg.RescreenPoll):
			}
		}
	}
	return nil
}

// RescreenOnce claims one run and carries it to its end; false when there
// was none to claim. An error leaves the run claimed: another attempt takes
// it over after the lease and resumes after its last committed batch.
func (s *Service) RescreenOnce(ctx context.Context) (bool, error) {
	run, ok, err := s.claimRun(ctx)
	if err != nil || !ok {
		return false, err
	}
	return true, s.execute(ctx, run)
}

func (s *Service) claimRun(ctx context.Context) (Run, bool, error) {
	var run Run
	ok := false
	err := postgres.ScopedTx(ctx, s.db, postgres.SystemScope(), func(tx pgx.Tx) error {
		now := s.now().UTC()
		row, err := db.New(tx).RunClaim(ctx, uuid.New(), now.Add(s.cfg.RescreenLease), now)
		if postgres.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return postgres.Translate(err)
		}
		run, ok = toRun(row), true
		return nil
	})
	return run, ok, err
}

// errRunMoved: the run is no longer this worker's generation or claim.
var errRunMoved = errors.New("screening: the run was restarted or taken over")

func (s *Service) finish(ctx context.Context, run Run, status string, msg *string) error {
	var n int64
	err := postgres.ScopedTx(ctx, s.db, postgres.SystemScope(), func(tx pgx.Tx) error {
		var err error
		n, err = db.New(tx).RunFinish(ctx, db.RunFinishParams{
			Status: status, Now: s.now().UTC(), Error: msg, ID: run.ID, Generation: run.generation, Claim: deref(run.claim),
		})
		return postgres.Translate(err)
	})
	if err != nil {
		return err
	}
	if n == 0 {
		// Restarted by a criteria change (a new generation) or taken over
		// between the last batch and this update: not finished.
		return errRunMoved
	}
	s.m.runs.WithLabelValues(status).Inc()
	return nil
}

// execute carries a claimed run to its end, a batch per transaction.
func (s *Service) execute(ctx context.Context, run Run) error {
	log := s.logger.With("run_id", run.ID, "job_id", run.JobID)
	if run.Attempts > s.cfg.RescreenMaxAttempts {
		msg := fmt.Sprintf("gave up after %d attempts", run.Attempts-1)
		log.Error("screening: re-screening failed", "attempts", run.Attempts-1)
		if err := s.finish(ctx, run, RunFailed, &msg); !errors.Is(err, errRunMoved) {
			return err
		}
		return nil // restarted meanwhile: the new generation runs afresh
	}
	log.Info("screening: re-screening", "attempt", run.Attempts, "done", run.Done)
	for {
		err := s.pass(ctx, &run)
		if !errors.Is(err, errRunMoved) {
			if err == nil {
				log.Info("screening: re-screening finished", "status", run.Status, "done", run.Done, "changed", run.Changed)
			}
			return err
		}
		// Restarted (criteria changed) or taken over: reload it.
		var row db.ScreeningRescreenRun
		err = postgres.ScopedTx(ctx, s.db, postgres.SystemScope(), func(tx pgx.Tx) error {
			var err error
			row, err = db.New(tx).RunGet(ctx, run.ID)
			return postgres.Translate(err)
		})
		if err != nil {
			return err
		}
		fresh := toRun(row)
		if fresh.Status != RunRunning || !sameClaim(fresh.claim, run.claim) {
			return nil // finished, or another worker holds it now
		}
		run = fresh
	}
}

func sameClaim(a, b *uuid.UUID) bool { return a != nil && b != nil && *a == *b }

// batch is one page of a run, read and scored ahead of its write.
type batch struct {
	job    Job
	scored []scored
	readAt time.Time
	err    error
}

// errJobGone: the job of a run no longer exists.
var errJobGone = errors.New("screening: the job no longer exists")

// pass runs the run from its cursor to the end (or until it moved): a
// reader goroutine pages through the applications and scores each page on
// all cores, one page ahead of the writer, which commits page after page
// (results, events, progress) — so reading and scoring overlap the
// database writes.
func (s *Service) pass(ctx context.Context, run *Run) error {
	c, err := s.passCorpus(ctx, run)
	if err != nil {
		return err
	}
	after := uuid.Nil
	if run.cursor != nil {
		after = *run.cursor
	}
	rctx, cancel := context.WithCancel(ctx)
	batches := make(chan batch, 1)
	go s.readAhead(rctx, run.JobID, after, c, batches)
	defer func() {
		cancel()
		for range batches { // let the reader finish
		}
	}()
	for b := range batches {
		switch {
		case errors.Is(b.err, errJobGone):
			msg := "the job no longer exists"
			run.Status = RunFailed
			return s.finish(ctx, *run, RunFailed, &msg)
		case b.err != nil:
			return b.err
		case len(b.scored) == 0:
			run.Status = RunDone
			return s.finish(ctx, *run, RunDone, nil)
		}
		changed, err := s.writeBatch(ctx, run, b, c.ID())
		if err != nil {
			return err
		}
		s.m.scored("rescreen", len(b.scored), len(changed))
		s.syncRanking(ctx, changed)
	}
	return ctx.Err()
}

// passCorpus is the corpus of a pass: a run from its start moves the job
// to the current corpus; a resumed one keeps the job's pinned corpus.
func (s *Service) passCorpus(ctx context.Context, run *Run) (*Corpus, error) {
	job, err := s.jobs.ScreeningJob(ctx, run.JobID)
	if err != nil && !errors.Is(err, ErrJobNotFound) {
		return nil, err
	}
	if err != nil {
		return nil, nil // the reader reports it
	}
	var c *Corpus
	err = postgres.ScopedTx(ctx, s.db, postgres.SystemScope(), func(tx pgx.Tx) error {
		var err error
		if run.cursor == nil {
			c, err = s.repinCorpus(ctx, tx, job)
		} else {
			c, err = s.corpusForJob(ctx, tx, job)
		}
		return err
	})
	return c, err
}

// readAhead sends the run's pages, scored, until the empty page (sent too)
// or an error (sent), then closes out.
func (s *Service) readAhead(ctx context.Context, jobID, after uuid.UUID, c *Corpus, out chan<- batch) {
	defer close(out)
	send := func(b batch) bool {
		select {
		case out <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for ctx.Err() == nil {
		job, err := s.jobs.ScreeningJob(ctx, jobID)
		if errors.Is(err, ErrJobNotFound) {
			send(batch{err: errJobGone})
			return
		}
		if err != nil {
			send(batch{err: err})
			return
		}
		readAt := s.now().UTC()
		apps, err := s.apps.SubmittedForJob(ctx, jobID, after, s.cfg.RescreenBatch)
		if err != nil {
			send(batch{err: fmt.Errorf("screening: applications of job %s: %w", jobID, err)})
			return
		}
		rs, err := s.scoreAll(job, c, apps)
		if !send(batch{job: job, scored: rs, readAt: readAt, err: err}) || err != nil || len(apps) == 0 {
			return
		}
		after = apps[len(apps)-1].ID
	}
}

// writeBatch stores a scored page, its events and the run's progress in
// one transaction, and returns the applications whose result changed.
func (s *Service) writeBatch(ctx context.Context, run *Run, b batch, corpusID string) ([]uuid.UUID, error) {
	var changed []uuid.UUID
	last := b.scored[len(b.scored)-1].app.ID
	err := postgres.ScopedTx(ctx, s.db, postgres.SystemScope(), func(tx pgx.Tx) error {
		now := s.now().UTC()
		var err error
		if changed, err = s.storeTx(ctx, tx, corpusID, b.scored, b.readAt, now); err != nil {
			return err
		}
		n, err := db.New(tx).RunProgress(ctx, db.RunProgressParams{
			Cursor: &last, Batch: int32(len(b.scored)), Changed: int32(len(changed)), LeaseUntil: now.Add(s.cfg.RescreenLease),
			ID: run.ID, Generation: run.generation, Claim: deref(run.claim),
		})
		if err != nil {
			return postgres.Translate(err)
		}
		if n == 0 {
			return errRunMoved
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	run.cursor = &last
	run.Done += len(b.scored)
	run.Changed += len(changed)
	return changed, nil
}

// scoreAll scores a batch of one job's applications on ScoreWorkers
// goroutines with one Scorer (read-only, safe to share).
func (s *Service) scoreAll(job Job, c *Corpus, apps []Application) ([]scored, error) {
	sc := NewScorer(job.Input, c)
	out := make([]scored, len(apps))
	errs := make([]error, len(apps))
	workers := min(s.cfg.ScoreWorkers, len(apps))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(apps); i += workers {
				out[i], errs[i] = scoreWith(sc, &job, c.ID(), apps[i])
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}
