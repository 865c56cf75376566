package screening

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/platform/consumer"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/screening/internal/db"
)

// ConsumerGroup is the consumer group of screening's handlers.
const ConsumerGroup = "screening"

// Handlers are screening's event handlers for the `screening` worker role:
// score submitted applications, keep their status for the fairness report
// and the ranking, and re-screen a job whose criteria changed.
func (s *Service) Handlers() []consumer.Handler {
	return []consumer.Handler{
		{Group: ConsumerGroup, Type: EventApplicationSubmitted, Handle: s.HandleSubmitted, HandleBatch: s.HandleSubmittedBatch,
			AfterCommitBatch: s.afterSubmitted},
		{Group: ConsumerGroup, Type: EventStatusChanged, Handle: s.HandleStatusChanged, AfterCommit: s.afterApplicationEvent},
		{Group: ConsumerGroup, Type: EventWithdrawn, Handle: s.HandleWithdrawn, AfterCommit: s.afterApplicationEvent},
		{Group: ConsumerGroup, Type: EventCriteriaChanged, Handle: s.HandleCriteriaChanged},
	}
}

// scored is one application's model result, ready to store.
type scored struct {
	job    *Job
	app    Application
	result Result
	hash   []byte
}

// inputHash identifies everything a result depends on: the model's input,
// the corpus and the model version. The model is deterministic, so the same
// hash means the same result.
func inputHash(in Input, corpusID string) ([]byte, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write(b)
	h.Write([]byte{0})
	h.Write([]byte(corpusID))
	h.Write([]byte{0})
	h.Write([]byte(ModelVersion))
	return h.Sum(nil), nil
}

// scoreWith scores one application of job with a prepared Scorer.
func scoreWith(sc *Scorer, job *Job, corpusID string, app Application) (scored, error) {
	h, err := inputHash(Input{Job: job.Input, Profile: app.Profile}, corpusID)
	if err != nil {
		return scored{}, err
	}
	return scored{job: job, app: app, result: sc.Score(app.Profile), hash: h}, nil
}

