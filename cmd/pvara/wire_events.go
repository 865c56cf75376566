package main

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/pvara-gov/pvara/internal/applications"
	"github.com/pvara-gov/pvara/internal/auth"
	"github.com/pvara-gov/pvara/internal/jobs"
	"github.com/pvara-gov/pvara/internal/platform/consumer"
	"github.com/pvara-gov/pvara/internal/platform/kafka"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/screening"
)

// eventTypes lists every event type this binary publishes. Each module that
// publishes events adds its declaration here (one line: `auth.Events(),`).
// The relay creates their topics at start; TestDeclaredEventTypes checks
// each declaration (naming, version, an example payload without plaintext
// PII) and that docs/events.md documents its topic.
func eventTypes() []outbox.EventType {
	return slices.Concat(
		outbox.Events(),
		auth.Events(),
		jobs.Events(),
		applications.Events(),
		screening.Events(),
	)
}

// wireEvents wires the event backbone: the `outbox` worker role (the relay),
// the consumer runner that event-driven roles are built on, and the purge
// of the consumers' dedupe records.
//
// A module that reacts to events registers its handlers for a worker role
// in its own wiring, and adds the role's name to knownRoles:
//
//	a.addConsumers("screening", consumer.Handler{
//		Group: "screening", Type: "applications.submitted", Handle: svc.OnApplicationSubmitted,
//	})
//
// The role then runs one consumer-group client per group of its handlers.
func (a *app) wireEvents(_ context.Context) error {
	a.consumerMetrics = consumer.NewMetrics(a.reg)
	a.maintenanceTasks = append(a.maintenanceTasks,
		consumer.PurgeTask(a.db, a.cfg.Consumer.ProcessedRetention, a.clock))
	a.roles["outbox"] = a.runRelay
	return nil
}

// rolesWithoutKafka are the worker roles that do not talk to Kafka; every
// other role needs kafka.brokers.
var rolesWithoutKafka = []string{"maintenance"}

// needsKafka reports whether any of roles needs kafka.brokers.
func needsKafka(roles []string) bool {
	for _, r := range roles {
		if !slices.Contains(rolesWithoutKafka, r) {
			return true
		}
	}
	return false
}

// runRelay is the `outbox` role: it moves committed events from the outbox
// to Kafka until ctx ends. While Kafka is down it keeps retrying (the API
// keeps accepting writes meanwhile) and reports not ready.
func (a *app) runRelay(ctx context.Context) error {
	kopts, err := kafka.ClientOptions(a.cfg.Kafka)
	if err != nil {
		return err
	}
	c := a.cfg.Outbox
	r, err := outbox.NewRelay(outbox.RelayConfig{
		Workers:        c.Workers,
		LanesPerClaim:  c.LanesPerClaim,
		BatchPerLane:   c.BatchPerLane,
		PollMin:        c.PollMin,
		PollMax:        c.PollMax,
		ProduceTimeout: c.ProduceTimeout,
		Linger:         c.Linger,
		RetryMax:       c.RetryMax,
		Topics:         kafka.SpecFrom(a.cfg.Kafka),
		Types:          eventTypes(),
	}, outbox.RelayDeps{
		Pool:    a.db,
		Kafka:   kopts,
		Logger:  a.logger.With("role", "outbox"),
		Metrics: outbox.NewRelayMetrics(a.reg),
	})
	if err != nil {
		return err
	}
	defer r.Close()
	a.ready.Add("kafka", r.Ping)
	return r.Run(ctx)
}

// addConsumers registers handlers for an event-driven worker role and wires
// the role; call it from a module's wiring. The role's name must also be in
// knownRoles.
func (a *app) addConsumers(role string, hs ...consumer.Handler) {
	if a.consumers == nil {
		a.consumers = map[string][]consumer.Handler{}
	}
	a.consumers[role] = append(a.consumers[role], hs...)
	a.roles[role] = func(ctx context.Context) error { return a.runConsumers(ctx, role) }
}

// addRoleLoop runs fn alongside the consumers of an event-driven role (a
// poller the role also owns, such as screening's re-screening runner) until
// ctx ends; register the role's consumers with addConsumers too.
func (a *app) addRoleLoop(role string, fn roleFunc) {
	if a.roleLoops == nil {
		a.roleLoops = map[string][]roleFunc{}
	}
	a.roleLoops[role] = append(a.roleLoops[role], fn)
}

// runConsumers runs the handlers registered for role, and its loops, until
// ctx ends.
func (a *app) runConsumers(ctx context.Context, role string) error {
	kopts, err := kafka.ClientOptions(a.cfg.Kafka)
	if err != nil {
		return err
	}
	c := a.cfg.Consumer
	r, err := consumer.New(consumer.Config{
		MaxAttempts:     c.MaxAttempts,
		RetryBackoff:    c.RetryBackoff,
		RetryBackoffMax: c.RetryBackoffMax,
		HandlerTimeout:  c.HandlerTimeout,
		MaxPollRecords:  c.MaxPollRecords,
		BatchSize:       c.BatchSize,
		Topics:          kafka.SpecFrom(a.cfg.Kafka),
	}, consumer.Deps{
		Pool:     a.db,
		Kafka:    kopts,
		Handlers: a.consumers[role],
		Logger:   a.logger.With("role", role),
		Metrics:  a.consumerMetrics,
	})
	if err != nil {
		return fmt.Errorf("role %s: %w", role, err)
	}
	ping, err := kafka.NewClient(a.cfg.Kafka)
	if err != nil {
		return err
	}
	defer ping.Close()
	a.ready.Add("kafka", func(ctx context.Context) error { return kafka.Ping(ctx, ping) })
	loops := a.roleLoops[role]
	errc := make(chan error, len(loops))
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, loop := range loops {
		go func() { errc <- loop(lctx) }()
	}
	err = r.Run(ctx)
	cancel()
	for range loops {
		err = errors.Join(err, <-errc)
	}
	return err
}
