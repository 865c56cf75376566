package screening

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"sync"
	"testing"
)

// sameJob must compare every field the model reads: a new field in
// JobInput or Criteria must be added there (and to jobKey, cloneJob).
func TestSameJobCoversEveryField(t *testing.T) {
	if n := reflect.TypeFor[JobInput]().NumField(); n != 5 {
		t.Fatalf("JobInput has %d fields: update sameJob, jobKey, cloneJob and this test", n)
	}
	if n := reflect.TypeFor[Criteria]().NumField(); n != 8 {
		t.Fatalf("Criteria has %d fields: update sameJob, jobKey, cloneJob and this test", n)
	}
	base := typicalJob()
	changes := []func(j *JobInput){
		func(j *JobInput) { j.Title += "x" },
		func(j *JobInput) { j.Department += "x" },
		func(j *JobInput) { j.Description += "x" },
		func(j *JobInput) { j.ClosesAt = j.ClosesAt.AddDate(0, 0, 1) },
		func(j *JobInput) { j.Criteria.MinEducation = "phd" },
		func(j *JobInput) { j.Criteria.MinExperienceYears++ },
		func(j *JobInput) { j.Criteria.AgeMin = ip(*j.Criteria.AgeMin + 1) },
		func(j *JobInput) { j.Criteria.AgeMax = nil },
		func(j *JobInput) { j.Criteria.AgeRelaxationYears = ip(0) },
		func(j *JobInput) { j.Criteria.RequiredSkills = j.Criteria.RequiredSkills[1:] },
		func(j *JobInput) { j.Criteria.PreferredSkills = append(j.Criteria.PreferredSkills, "x") },
		func(j *JobInput) { j.Criteria.DomicileProvinces = nil },
	}
	for i, ch := range changes {
		j := cloneJob(base)
		ch(&j)
		if sameJob(base, j) {
			t.Errorf("change %d not seen by sameJob", i)
		}
	}
	if !sameJob(base, cloneJob(base)) {
		t.Fatal("a copy is not the same job")
	}
}

// The cache never changes a result: not when the caller reuses its slices
// for another job, not when a corpus is overwritten in place, not across
// many jobs and goroutines.
func TestScoreCacheInvisible(t *testing.T) {
	c := testCorpus()
	in := typicalInput()
	first := mustJSON(t, Score(in, c))

	// The caller changes the job's skills in place and scores again.
	in.Job.Criteria.RequiredSkills[0] = "Hydrology"
	fresh := mustJSON(t, NewScorer(in.Job, c).Score(in.Profile))
	if got := mustJSON(t, Score(in, c)); !bytes.Equal(got, fresh) || bytes.Equal(got, first) {
		t.Fatalf("score after the caller changed its slice:\n%s\nwant\n%s", got, fresh)
	}
	in = typicalInput()

	// A corpus overwritten in place with other content.
	c2 := testCorpus()
	a := mustJSON(t, Score(in, c2))
	if err := json.Unmarshal(mustJSON(t, NewCorpus([]string{"data analyst"})), c2); err != nil {
		t.Fatal(err)
	}
	if b := mustJSON(t, Score(in, c2)); bytes.Equal(a, b) || !bytes.Equal(b, mustJSON(t, NewScorer(in.Job, c2).Score(in.Profile))) {
		t.Fatal("a corpus overwritten in place was not noticed")
	}

	// Many jobs (more than the cache holds), from several goroutines.
	jobs := make([]JobInput, 3*scorerCacheSize)
	want := make([][]byte, len(jobs))
	for i := range jobs {
		jobs[i] = typicalJob()
		jobs[i].Title = "Job " + strconv.Itoa(i)
		jobs[i].Criteria.MinExperienceYears = i % 7
		want[i] = mustJSON(t, NewScorer(jobs[i], c).Score(in.Profile))
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 200 {
				i := (k*7 + g) % len(jobs)
				got, _ := json.Marshal(Score(Input{Job: jobs[i], Profile: in.Profile}, c))
				if !bytes.Equal(got, want[i]) {
					t.Errorf("job %d: cached score differs", i)
					return
				}
			}
		}()
	}
	wg.Wait()
}
