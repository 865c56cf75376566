package auth

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/text/unicode/norm"

	"github.com/pvara-gov/pvara/internal/platform/admission"
	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/metrics"
)

// HashConfig configures password hashing and its admission control.
type HashConfig struct {
	// Argon2id parameters of new hashes. OWASP's minimum for argon2id is
	// 19 MiB, 2 iterations, 1 lane; that is the default of the
	// configuration (auth.argon2_*), and it is set explicitly here because
	// argon2id.DefaultParams scales parallelism with the CPU count.
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
	// Concurrency bounds how many hashes run at once (0: GOMAXPROCS). Each
	// hash holds MemoryKiB of memory and one core for ~20 ms, so this bound
	// is what keeps a login flood from queueing until memory runs out.
	Concurrency int
	// Queue is how many requests may wait for a slot; when it is full a
	// request is refused at once (ErrBusy: 503 with Retry-After).
	Queue int
	// QueueWait bounds how long a queued request waits before it is refused.
	QueueWait time.Duration
}

// ErrBusy is answered when every hashing slot is taken and the queue is
// full: a fast 503 with Retry-After instead of an ever-growing queue.
var ErrBusy = apperr.New(apperr.KindUnavailable, "busy", "too many sign-ins and registrations at once; try again shortly").
	WithRetryAfter(time.Second)

// Hasher hashes and verifies passwords with argon2id, with at most
// Concurrency hashes at a time.
type Hasher struct {
	params argon2id.Params
	gate   *admission.Gate
	// dummy is a hash of a random password with the current parameters: an
	// unknown e-mail is checked against it so that it costs the same time
	// as a wrong password.
	dummy string

	inFlight prometheus.Gauge
	rejected prometheus.Counter
	duration prometheus.Histogram
	queued   prometheus.Histogram
}

// NewHasher builds a Hasher; reg may be nil.
func NewHasher(cfg HashConfig, reg prometheus.Registerer) (*Hasher, error) {
	if cfg.MemoryKiB < 8 || cfg.Iterations < 1 || cfg.Parallelism < 1 {
		return nil, errors.New("auth: argon2id parameters must be at least m=8 KiB, t=1, p=1")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = runtime.GOMAXPROCS(0)
	}
	if cfg.Queue < 0 {
		cfg.Queue = 0
	}
	h := &Hasher{
		params: argon2id.Params{
			Memory: cfg.MemoryKiB, Iterations: cfg.Iterations, Parallelism: cfg.Parallelism,
			SaltLength: 16, KeyLength: 32,
		},
		gate: admission.New(cfg.Concurrency, cfg.Queue, cfg.QueueWait),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pvara_auth_password_hashes_in_flight", Help: "Password hashes being computed now.",
		}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pvara_auth_password_hash_rejected_total", Help: "Requests refused because every hashing slot was taken (503 busy).",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "pvara_auth_password_hash_seconds", Help: "Time to compute one password hash.", Buckets: metrics.LatencyBuckets,
		}),
		queued: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "pvara_auth_password_hash_wait_seconds", Help: "Time a request waited for a hashing slot.", Buckets: metrics.LatencyBuckets,
		}),
	}
	if reg != nil {
		reg.MustRegister(h.inFlight, h.rejected, h.duration, h.queued)
	}
	var err error
	if h.dummy, err = argon2id.CreateHash(randomToken(), &h.params); err != nil {
		return nil, err
	}
	return h, nil
}

// Acquire takes a hashing slot, waiting only if fewer than Queue requests
// already wait, and at most QueueWait. The returned func releases it.
func (h *Hasher) Acquire(ctx context.Context) (release func(), err error) {
	waited, err := h.gate.Acquire(ctx)
	if errors.Is(err, admission.ErrFull) {
		h.rejected.Inc()
		return nil, ErrBusy
	}
	if err != nil {
		return nil, err
	}
	return h.release(waited), nil
}

// Waiting is how many requests wait for a slot now.
func (h *Hasher) Waiting() int { return h.gate.Waiting() }

func (h *Hasher) release(waited time.Duration) func() {
	h.queued.Observe(waited.Seconds())
	h.inFlight.Inc()
	var once atomic.Bool
	return func() {
		if once.CompareAndSwap(false, true) {
			h.inFlight.Dec()
			h.gate.Release()
		}
	}
}

// Hash hashes a (normalised) password. The caller holds a slot.
func (h *Hasher) Hash(password string) (string, error) {
	defer h.observe(time.Now())
	return argon2id.CreateHash(password, &h.params)
}

// Verify checks password against hash. needsRehash reports that the hash
// was made with other parameters than the current ones, so the caller
// should store a new hash (it still holds the slot). The caller holds a slot.
func (h *Hasher) Verify(password, hash string) (ok, needsRehash bool, err error) {
	defer h.observe(time.Now())
	ok, p, err := argon2id.CheckHash(password, hash)
	if err != nil {
		return false, false, err
	}
	needsRehash = p.Memory != h.params.Memory || p.Iterations != h.params.Iterations ||
		p.Parallelism != h.params.Parallelism || p.KeyLength != h.params.KeyLength
	return ok, needsRehash, nil
}

