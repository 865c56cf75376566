package audit

import (
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRedactString(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, want string
		n        int
	}{
		// CNICs and phone numbers in the forms people write them.
		{"35202-1234567-1", redactedMark, 1},
		{"3520212345671", redactedMark, 1},
		{"cnic 35202-1234567-1 given", "cnic " + redactedMark + " given", 1},
		{"cnic:3520212345671", "cnic:" + redactedMark, 1},
		{"03001234567", redactedMark, 1},
		{"0300-1234567", redactedMark, 1},
		{"+92 300 1234567", redactedMark, 1},
		{"+923001234567", redactedMark, 1},
		{"tel:+92-300-1234567.", "tel:" + redactedMark + ".", 1},
		{"923001234567", redactedMark, 1},
		{"(051) 1234567", redactedMark, 1},
		{"call 0300 1234567 or 35202-1234567-1", "call " + redactedMark + " or " + redactedMark, 2},
		{"3520212345671 03001234567", redactedMark + " " + redactedMark, 2},
		// Things that are not PII stay as they are.
		{"", "", 0},
		{"application 12345", "application 12345", 0},
		{"01934b7e-1234-7abc-8def-123456789012", "01934b7e-1234-7abc-8def-123456789012", 0}, // UUID with an all-digit tail
		{"12345678-1234-7234-8234-123456789012", "12345678-1234-7234-8234-123456789012", 0},
		{"2026-11-29T10:11:12Z", "2026-11-29T10:11:12Z", 0},
		{"2026-11-29 10:11:12", "2026-11-29 10:11:12", 0},
		{"APP-2026-000123", "APP-2026-000123", 0},
		{"sha 1234567890abcdef1234", "sha 1234567890abcdef1234", 0},
		{"192.168.100.100", "192.168.100.100", 0},
		{"123456789", "123456789", 0},               // 9 digits: too short
		{"1234567890123456", "1234567890123456", 0}, // 16 digits: too long
	}
	for _, c := range cases {
		got, n := redactString(c.in)
		require.Equal(t, c.want, got, "input %q", c.in)
		require.Equal(t, c.n, n, "input %q", c.in)
	}
}

func TestSanitiseRedactsDetailsAndResourceID(t *testing.T) {
	t.Parallel()
	type nested struct {
		Phone string `json:"phone"`
	}
	e := Entry{
		Action:     "auth.user_updated",
		ResourceID: "3520212345671",
		Details: map[string]any{
			"cnic":      "35202-1234567-1",
			"as_number": int64(3520212345671),
			"fields":    []string{"email", "+92 300 1234567"},
			"profile":   nested{Phone: "03001234567"},
			"count":     3,
			"big_count": 1234567,
			"ok":        "kept",
			"user_id":   "01934b7e-1234-7abc-8def-123456789012",
		},
	}
	raw, err := sanitise(&e)
	require.NoError(t, err)
	require.Equal(t, redactedMark, e.ResourceID)
	var got map[string]any
	require.NoError(t, json.Unmarshal(raw, &got))
	require.Equal(t, map[string]any{
		"cnic":         redactedMark,
		"as_number":    redactedMark,
		"fields":       []any{"email", redactedMark},
		"profile":      map[string]any{"phone": redactedMark},
		"count":        float64(3),
		"big_count":    float64(1234567),
		"ok":           "kept",
		"user_id":      "01934b7e-1234-7abc-8def-123456789012",
		"pii_redacted": float64(5),
	}, got)
	require.NotContains(t, string(raw), "1234567-1")
	require.NotContains(t, string(raw), "3520212345671")
}

func TestSanitiseLeavesCleanEntriesAlone(t *testing.T) {
	t.Parallel()
	e := Entry{Action: "auth.login_succeeded", ResourceID: "01934b7e-1234-7abc-8def-0123456789ab", Details: map[string]any{"method": "password"}}
	raw, err := sanitise(&e)
	require.NoError(t, err)
	require.JSONEq(t, `{"method":"password"}`, string(raw))

	e = Entry{Action: "x", ResourceID: "03001234567"}
	raw, err = sanitise(&e)
	require.NoError(t, err)
	require.JSONEq(t, `{"pii_redacted":1}`, string(raw))

	e = Entry{Action: "x"}
	raw, err = sanitise(&e)
	require.NoError(t, err)
	require.Equal(t, "{}", string(raw))
}

