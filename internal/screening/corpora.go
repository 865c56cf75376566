package screening

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/screening/internal/db"
)

// RefreshCorpus builds the corpus from the newest published and closed
// jobs and stores it as the current one when it differs from the stored
// ones (its id is a hash of its content, so an unchanged job set writes
// nothing). It returns the current corpus id.
func (s *Service) RefreshCorpus(ctx context.Context) (string, error) {
	texts, err := s.jobs.CorpusTexts(ctx, s.cfg.CorpusMaxJobs)
	if err != nil {
		return "", fmt.Errorf("screening: corpus texts: %w", err)
	}
	c := NewCorpus(texts)
	body, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	err = postgres.ScopedTx(ctx, s.db, postgres.SystemScope(), func(tx pgx.Tx) error {
		q := db.New(tx)
		latest, err := q.CorpusLatest(ctx)
		if err == nil && latest.ID == c.ID() {
			return nil
		}
		if err != nil && !postgres.IsNotFound(err) {
			return postgres.Translate(err)
		}
		return postgres.Translate(q.CorpusInsert(ctx, c.ID(), body, int32(c.Docs()), s.now().UTC()))
	})
	if err != nil {
		return "", err
	}
	s.remember(c)
	return c.ID(), nil
}

// RunCorpusRefresh refreshes the corpus at start and then every
// CorpusRefresh until ctx ends (the `screening` worker role runs it). Every
// replica may run it: the corpus id is a hash of its content, so replicas
// that build the same corpus store one row. It runs outside the
// maintenance runner on purpose: that runner holds a connection per task
// for the whole run, and one more task there could take the pool's last
// connection from the tasks' own transactions.
func (s *Service) RunCorpusRefresh(ctx context.Context) error {
	for {
		if _, err := s.RefreshCorpus(ctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("screening: corpus refresh failed; the previous corpus stays current", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.cfg.CorpusRefresh):
		}
	}
}

func (s *Service) remember(c *Corpus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.corpora) >= 8 {
		clear(s.corpora) // corpora change hourly at most; keep memory bounded
	}
	s.corpora[c.ID()] = c
}

// loadCorpus returns a stored corpus by id, from memory when it can.
func (s *Service) loadCorpus(ctx context.Context, tx pgx.Tx, id string) (*Corpus, error) {
	s.mu.Lock()
	c := s.corpora[id]
	s.mu.Unlock()
	if c != nil {
		return c, nil
	}
	row, err := db.New(tx).CorpusGet(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("screening: corpus %s: %w", id, postgres.Translate(err))
	}
	c = new(Corpus)
	if err := json.Unmarshal(row.Body, c); err != nil {
		return nil, fmt.Errorf("screening: corpus %s: %w", id, err)
	}
	if c.ID() != id {
		return nil, fmt.Errorf("screening: corpus %s reads back as %s", id, c.ID())
	}
	s.remember(c)
	return c, nil
}

// currentCorpusID is the newest stored corpus ("" when none was built yet).
func currentCorpusID(ctx context.Context, tx pgx.Tx) (string, error) {
	latest, err := db.New(tx).CorpusLatest(ctx)
	if postgres.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", postgres.Translate(err)
	}
	return latest.ID, nil
}

// corpusForJob returns the corpus job is scored with: its pinned corpus,
// or (first score of the job) the current one, which it pins. With no
// corpus built yet it returns nil (the model then uses the job's own text)
// and pins nothing.
func (s *Service) corpusForJob(ctx context.Context, tx pgx.Tx, job Job) (*Corpus, error) {
	q := db.New(tx)
	id, err := q.JobCorpusGet(ctx, job.ID)
	if postgres.IsNotFound(err) {
		cur, err := currentCorpusID(ctx, tx)
		if err != nil || cur == "" {
			return nil, err
		}
		id, err = q.JobCorpusPin(ctx, job.ID, job.OrgID, cur, s.now().UTC())
		if postgres.IsNotFound(err) {
			// Another transaction pinned the job after this statement's
			// snapshot was taken: the insert waited for it and did nothing,
			// and the snapshot cannot see its row. A new statement can.
			id, err = q.JobCorpusGet(ctx, job.ID)
		}
		if err != nil {
			return nil, postgres.Translate(err)
		}
	} else if err != nil {
		return nil, postgres.Translate(err)
	}
	return s.loadCorpus(ctx, tx, id)
}

// repinCorpus moves job to the current corpus (a re-screening of the whole
// job) and returns it.
func (s *Service) repinCorpus(ctx context.Context, tx pgx.Tx, job Job) (*Corpus, error) {
	cur, err := currentCorpusID(ctx, tx)
	if err != nil || cur == "" {
		return nil, err
	}
	if err := db.New(tx).JobCorpusRepin(ctx, job.ID, job.OrgID, cur, s.now().UTC()); err != nil {
		return nil, postgres.Translate(err)
	}
	return s.loadCorpus(ctx, tx, cur)
}
