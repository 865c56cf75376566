package screening

import (
	"hash/maphash"
	"slices"
	"sync"
)

// Score keeps the Scorers of the last few jobs it saw, so scoring many
// applications of one job prepares the job once (a re-screen, or a burst
// of submissions to one job). The cache is invisible in results: an entry
// is used only for a job equal in every field the model reads and the same
// corpus (pointer and content ID), and a Scorer holds its own copy of the
// job.
const scorerCacheSize = 16

var scorerCache struct {
	mu      sync.Mutex
	next    int
	entries [scorerCacheSize]scorerEntry
}

type scorerEntry struct {
	key    uint64
	corpus *Corpus
	s      *Scorer
}

var jobSeed = maphash.MakeSeed()

func cachedScorer(job JobInput, c *Corpus) *Scorer {
	k := jobKey(job)
	id := c.ID()
	sc := &scorerCache
	sc.mu.Lock()
	for _, e := range sc.entries {
		if e.s != nil && e.key == k && e.corpus == c && e.s.corpusID == id && sameJob(e.s.job, job) {
			sc.mu.Unlock()
			return e.s
		}
	}
	sc.mu.Unlock()
	s := NewScorer(job, c)
	sc.mu.Lock()
	sc.entries[sc.next] = scorerEntry{key: k, corpus: c, s: s}
	sc.next = (sc.next + 1) % scorerCacheSize
	sc.mu.Unlock()
	return s
}

// jobKey hashes the job's fields (a filter before sameJob).
func jobKey(j JobInput) uint64 {
	var h maphash.Hash
	h.SetSeed(jobSeed)
	h.WriteString(j.Title)
	h.WriteByte(0)
	h.WriteString(j.Department)
	h.WriteByte(0)
	h.WriteString(j.Description)
	h.WriteByte(0)
	h.WriteString(string(j.Criteria.MinEducation))
	for _, s := range j.Criteria.RequiredSkills {
		h.WriteByte(1)
		h.WriteString(s)
	}
	for _, s := range j.Criteria.PreferredSkills {
		h.WriteByte(2)
		h.WriteString(s)
	}
	return h.Sum64() ^ uint64(j.ClosesAt.Unix())
}

func sameJob(a, b JobInput) bool {
	ca, cb := a.Criteria, b.Criteria
	return a.Title == b.Title && a.Department == b.Department && a.Description == b.Description &&
		a.ClosesAt.Equal(b.ClosesAt) &&
		ca.MinEducation == cb.MinEducation && ca.MinExperienceYears == cb.MinExperienceYears &&
		sameInt(ca.AgeMin, cb.AgeMin) && sameInt(ca.AgeMax, cb.AgeMax) && sameInt(ca.AgeRelaxationYears, cb.AgeRelaxationYears) &&
		slices.Equal(ca.RequiredSkills, cb.RequiredSkills) && slices.Equal(ca.PreferredSkills, cb.PreferredSkills) &&
		slices.Equal(ca.DomicileProvinces, cb.DomicileProvinces)
}

func sameInt(a, b *int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// cloneJob copies the job's slices and pointers.
func cloneJob(j JobInput) JobInput {
	c := &j.Criteria
	c.RequiredSkills = slices.Clone(c.RequiredSkills)
	c.PreferredSkills = slices.Clone(c.PreferredSkills)
	c.DomicileProvinces = slices.Clone(c.DomicileProvinces)
	c.AgeMin, c.AgeMax, c.AgeRelaxationYears = cloneInt(c.AgeMin), cloneInt(c.AgeMax), cloneInt(c.AgeRelaxationYears)
	return j
}

func cloneInt(p *int) *int {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