// VerifyDummy spends the time of one verification and returns false: the
// unknown-account path of a login.
func (h *Hasher) VerifyDummy(password string) {
	_, _, _ = h.Verify(password, h.dummy)
}

func (h *Hasher) observe(start time.Time) { h.duration.Observe(time.Since(start).Seconds()) }

//go:embed common_passwords.txt
var commonPasswordsFile string

// PasswordPolicy applies NIST SP 800-63B-4 (section 3.1.1.2): a minimum
// length (15 characters for a password used alone; configurable), at least
// 64 characters allowed, every printable character and Unicode allowed
// (normalised with NFKC), no composition rules, and a blocklist of
// commonly used, expected or compromised values: the bundled list, values
// made of one repeated character or a plain sequence, and context words
// (the service name, the e-mail address and the person's name).
type PasswordPolicy struct {
	min, max int
	common   map[string]struct{}
}

// NewPasswordPolicy builds the policy; max must be at least 64.
func NewPasswordPolicy(min, max int) (*PasswordPolicy, error) {
	if min < 8 || max < 64 || max < min {
		return nil, fmt.Errorf("auth: password lengths must satisfy 8 <= min <= max and max >= 64 (got %d, %d)", min, max)
	}
	p := &PasswordPolicy{min: min, max: max, common: make(map[string]struct{}, 12000)}
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsFile))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p.common[strings.ToLower(line)] = struct{}{}
	}
	return p, sc.Err()
}

// CommonCount is the size of the blocklist.
func (p *PasswordPolicy) CommonCount() int { return len(p.common) }

// ErrWeakPassword is a password the policy refuses (422).
var ErrWeakPassword = apperr.New(apperr.KindInvalid, "weak_password", "the password does not meet the password policy")

// Normalize is what is hashed and compared: the NFKC form, so that the same
// password typed on two keyboards (composed or decomposed characters)
// matches. Login normalises the same way.
func Normalize(password string) string { return norm.NFKC.String(password) }

// Check validates a new password; context holds words the password must
// not be (the e-mail, its local part, the full name). It returns the
// normalised password to hash, or an error naming the field.
func (p *PasswordPolicy) Check(password string, context ...string) (string, error) {
	fail := func(msg string) (string, error) {
		e := ErrWeakPassword.WithDetail(msg)
		e.Fields = []apperr.FieldError{{Location: "body.password", Message: msg}}
		return "", e
	}
	if !utf8.ValidString(password) {
		return fail("the password must be valid UTF-8 text")
	}
	pw := Normalize(password)
	n := utf8.RuneCountInString(pw)
	if n < p.min {
		return fail(fmt.Sprintf("the password must be at least %d characters long; a passphrase of several words is easiest to remember", p.min))
	}
	if n > p.max {
		return fail(fmt.Sprintf("the password must be at most %d characters long", p.max))
	}
	lower := strings.ToLower(pw)
	if _, bad := p.common[lower]; bad {
		return fail("this password is too common; choose another")
	}
	if repetitive(lower) || sequential(lower) {
		return fail("the password must not be one repeated character or a simple sequence")
	}
	squashed := squash(lower)
	for _, c := range append(context, "pvara", "pvarapassword") {
		c = strings.ToLower(strings.TrimSpace(c))
		if c == "" {
			continue
		}
		if lower == c || squashed == squash(c) {
			return fail("the password must not be your e-mail address, your name or the name of the service")
		}
	}
	return pw, nil
}

// repetitive reports a string made of one repeated unit of up to 8
// characters ("aaaa...", "abcabcabc...").
func repetitive(s string) bool {
	r := []rune(s)
	for unit := 1; unit <= 8 && unit < len(r); unit++ {
		if len(r)%unit != 0 {
			continue
		}
		same := true
		for i := unit; i < len(r) && same; i++ {
			same = r[i] == r[i-unit]
		}
		if same {
			return true
		}
	}
	return false
}

// sequential reports a run of consecutive code points, ascending or
// descending ("123456789012345" wraps digits; "abcdefghijklmnop").
func sequential(s string) bool {
	r := []rune(s)
	if len(r) < 2 {
		return false
	}
	step := func(a, b rune, d rune) bool {
		if b-a == d {
			return true
		}
		// digits wrap around: ...8901...
		if a >= '0' && a <= '9' && b >= '0' && b <= '9' {
			return (b-'0'+10-(a-'0'))%10 == (d+10)%10
		}
		return false
	}
	for _, d := range []rune{1, -1} {
		ok := true
		for i := 1; i < len(r) && ok; i++ {
			ok = step(r[i-1], r[i], d)
		}
		if ok {
			return true
		}
	}
	return false
}

// squash drops everything but letters and digits, so "Ali Khan" and
// "ali.khan" compare equal.
func squash(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 {
			b.WriteRune(r)
		}
	}
	return b.String()
}