func TestCanonicalJSON(t *testing.T) {
	t.Parallel()
	// The same document however it is formatted, keys in any order, gives
	// the same bytes; numbers keep their literal text.
	a := canonicalJSON(json.RawMessage(`{"b": [1, 2.50, {"y": "<&>", "x": null}], "a": 12345678901234567890}`))
	b := canonicalJSON(json.RawMessage(`{"a":12345678901234567890,"b":[1,2.50,{"x":null,"y":"<&>"}]}`))
	require.Equal(t, string(a), string(b))
	require.Equal(t, `{"a":12345678901234567890,"b":[1,2.50,{"x":null,"y":"<&>"}]}`, string(a))
}

func TestEntryHashCoversEveryField(t *testing.T) {
	t.Parallel()
	org, actor := mustUUID(t), mustUUID(t)
	base := storedEntry{
		ID: mustUUID(t), OccurredAt: mustTime(t, "2026-01-02T03:04:05.123456Z"), OrgID: &org, ActorID: &actor,
		ActorRole: "org_admin", Action: "auth.staff_created", Resource: "user", ResourceID: "u1", IP: "10.0.0.1",
		RequestID: "r1", Details: json.RawMessage(`{"a":1}`),
	}
	h0 := entryHash(&base)
	other := mustUUID(t)
	mutations := map[string]func(e *storedEntry){
		"id":          func(e *storedEntry) { e.ID = other },
		"occurred_at": func(e *storedEntry) { e.OccurredAt = e.OccurredAt.Add(1000) },
		"org_id":      func(e *storedEntry) { e.OrgID = nil },
		"actor_id":    func(e *storedEntry) { e.ActorID = &other },
		"actor_role":  func(e *storedEntry) { e.ActorRole = "platform_admin" },
		"action":      func(e *storedEntry) { e.Action = "auth.staff_removed" },
		"resource":    func(e *storedEntry) { e.Resource = "users" },
		"resource_id": func(e *storedEntry) { e.ResourceID = "u2" },
		"ip":          func(e *storedEntry) { e.IP = "10.0.0.2" },
		"request_id":  func(e *storedEntry) { e.RequestID = "r2" },
		"details":     func(e *storedEntry) { e.Details = json.RawMessage(`{"a":2}`) },
		// Length prefixes: moving a character from one field to the next
		// changes the hash.
		"boundary": func(e *storedEntry) { e.Resource, e.ResourceID = "useru", "1" },
	}
	for name, mutate := range mutations {
		e := base
		mutate(&e)
		require.NotEqual(t, h0, entryHash(&e), name)
	}
	same := base
	same.Details = json.RawMessage(`{ "a" : 1 }`)
	require.Equal(t, h0, entryHash(&same), "formatting of details does not matter")
}

// TestDigitRunsIsTheRegexp: the hand-written scanner finds exactly what the
// regular expression it replaced finds, on the table above and on random
// strings over the characters that matter.
func TestDigitRunsIsTheRegexp(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`[+(]?[0-9][0-9 ()\-]*[0-9]`)
	check := func(s string) {
		var got [][]int
		digitRuns(s, func(start, end int) { got = append(got, []int{start, end}) })
		require.Equal(t, re.FindAllStringIndex(s, -1), got, "input %q", s)
	}
	for _, s := range []string{"", "1", "12", "+1", "+12", "(1", "(12)", "1 ", " 1 2 ", "1--2", "++12", "(+12", "+(12",
		"35202-1234567-1", "+92 300 1234567", "(051) 1234567", "tel:+92-300-1234567.", "a1b2c3", "1-", "-1-2-"} {
		check(s)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "0123456789 ()-+a./_"
	for range 200_000 {
		b := make([]byte, rng.IntN(24))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		check(string(b))
	}
}

// TestRedactStringsIsTheRoundTrip: details that are all strings take the
// fast path and come out as the JSON round trip would make them.
func TestRedactStringsIsTheRoundTrip(t *testing.T) {
	t.Parallel()
	d := map[string]any{"job_id": "01934b7e-1234-7abc-8def-123456789012", "receipt_number": "PV26-000123456",
		"phone": "call 0300 1234567", "cnic": "35202-1234567-1", "empty": "", "urdu": "درخواست 03001234567"}
	fast, n, ok := redactStrings(d)
	require.True(t, ok)
	raw, err := json.Marshal(d)
	require.NoError(t, err)
	var generic map[string]any
	require.NoError(t, json.Unmarshal(raw, &generic))
	m := 0
	for k, v := range generic {
		generic[k] = redactValue(v, &m)
	}
	require.Equal(t, m, n)
	a, err := json.Marshal(fast)
	require.NoError(t, err)
	b, err := json.Marshal(generic)
	require.NoError(t, err)
	require.Equal(t, string(b), string(a))
	for _, other := range []any{3, "\xff 03001234567", []string{"a"}} {
		_, _, ok = redactStrings(map[string]any{"v": other})
		require.False(t, ok, "%#v", other)
	}
}
