// Package kafka turns the Kafka configuration into franz-go client options
// (seed brokers, client id, TLS, SASL) and creates the topics the event
// backbone needs. It knows nothing about events; internal/platform/outbox
// (the relay) and internal/platform/consumer (the runner) build on it.
//
// Code always points at a real cluster through kafka.brokers
// (PVARA_KAFKA_BROKERS); the in-process kfake broker is only used by tests
// and by `pvara dev`, which hand its address in the same way.
package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/pvara-gov/pvara/internal/platform/config"
)

// ClientOptions returns the franz-go options that connect to the cluster cfg
// describes. Callers append their own (producer or consumer-group) options.
// Files named by cfg (CA, client certificate) are read now, so a bad path
// fails at start with a *config.Error rather than at the first connection.
func ClientOptions(cfg config.Kafka) ([]kgo.Opt, error) {
	if len(cfg.Brokers) == 0 {
		return nil, &config.Error{Key: "kafka.brokers", Expect: "a comma-separated list of host:port (this role needs Kafka)"}
	}
	opts := []kgo.Opt{kgo.SeedBrokers(cfg.Brokers...)}
	if cfg.ClientID != "" {
		opts = append(opts, kgo.ClientID(cfg.ClientID))
	}
	if cfg.TLS {
		tc, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	switch strings.ToLower(cfg.SASLMechanism) {
	case "":
	case "plain":
		opts = append(opts, kgo.SASL(plain.Auth{User: cfg.SASLUsername, Pass: cfg.SASLPassword.Reveal()}.AsMechanism()))
	case "scram-sha-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: cfg.SASLUsername, Pass: cfg.SASLPassword.Reveal()}.AsSha256Mechanism()))
	case "scram-sha-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: cfg.SASLUsername, Pass: cfg.SASLPassword.Reveal()}.AsSha512Mechanism()))
	default:
		return nil, &config.Error{Key: "kafka.sasl_mechanism", Expect: "plain, scram-sha-256 or scram-sha-512"}
	}
	return opts, nil
}

func tlsConfig(cfg config.Kafka) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSCAFile != "" {
		pem, err := os.ReadFile(cfg.TLSCAFile)
		if err != nil {
			return nil, &config.Error{Key: "kafka.tls_ca_file", Expect: "a readable PEM file (" + err.Error() + ")"}
		}
		// The CA file adds to the system roots rather than replacing them,
		// so a cluster with a public certificate still verifies.
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &config.Error{Key: "kafka.tls_ca_file", Expect: "a PEM file holding at least one certificate"}
		}
		tc.RootCAs = pool
	}
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, &config.Error{Key: "kafka.tls_cert_file", Expect: "a PEM certificate and key pair (" + err.Error() + ")"}
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// NewClient builds a client from cfg plus extra options. franz-go connects
// lazily, so this succeeds while the cluster is down.
func NewClient(cfg config.Kafka, extra ...kgo.Opt) (*kgo.Client, error) {
	opts, err := ClientOptions(cfg)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: client: %w", err)
	}
	return cl, nil
}

// TopicSpec says how missing topics are created.
type TopicSpec struct {
	// Partitions per topic (kafka.topic_partitions). A topic's partition
	// count must not change once events flow: the key → partition mapping,
	// and so per-key order, would change with it.
	Partitions int32
	// ReplicationFactor, -1 for the broker default (kafka.replication_factor).
	ReplicationFactor int16
	// Configs are topic configs for new topics (e.g. retention.ms); nil for
	// the broker defaults.
	Configs map[string]*string
}

// SpecFrom is the TopicSpec of the configuration.
func SpecFrom(cfg config.Kafka) TopicSpec {
	return TopicSpec{Partitions: cfg.TopicPartitions, ReplicationFactor: cfg.ReplicationFactor}
}

// EnsureTopics creates the topics that do not exist yet and returns the ones
// it created. Topics that exist are left as they are (their partition count
// is not changed); a topic created concurrently by another process counts as
// existing. It works the same on a real cluster and on kfake, neither of
// which needs auto-creation turned on.
func EnsureTopics(ctx context.Context, cl *kgo.Client, spec TopicSpec, topics ...string) ([]string, error) {
	if len(topics) == 0 {
		return nil, nil
	}
	topics = slices.Compact(slices.Sorted(slices.Values(topics)))
	adm := kadm.NewClient(cl)
	listed, err := adm.ListTopics(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("kafka: list topics: %w", err)
	}
	var missing []string
	for _, t := range topics {
		d, ok := listed[t]
		if !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
			missing = append(missing, t)
			continue
		}
		if d.Err != nil {
			return nil, fmt.Errorf("kafka: describe topic %s: %w", t, d.Err)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	resps, err := adm.CreateTopics(ctx, spec.Partitions, spec.ReplicationFactor, spec.Configs, missing...)
	if err != nil {
		return nil, fmt.Errorf("kafka: create topics: %w", err)
	}
	var created []string
	var errs []error
	for _, t := range missing {
		r, ok := resps[t]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("kafka: create topic %s: no answer", t))
		case r.Err == nil:
			created = append(created, t)
		case errors.Is(r.Err, kerr.TopicAlreadyExists):
		default:
			msg := r.ErrMessage
			if msg != "" {
				msg = " (" + msg + ")"
			}
			errs = append(errs, fmt.Errorf("kafka: create topic %s: %w%s", t, r.Err, msg))
		}
	}
	return created, errors.Join(errs...)
}

// Ping reports whether a broker answers; worker roles use it as their
// readiness check (the API never does: it does not need Kafka).
func Ping(ctx context.Context, cl *kgo.Client) error {
	if err := cl.Ping(ctx); err != nil {
		return fmt.Errorf("kafka: no broker answers: %w", err)
	}
	return nil
}
