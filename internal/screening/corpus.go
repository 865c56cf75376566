package screening

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Corpus holds the document frequencies of a set of job texts (one text per
// job: title, department, description and skills; JobText builds it), from
// which the model takes the inverse document frequency of every word: a
// word most jobs use ("experience", "candidate") weighs little, a word few
// jobs use ("hydrology") weighs a lot.
//
// A Corpus is immutable once built. It serialises to JSON (MarshalJSON) and
// its ID is a hash of exactly what it holds, so a stored result that names
// its corpus ID can be reproduced with the same corpus. A nil *Corpus is
// valid: the model then takes the job's own text as a corpus of one.
type Corpus struct {
	docs int
	df   map[string]int
	id   string
}

// NewCorpus counts, for every word, the number of docs that contain it.
// docs holds one text per job (see JobText).
func NewCorpus(docs []string) *Corpus {
	c := &Corpus{docs: len(docs), df: make(map[string]int)}
	seen := make(map[string]struct{})
	for _, d := range docs {
		clear(seen)
		tokenize(d, func(t []byte) {
			if _, ok := seen[string(t)]; !ok {
				k := string(t)
				seen[k] = struct{}{}
				c.df[k]++
			}
		})
	}
	c.id = c.hash()
	return c
}

// JobText is the text of a job as the corpus and the model read it: title,
// department, description and skills, one per line.
func JobText(title, department, description string, required, preferred []string) string {
	n := len(title) + len(department) + len(description) + 3
	for _, s := range required {
		n += len(s) + 1
	}
	for _, s := range preferred {
		n += len(s) + 1
	}
	b := make([]byte, 0, n+2)
	b = append(b, title...)
	b = append(b, '\n')
	b = append(b, department...)
	b = append(b, '\n')
	b = append(b, description...)
	b = append(b, '\n')
	for _, s := range required {
		b = append(b, s...)
		b = append(b, '\n')
	}
	for _, s := range preferred {
		b = append(b, s...)
		b = append(b, '\n')
	}
	return string(b)
}

// Docs is the number of job texts the corpus was built from.
func (c *Corpus) Docs() int {
	if c == nil {
		return 0
	}
	return c.docs
}

// DF is the number of job texts that contain the word tok (a token as the
// tokeniser produces it).
func (c *Corpus) DF(tok string) int {
	if c == nil {
		return 0
	}
	return c.df[tok]
}

// ID is a stable hash of the corpus's content (tokeniser version, number of
// documents, every word with its document frequency): equal corpora have
// equal IDs on every machine. The ID of a nil corpus is "".
func (c *Corpus) ID() string {
	if c == nil {
		return ""
	}
	return c.id
}

func (c *Corpus) hash() string {
	terms := make([]string, 0, len(c.df))
	for t := range c.df {
		terms = append(terms, t)
	}
	slices.Sort(terms)
	h := sha256.New()
	var buf []byte
	buf = append(buf, tokenizerVersion...)
	buf = append(buf, '\n')
	buf = strconv.AppendInt(buf, int64(c.docs), 10)
	buf = append(buf, '\n')
	for _, t := range terms {
		buf = append(buf, t...)
		buf = append(buf, '\t')
		buf = strconv.AppendInt(buf, int64(c.df[t]), 10)
		buf = append(buf, '\n')
		if len(buf) > 32<<10 {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	h.Write(buf)
	return "c1-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// idf is the BM25 inverse document frequency of a word with document
// frequency df in a corpus of n documents: ln(1 + (n − df + 0.5)/(df + 0.5)),
// always positive. A word no job uses gets the highest weight.
func idf(n, df int) float64 {
	if df > n {
		df = n
	}
	return ln(1 + float64(float64(n-df)+0.5)/float64(float64(df)+0.5))
}

// ln is the natural logarithm of x ≥ 1, computed by the same operations on
// every platform: math.Log may run an architecture's own assembly, whose
// last bit can differ, and a score must not. This is the algorithm of Go's
// portable math.Log (FreeBSD's e_log.c), with every product that meets an
// addition converted explicitly so that no fused multiply-add can change
// a rounding.
func ln(x float64) float64 {
	const (
		ln2Hi = 6.93147180369123816490e-01
		ln2Lo = 1.90821492927058770002e-10
		l1    = 6.666666666666735130e-01
		l2    = 3.999999999940941908e-01
		l3    = 2.857142874366239149e-01
		l4    = 2.222219843214978396e-01
		l5    = 1.818357216161805012e-01
		l6    = 1.531383769920937332e-01
		l7    = 1.479819860511658591e-01
	)
	f1, ki := math.Frexp(x)
	if f1 < math.Sqrt2/2 {
		f1 *= 2
		ki--
	}
	f := f1 - 1
	k := float64(ki)
	s := f / (2 + f)
	s2 := float64(s * s)
	s4 := float64(s2 * s2)
	t1 := float64(s2 * float64(l1+float64(s4*float64(l3+float64(s4*float64(l5+float64(s4*l7)))))))
	t2 := float64(s4 * float64(l2+float64(s4*float64(l4+float64(s4*l6)))))
	r := t1 + t2
	hfsq := float64(float64(0.5*f) * f)
	return float64(k*ln2Hi) - ((hfsq - (float64(s*float64(hfsq+r)) + float64(k*ln2Lo))) - f)
}

// corpusJSON is the serialised form. encoding/json writes map keys sorted,
// so the bytes are deterministic.
type corpusJSON struct {
	Tokenizer string         `json:"tokenizer"`
	Docs      int            `json:"docs"`
	DF        map[string]int `json:"df"`
	ID        string         `json:"id"`
}

// MarshalJSON writes {"tokenizer", "docs", "df": {word: count}, "id"}.
func (c *Corpus) MarshalJSON() ([]byte, error) {
	if c == nil {
		return []byte("null"), nil
	}
	return json.Marshal(corpusJSON{Tokenizer: tokenizerVersion, Docs: c.docs, DF: c.df, ID: c.id})
}

// UnmarshalJSON reads what MarshalJSON wrote. It refuses a corpus built by
// another tokeniser, or one whose content does not match its ID.
func (c *Corpus) UnmarshalJSON(b []byte) error {
	var j corpusJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.Tokenizer != tokenizerVersion {
		return fmt.Errorf("screening: corpus built by tokenizer %q, this model uses %q", j.Tokenizer, tokenizerVersion)
	}
	if j.Docs < 0 {
		return fmt.Errorf("screening: corpus has a negative document count")
	}
	df := make(map[string]int, len(j.DF))
	for t, n := range j.DF {
		if n < 1 || n > j.Docs {
			return fmt.Errorf("screening: corpus word %q has document frequency %d of %d documents", t, n, j.Docs)
		}
		df[t] = n
	}
	*c = Corpus{docs: j.Docs, df: df}
	c.id = c.hash()
	if j.ID != "" && j.ID != c.id {
		return fmt.Errorf("screening: corpus content does not match its id %q", j.ID)
	}
	return nil
}
