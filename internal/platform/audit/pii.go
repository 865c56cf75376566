package audit

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"unicode/utf8"
)

// The PII guard. The audit log is kept for years and read by administrators
// of every organisation, so a CNIC or phone number that a module puts in an
// entry by mistake must not be stored. Record redacts rather than refuses:
// refusing would fail the business transaction (or lose the event) because
// of a logging slip, while a redacted entry still records what happened and
// says, with pii_redacted, that something was removed.
//
// What counts as PII here (documented in docs/security.md):
//   - a standalone run of 10–15 digits (CNIC 3520212345671, phone
//     03001234567 or 923001234567);
//   - a CNIC written 35202-1234567-1;
//   - a phone number with separators that starts with +, 00 or 0
//     (+92 300 1234567, 0300-1234567, (051) 1234567) and has 10–15 digits;
//   - a whole number of 10–15 digits in details (a CNIC stored as a number).
//
// "Standalone" means not glued to letters or other digits, so UUIDs, hashes,
// RFC 3339 times and ids such as APP-2026-000123 are left alone. It is a
// safety net, not a data-loss-prevention engine: modules must still not put
// PII in entries.

const (
	redactedMark     = "[redacted]"
	redactedCountKey = "pii_redacted"
)

// digitRuns calls fn with the bounds of every candidate number in s, left
// to right and not overlapping: digits, optionally with + ( ) - and spaces
// between them, starting with a digit or a + or ( right before one, ending
// with a digit, at least two digits long. It is what the regular expression
// `[+(]?[0-9][0-9 ()\-]*[0-9]` finds (FindAllStringIndex; the test checks
// the two agree), by hand because every audit entry with ten digits or more
// in it (a UUID, a receipt number) goes through it, and the regexp engine's
// backtracking cost a few per cent of a whole application submission.
func digitRuns(s string, fn func(start, end int)) {
	for i := 0; i < len(s); {
		start, d := i, i
		if (s[i] == '+' || s[i] == '(') && i+1 < len(s) && isDigit(s[i+1]) {
			d = i + 1
		} else if !isDigit(s[i]) {
			i++
			continue
		}
		last := -1 // the last digit after the first, where the run ends
		for k := d + 1; k < len(s) && inRun(s[k]); k++ {
			if isDigit(s[k]) {
				last = k
			}
		}
		if last < 0 {
			i++ // one digit alone is no number; look again from the next byte
			continue
		}
		fn(start, last+1)
		i = last + 1
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// inRun: what may continue a number after its first digit.
func inRun(c byte) bool { return isDigit(c) || c == ' ' || c == '(' || c == ')' || c == '-' }

var dashedCNIC = regexp.MustCompile(`^[0-9]{5}-[0-9]{7}-[0-9]$`)

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// joiners continue a token: "8def-123456789012" is the tail of a UUID.
const joiners = "-_./"

// glued reports whether s[start:end] is part of a bigger token: touching a
// letter or digit, or joined to one by - _ . or /.
func glued(s string, start, end int) bool {
	if start > 0 {
		c := s[start-1]
		if isAlnum(c) || strings.IndexByte(joiners, c) >= 0 && start > 1 && isAlnum(s[start-2]) {
			return true
		}
	}
	if end < len(s) {
		c := s[end]
		if isAlnum(c) || strings.IndexByte(joiners, c) >= 0 && end+1 < len(s) && isAlnum(s[end+1]) {
			return true
		}
	}
	return false
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

// looksLikePII applies the rules above to one candidate run.
func looksLikePII(run string) bool {
	d := countDigits(run)
	if d < 10 || d > 15 {
		return false
	}
	if d == len(run) {
		return true // bare digits
	}
	if dashedCNIC.MatchString(run) {
		return true
	}
	r := strings.TrimPrefix(run, "(")
	return strings.HasPrefix(r, "+") || strings.HasPrefix(r, "0")
}

// redactString replaces every PII-looking run in s and reports how many.
func redactString(s string) (string, int) {
	if countDigits(s) < 10 {
		return s, 0 // the common case: nothing long enough to be a number
	}
	var b strings.Builder
	n, last := 0, 0
	digitRuns(s, func(start, end int) {
		// A run glued to a bigger token (a UUID, a hash, a time): leave it.
		if glued(s, start, end) {
			return
		}
		run := s[start:end]
		if looksLikePII(run) {
			b.WriteString(s[last:start])
			b.WriteString(redactedMark)
			last, n = end, n+1
			return
		}
		// A long spaced run may hold several numbers ("0300 1234567 and
		// 35202-1234567-1" is split by the words, but "3520212345671
		// 03001234567" is not): judge each space-separated part alone.
		if countDigits(run) > 15 && strings.Contains(run, " ") {
			off := start
			for _, part := range strings.Split(run, " ") {
				if part != "" && looksLikePII(part) {
					b.WriteString(s[last:off])
					b.WriteString(redactedMark)
					last, n = off+len(part), n+1
				}
				off += len(part) + 1
			}
		}
	})
	if n == 0 {
		return s, 0
	}
	b.WriteString(s[last:])
	return b.String(), n
}

// redactDetails returns a JSON-ready copy of d with PII-looking values
// replaced. d may hold any JSON-marshalable values, so it goes through JSON
// once and the generic form is walked; details that are all strings (the
// common case: ids, codes, a receipt number) are redacted as they are,
// which gives the same result without the round trip.
func redactDetails(d map[string]any) (map[string]any, int, error) {
	if out, n, ok := redactStrings(d); ok {
		return out, n, nil
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, 0, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep big numbers exact, so a CNIC stored as a number is seen
	var generic map[string]any
	if err := dec.Decode(&generic); err != nil {
		return nil, 0, err
	}
	n := 0
	for k, v := range generic {
		generic[k] = redactValue(v, &n)
	}
	return generic, n, nil
}

// redactStrings is redactDetails for details whose values are all valid
// UTF-8 strings; ok is false when one is not (JSON would rewrite an invalid
// one, so those take the round trip).
func redactStrings(d map[string]any) (map[string]any, int, bool) {
	for _, v := range d {
		if s, ok := v.(string); !ok || !utf8.ValidString(s) {
			return nil, 0, false
		}
	}
	out := make(map[string]any, len(d)+1) // room for pii_redacted
	n := 0
	for k, v := range d {
		s, c := redactString(v.(string))
		out[k], n = s, n+c
	}
	return out, n, true
}

func redactValue(v any, n *int) any {
	switch x := v.(type) {
	case string:
		s, c := redactString(x)
		*n += c
		return s
	case json.Number:
		lit := strings.TrimPrefix(x.String(), "-")
		if d := countDigits(lit); d == len(lit) && d >= 10 && d <= 15 {
			*n++
			return redactedMark
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = redactValue(e, n)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = redactValue(e, n)
		}
		return x
	}
	return v
}
