// Package work runs a batch of jobs on every core, costliest first.
package work

import (
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
)

// Job is a piece of work and its rough cost (the bytes it parses, say).
type Job struct {
	Cost int
	Do   func()
}

// Run runs stages of jobs on up to GOMAXPROCS goroutines, the caller's
// among them, and returns when all have ended. Within a stage (sorted in
// place) the costliest start first; a stage's jobs start once all of the stage
// before have started, without waiting for them to end, so a job may wait
// for one of an earlier stage (never of a later one: that could wait
// forever).
//
// The caller starts on the biggest job at once: another core can take a
// while to come up (a millisecond, seen on a 2-core VM), and the biggest
// job started last would run alone at the end (the longest processing
// time rule).
func Run(stages ...[]Job) {
	var jobs []Job
	for _, stage := range stages {
		sort.SliceStable(stage, func(i, j int) bool { return stage[i].Cost > stage[j].Cost })
		jobs = append(jobs, stage...)
	}
	var next atomic.Int64
	worker := func() {
		for i := next.Add(1) - 1; i < int64(len(jobs)); i = next.Add(1) - 1 {
			jobs[i].Do()
		}
	}
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(jobs)) - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker()
		}()
	}
	worker()
	wg.Wait()
}
