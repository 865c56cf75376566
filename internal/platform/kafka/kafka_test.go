package kafka_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/pvara-gov/pvara/internal/platform/config"
	"github.com/pvara-gov/pvara/internal/platform/kafka"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

func ensure(t *testing.T, cfg config.Kafka) error {
	t.Helper()
	cl, err := kafka.NewClient(cfg)
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = kafka.EnsureTopics(ctx, cl, kafka.TopicSpec{Partitions: 2, ReplicationFactor: 1}, "pvara.a.b")
	return err
}

func TestEnsureTopicsCreatesOnlyWhatIsMissing(t *testing.T) {
	t.Parallel()
	k := testenv.NewKafka(t)
	cfg := config.Defaults().Kafka
	cfg.Brokers = k.ListenAddrs()
	cl, err := kafka.NewClient(cfg)
	require.NoError(t, err)
	defer cl.Close()
	ctx := context.Background()
	spec := kafka.TopicSpec{Partitions: 3, ReplicationFactor: 1}

	created, err := kafka.EnsureTopics(ctx, cl, spec, "pvara.x.y", "pvara.x.y.dlq", "pvara.x.y")
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"pvara.x.y", "pvara.x.y.dlq"}, created)

	require.NoError(t, k.CreateTopic("pvara.other", 1, nil))
	created, err = kafka.EnsureTopics(ctx, cl, spec, "pvara.x.y", "pvara.other", "pvara.z.w")
	require.NoError(t, err)
	require.Equal(t, []string{"pvara.z.w"}, created)

	topics, err := kadm.NewClient(cl).ListTopics(ctx)
	require.NoError(t, err)
	require.Len(t, topics["pvara.x.y"].Partitions, 3)
	require.Len(t, topics["pvara.other"].Partitions, 1, "an existing topic is left as it is")
	require.NoError(t, kafka.Ping(ctx, cl))
}

func TestSASLMechanisms(t *testing.T) {
	t.Parallel()
	for _, mech := range []string{"plain", "scram-sha-256", "scram-sha-512"} {
		t.Run(mech, func(t *testing.T) {
			t.Parallel()
			method := map[string]string{"plain": "PLAIN", "scram-sha-256": "SCRAM-SHA-256", "scram-sha-512": "SCRAM-SHA-512"}[mech]
			k := testenv.NewKafka(t, kfake.EnableSASL(), kfake.Superuser(method, "pvara", "s3cret"))
			cfg := config.Defaults().Kafka
			cfg.Brokers = k.ListenAddrs()
			cfg.SASLMechanism, cfg.SASLUsername, cfg.SASLPassword = mech, "pvara", "s3cret"
			require.NoError(t, ensure(t, cfg))

			cfg.SASLPassword = "wrong"
			require.Error(t, ensure(t, cfg), "a wrong password is refused")
			cfg.SASLMechanism = ""
			require.Error(t, ensure(t, cfg), "no SASL against a SASL cluster is refused")
		})
	}
}

// selfSigned makes a CA and a server certificate for 127.0.0.1 signed by
// it, and writes the CA to a PEM file.
func selfSigned(t *testing.T) (server tls.Certificate, caFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pvara test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	srvTpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTpl, ca, &srvKey.PublicKey, caKey)
	require.NoError(t, err)
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600))
	return tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}, caFile
}

func TestTLSWithACAFile(t *testing.T) {
	t.Parallel()
	cert, caFile := selfSigned(t)
	k := testenv.NewKafka(t, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	cfg := config.Defaults().Kafka
	cfg.Brokers = k.ListenAddrs()
	cfg.TLS, cfg.TLSCAFile = true, caFile
	require.NoError(t, ensure(t, cfg))

	cfg.TLSCAFile = ""
	require.Error(t, ensure(t, cfg), "without the CA the broker's certificate is not trusted")
}

func TestClientOptionsRefuseBadConfiguration(t *testing.T) {
	t.Parallel()
	cfg := config.Defaults().Kafka
	_, err := kafka.ClientOptions(cfg)
	require.True(t, config.IsError(err), "no brokers")

	cfg.Brokers = []string{"127.0.0.1:9092"}
	cfg.TLS, cfg.TLSCAFile = true, filepath.Join(t.TempDir(), "missing.pem")
	_, err = kafka.ClientOptions(cfg)
	require.True(t, config.IsError(err), "unreadable CA file")

	notPEM := filepath.Join(t.TempDir(), "bad.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("hello"), 0o600))
	cfg.TLSCAFile = notPEM
	_, err = kafka.ClientOptions(cfg)
	require.True(t, config.IsError(err), "CA file without certificates")

	cfg.TLSCAFile = ""
	cfg.SASLMechanism = "gssapi"
	_, err = kafka.ClientOptions(cfg)
	require.True(t, config.IsError(err), "unknown SASL mechanism")
}
