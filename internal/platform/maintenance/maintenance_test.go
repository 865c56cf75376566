package maintenance_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/maintenance"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// Many tasks starting together on a small pool, each needing a connection
// of its own besides the one that holds its lock, all run: the runner does
// not let them take every connection and then wait for one more.
func TestManyTasksOnASmallPool(t *testing.T) {
	d := testenv.NewDB(t)
	cfg := d.AppConfig()
	cfg.MaxConns = 4
	pool, err := postgres.Open(context.Background(), cfg, logx.Discard())
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n = 8
	var ran sync.WaitGroup
	ran.Add(n)
	var tasks []maintenance.Task
	for i := range n {
		var once sync.Once
		tasks = append(tasks, maintenance.Task{
			Name: "task-" + string(rune('a'+i)), Every: time.Hour,
			Run: func(ctx context.Context) error {
				// Hold a second connection a while, as a real task's
				// transaction does.
				_, err := pool.Exec(ctx, "SELECT pg_sleep(0.05)")
				once.Do(ran.Done)
				return err
			},
		})
	}
	done := make(chan error, 1)
	go func() { done <- maintenance.New(pool, logx.Discard(), nil, tasks...).Run(ctx) }()

	all := make(chan struct{})
	go func() { ran.Wait(); close(all) }()
	select {
	case <-all:
	case <-time.After(time.Minute): // a deadlock guard, not a speed check
		t.Fatal("the tasks did not all run: the pool is exhausted")
	}
	cancel()
	require.NoError(t, <-done)
}

// A task runs once per replica at a time: while one runner holds a task's
// lock, another runner skips it.
func TestLockedTaskIsSkipped(t *testing.T) {
	d := testenv.NewDB(t)
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	slow := maintenance.Task{Name: "exclusive", Every: time.Hour, Run: func(context.Context) error {
		close(started)
		<-release
		return nil
	}}
	first := maintenance.New(d.App, logx.Discard(), nil)
	second := maintenance.New(d.App, logx.Discard(), nil)
	res := make(chan bool, 1)
	go func() { res <- first.RunOnce(ctx, slow) }()
	<-started
	require.False(t, second.RunOnce(ctx, maintenance.Task{Name: "exclusive", Run: func(context.Context) error {
		t.Error("ran while another runner held the lock")
		return nil
	}}))
	close(release)
	require.True(t, <-res)
}
