package outbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/uuid"
)

// Finding is one suspected piece of plaintext PII in a payload. It names
// where and why, never the value itself, so a test failure does not print
// the PII it found.
type Finding struct {
	// Path is the JSON path, e.g. "data.contact.phone".
	Path string
	// Reason is what the value looks like.
	Reason string
}

func (f Finding) String() string { return f.Path + ": " + f.Reason }

// A digit run is bounded by non-digits (or the ends) so that, for example,
// the 12-digit last group of a UUID is not read as part of a longer number.
var piiPatterns = []struct {
	re     *regexp.Regexp
	reason string
}{
	{regexp.MustCompile(`(^|[^0-9])\d{5}-\d{7}-\d([^0-9]|$)`), "a CNIC (5-7-1 digits with dashes)"},
	{regexp.MustCompile(`(^|[^0-9])\d{13}([^0-9]|$)`), "13 digits (a CNIC without dashes)"},
	{regexp.MustCompile(`\+\s?\d(?:[\s-]?\d){8,14}([^0-9]|$)`), "an international phone number"},
	{regexp.MustCompile(`(^|[^0-9])(?:0092|92)[\s-]?3\d{2}[\s-]?\d{7}([^0-9]|$)`), "a Pakistani mobile number"},
	{regexp.MustCompile(`(^|[^0-9])03\d{2}[\s-]?\d{7}([^0-9]|$)`), "a Pakistani mobile number"},
	{regexp.MustCompile(`(^|[^0-9])0\d{2,4}-\d{6,8}([^0-9]|$)`), "a landline number"},
}

// piiKey matches object keys that name a CNIC or a phone number; their
// values must be masked (e.g. "*****-*******-1" or "0300-****567").
var piiKey = regexp.MustCompile(`(?i)cnic|phone|mobile|msisdn|national_?id|whatsapp`)

func masked(s string) bool {
	return strings.Count(s, "*")+strings.Count(s, "•")+strings.Count(s, "X") >= 4
}

// ScanPII looks through a JSON document (an envelope or a payload) for
// values that look like a plaintext CNIC or phone number: CNIC patterns
// (12345-1234567-1, or 13 digits), phone numbers (+92…, 03xx-xxxxxxx,
// landlines), any integer of 10 digits or more (a CNIC or phone sent as a
// number; ids belong in UUID strings and times in RFC 3339 strings), and
// unmasked values under keys named like cnic or phone. It returns nothing
// for a clean document; a document that is not JSON is reported as such.
func ScanPII(doc []byte) []Finding {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []Finding{{Path: "$", Reason: "not JSON: " + err.Error()}}
	}
	var out []Finding
	scanValue("", v, &out)
	return out
}

func scanValue(path string, v any, out *[]Finding) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if piiKey.MatchString(k) {
				if s, ok := val.(string); ok && s != "" && !masked(s) {
					*out = append(*out, Finding{Path: p, Reason: "an unmasked value under a CNIC/phone key"})
					continue
				}
				if n, ok := val.(json.Number); ok && n != "" {
					*out = append(*out, Finding{Path: p, Reason: "a number under a CNIC/phone key"})
					continue
				}
			}
			scanValue(p, val, out)
		}
	case []any:
		for i, val := range x {
			scanValue(fmt.Sprintf("%s[%d]", path, i), val, out)
		}
	case string:
		if isUUID(x) {
			return // an id: its hex groups can take a phone number's shape by chance
		}
		for _, pat := range piiPatterns {
			if pat.re.MatchString(x) {
				*out = append(*out, Finding{Path: path, Reason: "looks like " + pat.reason})
				return
			}
		}
	case json.Number:
		s := strings.TrimLeft(string(x), "-")
		if !strings.ContainsAny(s, ".eE") && len(s) >= 10 {
			*out = append(*out, Finding{Path: path, Reason: "an integer of 10 or more digits (a CNIC or phone number?)"})
		}
	}
}

// isUUID reports whether s is a UUID in its canonical 36-character form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}
