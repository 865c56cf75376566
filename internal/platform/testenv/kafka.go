package testenv

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// NewKafka starts an in-process Kafka-protocol cluster (kfake) on a free
// local port, with topic auto-creation off (topics are created by the code
// under test, as on a real cluster), closed when the test ends.
func NewKafka(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatalf("testenv: start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}
