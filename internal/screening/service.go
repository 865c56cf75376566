package screening

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/redisx"
)

// Application is an application as submitted, as screening reads it: the
// ids, the current status, and the profile snapshot the model scores.
type Application struct {
	ID, JobID, OrgID, CandidateID uuid.UUID
	SubmittedAt                   time.Time
	// Status is the application's current status (applications' words),
	// and StatusAt when it was set, on the clock of the status events'
	// changed_at (zero: unknown, the time of the read is used).
	Status   string
	StatusAt time.Time
	// Gender is copied into the result for the fairness report ONLY. It is
	// never part of the model's input (ProfileInput has no field for it).
	Gender string
	// Profile is what the model reads of the snapshot; its domicile
	// province also feeds the fairness report.
	Profile ProfileInput
}

// ApplicationSource reads submitted applications. The applications module
// serves it in process (cmd/pvara adapts applications.Service), so the
// interface is declared here, by its user, with screening's own types.
type ApplicationSource interface {
	// SubmittedMany returns the applications with the given ids as
	// submitted, each once, leaving out those it does not have (erased, or
	// never submitted): the first scoring of a consumer batch reads them
	// all at once.
	SubmittedMany(ctx context.Context, ids []uuid.UUID) ([]Application, error)
	// SubmittedForJob pages through a job's applications in id order
	// (after = uuid.Nil for the first page).
	SubmittedForJob(ctx context.Context, jobID, after uuid.UUID, limit int) ([]Application, error)
}

// Job is a job as screening reads it.
type Job struct {
	ID, OrgID uuid.UUID
	Version   int
	// Positions is the fairness report's default top-N.
	Positions int
	// Input is what the model reads of the job.
	Input JobInput
}

// JobSource reads jobs; the jobs module serves it in process (cmd/pvara
// adapts jobs.Service).
type JobSource interface {
	// ScreeningJob returns a job of any organisation, or an error wrapping
	// ErrJobNotFound.
	ScreeningJob(ctx context.Context, id uuid.UUID) (Job, error)
	// CorpusTexts returns the texts (JobText) of up to limit published or
	// closed jobs, newest first.
	CorpusTexts(ctx context.Context, limit int) ([]string, error)
}

// Errors of the screening module.
var (
	// ErrApplicationNotFound: the application source has no such
	// application (erased, or never submitted).
	ErrApplicationNotFound = errors.New("screening: application not found")
	// ErrJobNotFound: no such job, or another organisation's.
	ErrJobNotFound = apperr.New(apperr.KindNotFound, "job_not_found", "the job does not exist")
	// ErrNotScored: the application has no screening result yet, or it is
	// not the caller's to see.
	ErrNotScored = apperr.New(apperr.KindNotFound, "screening_not_found", "the application has not been screened yet")
	// ErrNoRescreen: the job was never re-screened.
	ErrNoRescreen = apperr.New(apperr.KindNotFound, "rescreen_not_found", "the job has not been re-screened")
)

// Config configures the module. Zero fields take the defaults.
type Config struct {
	// CorpusRefresh is how often the worker rebuilds the text-relevance
	// corpus from the published and closed jobs (default 1h).
	CorpusRefresh time.Duration
	// CorpusMaxJobs bounds the jobs in the corpus, newest first (20,000).
	CorpusMaxJobs int
	// RescreenBatch is how many applications one re-screening transaction
	// takes (1,000).
	RescreenBatch int
	// RescreenLease is how long a claimed run stays a worker's without
	// progress before another worker takes it over (30s).
	RescreenLease time.Duration
	// RescreenPoll is how often an idle worker looks for queued runs (1s).
	RescreenPoll time.Duration
	// RescreenMaxAttempts is how many claims a run gets before it is marked
	// failed (5).
	RescreenMaxAttempts int
	// RankingTTL is how long a job's ranking lives in Redis after it was
	// rebuilt (1h); it is then rebuilt from PostgreSQL on the next read,
	// which also repairs any update lost between a commit and Redis.
	RankingTTL time.Duration
	// ScoreWorkers is how many goroutines score a re-screening batch
	// (GOMAXPROCS).
	ScoreWorkers int
}

func (c *Config) defaults() {
	if c.CorpusRefresh <= 0 {
		c.CorpusRefresh = time.Hour
	}
	if c.CorpusMaxJobs <= 0 {
		c.CorpusMaxJobs = 20000
	}
	if c.RescreenBatch <= 0 {
		c.RescreenBatch = 1000
	}
	if c.RescreenLease <= 0 {
		c.RescreenLease = 30 * time.Second
	}
	if c.RescreenPoll <= 0 {
		c.RescreenPoll = time.Second
	}
	if c.RescreenMaxAttempts <= 0 {
		c.RescreenMaxAttempts = 5
	}
	if c.RankingTTL <= 0 {
		c.RankingTTL = time.Hour
	}
	if c.ScoreWorkers <= 0 {
		c.ScoreWorkers = runtime.GOMAXPROCS(0)
	}
}

// Deps are the module's collaborators.
type Deps struct {
	// DB is the application pool (runs as pvara_app, under row-level
	// security).
	DB *pgxpool.Pool
	// Redis holds the rankings.
	Redis *redisx.Client
	// Applications reads submitted applications.
	Applications ApplicationSource
	// Jobs reads jobs.
	Jobs JobSource
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Clock defaults to time.Now.
	Clock func() time.Time
	// Registerer receives the module's metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

// Service is the screening module: the worker's handlers, the re-screening
// runner, the ranking, the explanation and the fairness report.
type Service struct {
	cfg    Config
	db     *pgxpool.Pool
	apps   ApplicationSource
	jobs   JobSource
	rank   *ranking
	m      *metrics
	logger *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	corpora map[string]*Corpus // by id; immutable

	// beforeRankingWrite, when set (tests only), runs in a ranking sync
	// between its read of PostgreSQL and its write to Redis.
	beforeRankingWrite func()
}

// New builds the service.
func New(cfg Config, deps Deps) (*Service, error) {
	cfg.defaults()
	switch {
	case deps.DB == nil:
		return nil, errors.New("screening: a database pool is required")
	case deps.Redis == nil:
		return nil, errors.New("screening: Redis is required (rankings)")
	case deps.Applications == nil || deps.Jobs == nil:
		return nil, errors.New("screening: an application source and a job source are required")
	}
	if deps.Logger == nil {
		deps.Logger = logx.Discard()
	}
	if deps.Clock == nil {
		deps.Clock = time.Now
	}
	s := &Service{
		cfg: cfg, db: deps.DB, apps: deps.Applications, jobs: deps.Jobs, logger: deps.Logger, now: deps.Clock,
		corpora: map[string]*Corpus{}, m: newMetrics(deps.Registerer),
	}
	s.rank = newRanking(deps.Redis, cfg.RankingTTL)
	return s, nil
}
