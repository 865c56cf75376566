package outbox_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/outbox"
)

func TestScanPII(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		doc   string
		found bool
	}{
		{"clean ids and codes", `{"user_id":"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","role":"candidate","score":87.5,"count":12}`, false},
		{"uuid with a 12-digit group", `{"id":"01234567-0123-7123-8123-123456789012"}`, false},
		// "a012-345678" inside it reads like a landline (0dd-dddddd).
		{"uuid with a landline's shape inside", `{"org_id":"01a22700-41b0-7a2f-a012-345678bcdef0"}`, false},
		{"rfc3339 time", `{"at":"2026-05-01T10:00:00.123456789+05:00"}`, false},
		{"masked cnic under a cnic key", `{"cnic_masked":"*****-*******-1"}`, false},
		{"masked phone", `{"phone":"0300-****567"}`, false},
		{"cnic with dashes", `{"note":"holder 35202-1234567-1 applied"}`, true},
		{"cnic as 13 digits", `{"ref":"3520212345671"}`, true},
		{"cnic as a number", `{"ref":3520212345671}`, true},
		{"cnic deep in an array", `{"a":[{"b":["x","35202-1234567-1"]}]}`, true},
		{"international phone", `{"contact":"+92 300 1234567"}`, true},
		{"international phone compact", `{"contact":"+923001234567"}`, true},
		{"local mobile", `{"contact":"0300-1234567"}`, true},
		{"local mobile compact", `{"contact":"03001234567"}`, true},
		{"mobile with 92", `{"contact":"923001234567"}`, true},
		{"landline", `{"office":"051-9211234"}`, true},
		{"unmasked value under a phone key", `{"mobile_number":"call me"}`, true},
		{"number under a cnic key", `{"cnic":42}`, true},
		{"not json", `{"a":`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fs := outbox.ScanPII([]byte(c.doc))
			if c.found {
				require.NotEmpty(t, fs)
				for _, f := range fs {
					require.NotContains(t, f.String(), "1234567", "a finding must not repeat the value")
				}
			} else {
				require.Empty(t, fs)
			}
		})
	}
}

func TestEventTypeValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, outbox.ValidateAll(outbox.Events()))

	good := outbox.EventType{Type: "jobs.published", Version: 1, Producer: "jobs", Subject: "job id", Description: "d", Example: map[string]any{"job_id": "x"}}
	require.NoError(t, good.Validate())
	require.Equal(t, "pvara.jobs.published", good.Topic())
	require.Equal(t, "pvara.jobs.published.dlq", good.DLQTopic())

	bad := map[string]func(*outbox.EventType){
		"name":        func(e *outbox.EventType) { e.Type = "JobsPublished" },
		"two dots":    func(e *outbox.EventType) { e.Type = "jobs.published.v2" },
		"version":     func(e *outbox.EventType) { e.Version = 0 },
		"undescribed": func(e *outbox.EventType) { e.Description = "" },
		"not object":  func(e *outbox.EventType) { e.Example = []string{"a"} },
		"pii":         func(e *outbox.EventType) { e.Example = map[string]any{"cnic": "35202-1234567-1"} },
	}
	for name, mutate := range bad {
		e := good
		mutate(&e)
		require.Error(t, e.Validate(), name)
	}
	require.Error(t, outbox.ValidateAll([]outbox.EventType{good, good}), "declared twice")
}