// storeTx upserts results (of one job or several, all scored with the
// corpus corpusID, each application once) in tx with one statement and
// enqueues screening.scored for those that changed (new, or another input
// hash or model version) with another; an unchanged result is neither
// written nor published again. It returns the changed application ids. A
// snapshot's status is kept only if no newer status event was applied: it
// is ordered by the application's StatusAt (the clock the events'
// changed_at comes from), or by readAt, when the applications were read,
// if the source does not say.
func (s *Service) storeTx(ctx context.Context, tx pgx.Tx, corpusID string, rs []scored, readAt, at time.Time) ([]uuid.UUID, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	n := len(rs)
	p := db.ResultsUpsertParams{
		ModelVersion: ModelVersion, CorpusID: corpusID, ScoredAt: at, StatusAts: make([]time.Time, n),
		ApplicationIds: make([]uuid.UUID, n), JobIds: make([]uuid.UUID, n), OrgIds: make([]uuid.UUID, n),
		CandidateIds: make([]uuid.UUID, n), Statuses: make([]string, n), SubmittedAts: make([]time.Time, n),
		Genders: make([]string, n), Provinces: make([]string, n), Eligibles: make([]bool, n),
		Scores: make([]float64, n), Reasons: make([]json.RawMessage, n), Breakdowns: make([]json.RawMessage, n),
		InputHashes: make([][]byte, n),
	}
	byID := make(map[uuid.UUID]*scored, n)
	for i := range rs {
		r := &rs[i]
		reasons, err := json.Marshal(nonNil(r.result.Reasons))
		if err != nil {
			return nil, err
		}
		breakdown, err := json.Marshal(nonNil(r.result.Breakdown))
		if err != nil {
			return nil, err
		}
		status := r.app.Status
		if status == "" {
			status = "submitted"
		}
		p.ApplicationIds[i], p.JobIds[i], p.OrgIds[i], p.CandidateIds[i] = r.app.ID, r.job.ID, r.job.OrgID, r.app.CandidateID
		p.Statuses[i], p.SubmittedAts[i] = status, r.app.SubmittedAt
		p.StatusAts[i] = r.app.StatusAt
		if p.StatusAts[i].IsZero() {
			p.StatusAts[i] = readAt
		}
		p.Genders[i], p.Provinces[i] = r.app.Gender, string(r.app.Profile.DomicileProvince)
		p.Eligibles[i], p.Scores[i] = r.result.Eligible, round2(r.result.Score)
		p.Reasons[i], p.Breakdowns[i], p.InputHashes[i] = reasons, breakdown, r.hash
		byID[r.app.ID] = r
	}
	changed, err := db.New(tx).ResultsUpsert(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("screening: store results: %w", postgres.Translate(err))
	}
	evs := make([]outbox.Event, 0, len(changed))
	for _, id := range changed {
		r := byID[id]
		evs = append(evs, scoredEvent(ScoredV1{
			ApplicationID: id, JobID: r.job.ID, OrgID: r.job.OrgID, Score: round2(r.result.Score),
			Eligible: r.result.Eligible, ModelVersion: ModelVersion, ScoredAt: at,
		}))
	}
	if len(evs) == 1 {
		err = outbox.EnqueueTx(ctx, tx, evs[0])
	} else {
		err = outbox.EnqueueBatchTx(ctx, tx, evs)
	}
	return changed, err
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// round2 rounds a score to two decimals (what numeric(5,2) stores).
func round2(f float64) float64 { return math.Round(f*100) / 100 }

func decodeData[T any](ev outbox.Envelope) (T, error) {
	var v T
	if ev.Version != 1 {
		return v, consumer.Permanent(fmt.Errorf("%s version %d is not known", ev.Type, ev.Version))
	}
	if err := json.Unmarshal(ev.Data, &v); err != nil {
		return v, consumer.Permanent(fmt.Errorf("%s: undecodable payload: %w", ev.Type, err))
	}
	return v, nil
}

// HandleSubmitted scores a submitted application: the single-event path
// of HandleSubmittedBatch (a batch of one).
func (s *Service) HandleSubmitted(ctx context.Context, tx pgx.Tx, ev outbox.Envelope) error {
	err := s.HandleSubmittedBatch(ctx, tx, []outbox.Envelope{ev})
	if be, ok := errors.AsType[*consumer.BatchError](err); ok {
		return be.Err
	}
	return err
}

// HandleSubmittedBatch scores a runner batch of submitted applications in
// the handler's transaction: one read of the applications (through the
// applications module) and one read of each of their jobs, made at the
// same time (readBatch); each application scored with its job's cached
// Scorer and corpus; then one upsert of the results and one insert of the
// screening.scored events for the batch (per corpus: one unless the jobs
// are pinned to different ones). An application or job that no longer
// exists is skipped. A duplicate delivery of an event is skipped by the
// runner; the same application in several events (a replay) is scored
// once, and again later finds the same input hash and changes nothing.
func (s *Service) HandleSubmittedBatch(ctx context.Context, tx pgx.Tx, evs []outbox.Envelope) error {
	first := make(map[uuid.UUID]int, len(evs)) // application → index of its first event
	ids := make([]uuid.UUID, 0, len(evs))
	jobFirst := map[uuid.UUID]int{} // job → index of its first event
	var jobIDs []uuid.UUID
	for i, ev := range evs {
		p, err := decodeData[submittedV1](ev)
		if err != nil {
			return consumer.BatchFailure(i, err)
		}
		if _, dup := first[p.ApplicationID]; !dup {
			first[p.ApplicationID] = i
			ids = append(ids, p.ApplicationID)
		}
		if _, seen := jobFirst[p.JobID]; !seen {
			jobFirst[p.JobID] = i
			jobIDs = append(jobIDs, p.JobID)
		}
	}
	readAt := s.now().UTC()
	apps, jobReads, err := s.readBatch(ctx, ids, jobIDs)
	if err != nil {
		return fmt.Errorf("screening: read %d applications: %w", len(ids), err)
	}
	if len(apps) < len(ids) {
		found := make(map[uuid.UUID]bool, len(apps))
		for _, a := range apps {
			found[a.ID] = true
		}
		for _, id := range ids {
			if !found[id] {
				// Erased (or never committed): nothing to score.
				s.logger.Warn("screening: submitted application not found; skipped", "application_id", id)
			}
		}
	}
	// Rows are locked in id order, jobs and results alike: partitions
	// handled at once first-score the same jobs (pinning them to a corpus
	// in different orders would deadlock), and a re-screening upserts the
	// results of a job in id order.
	slices.SortFunc(apps, func(a, b Application) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	type jobBatch struct {
		job    *Job
		corpus *Corpus
		sc     *Scorer
	}
	jobs := map[uuid.UUID]*jobBatch{}
	var appJobs []uuid.UUID // the jobs of the applications found
	for _, app := range apps {
		if _, seen := jobs[app.JobID]; !seen {
			jobs[app.JobID] = nil // gone unless read below
			appJobs = append(appJobs, app.JobID)
			if _, ok := jobFirst[app.JobID]; !ok {
				jobFirst[app.JobID] = first[app.ID] // an event that named another job (never seen)
			}
		}
	}
	slices.SortFunc(appJobs, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	for _, id := range appJobs {
		r, ok := jobReads[id]
		if !ok {
			r = &jobRead{}
			r.job, r.err = s.jobs.ScreeningJob(ctx, id)
		}
		job, err := r.job, r.err
		if errors.Is(err, ErrJobNotFound) {
			s.logger.Warn("screening: job of submitted applications not found; skipped", "job_id", id)
			continue
		}
		if err != nil {
			return consumer.BatchFailure(jobFirst[id], fmt.Errorf("screening: read job %s: %w", id, err))
		}
		c, err := s.corpusForJob(ctx, tx, job)
		if err != nil {
			return consumer.BatchFailure(jobFirst[id], err)
		}
		jobs[id] = &jobBatch{job: &job, corpus: c, sc: cachedScorer(job.Input, c)} // the Scorer of a busy job is kept
	}
	byCorpus := map[string][]scored{}
	var corpusOrder []string
	for _, app := range apps {
		jb := jobs[app.JobID]
		if jb == nil {
			continue // the job is gone
		}
		r, err := scoreWith(jb.sc, jb.job, jb.corpus.ID(), app)
		if err != nil {
			return consumer.BatchFailure(first[app.ID], err)
		}
		id := jb.corpus.ID()
		if _, ok := byCorpus[id]; !ok {
			corpusOrder = append(corpusOrder, id)
		}
		byCorpus[id] = append(byCorpus[id], r)
	}
	at := s.now().UTC()
	total, changed := 0, 0
	for _, id := range corpusOrder {
		ch, err := s.storeTx(ctx, tx, id, byCorpus[id], readAt, at)
		if err != nil {
			return err
		}
		total += len(byCorpus[id])
		changed += len(ch)
	}
	s.m.scored("submitted", total, changed) // counted at the attempt; a rolled-back batch may count twice
	return nil
}

// maxParallelReads bounds the reads one batch makes at once (each takes a
// connection of the pool for its time).
const maxParallelReads = 4

type jobRead struct {
	job Job
	err error
}

// readBatch reads a batch's applications (one query) and, at the same
// time, the jobs its events name (one read each, up to maxParallelReads at
// once). The handler holds its transaction's connection meanwhile, and each
// read waits for a connection of its own: under load that wait is the
// batch's main cost, so it is paid about once, not once per read.
func (s *Service) readBatch(ctx context.Context, appIDs, jobIDs []uuid.UUID) ([]Application, map[uuid.UUID]*jobRead, error) {
	reads := make(map[uuid.UUID]*jobRead, len(jobIDs))
	var wg sync.WaitGroup
	var apps []Application
	var appsErr error
	wg.Go(func() { apps, appsErr = s.apps.SubmittedMany(ctx, appIDs) })
	sem := make(chan struct{}, maxParallelReads)
	for _, id := range jobIDs {
		r := &jobRead{}
		reads[id] = r
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			r.job, r.err = s.jobs.ScreeningJob(ctx, id)
		})
	}
	wg.Wait()
	return apps, reads, appsErr
}

// HandleStatusChanged keeps the application's current status (the
// fairness report's selection; withdrawn applications leave the ranking).
func (s *Service) HandleStatusChanged(ctx context.Context, tx pgx.Tx, ev outbox.Envelope) error {
	p, err := decodeData[statusChangedV1](ev)
	if err != nil {
		return err
	}
	return s.setStatusTx(ctx, tx, p.ApplicationID, p.JobID, p.OrgID, p.CandidateID, p.To, p.ChangedAt)
}

// HandleWithdrawn records a withdrawal.
func (s *Service) HandleWithdrawn(ctx context.Context, tx pgx.Tx, ev outbox.Envelope) error {
	p, err := decodeData[withdrawnV1](ev)
	if err != nil {
		return err
	}
	return s.setStatusTx(ctx, tx, p.ApplicationID, p.JobID, p.OrgID, p.CandidateID, "withdrawn", p.WithdrawnAt)
}

func (s *Service) setStatusTx(ctx context.Context, tx pgx.Tx, app, job, org, candidate uuid.UUID, status string, at time.Time) error {
	if !knownStatus(status) {
		return consumer.Permanent(fmt.Errorf("unknown application status %q", status))
	}
	at = at.UTC()
	err := db.New(tx).ResultStatusSet(ctx, db.ResultStatusSetParams{
		ApplicationID: app, JobID: job, OrgID: org, CandidateID: candidate, Status: status, StatusAt: &at,
	})
	return postgres.Translate(err)
}

// Application statuses (the applications module's words).
var statuses = []string{"submitted", "under_review", "shortlisted", "interview", "offered", "hired", "rejected", "withdrawn"}

func knownStatus(s string) bool {
	for _, x := range statuses {
		if x == s {
			return true
		}
	}
	return false
}

// afterSubmitted brings the ranking entries of a committed batch of
// submitted applications up to date in Redis, all at once.
func (s *Service) afterSubmitted(ctx context.Context, evs []outbox.Envelope) {
	ids := make([]uuid.UUID, 0, len(evs))
	for _, ev := range evs {
		if id, err := uuid.Parse(ev.Subject); err == nil {
			ids = append(ids, id)
		}
	}
	s.syncRanking(ctx, ids)
}

// afterApplicationEvent brings the application's ranking entry in Redis
// up to date once the event's effect has committed.
func (s *Service) afterApplicationEvent(ctx context.Context, ev outbox.Envelope) {
	id, err := uuid.Parse(ev.Subject)
	if err != nil {
		return
	}
	s.syncRanking(ctx, []uuid.UUID{id})
}

// HandleCriteriaChanged re-screens the job: it queues a run, or starts the
// queued or running one over (the pages it did were scored with the old
// criteria).
func (s *Service) HandleCriteriaChanged(ctx context.Context, tx pgx.Tx, ev outbox.Envelope) error {
	p, err := decodeData[criteriaChangedV1](ev)
	if err != nil {
		return err
	}
	_, err = s.queueRunTx(ctx, tx, p.JobID, p.OrgID, reasonCriteriaChanged, nil, true)
	return err
}
