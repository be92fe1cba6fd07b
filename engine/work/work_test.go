package work

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRunStartsTheCostliestFirst(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // one at a time: the start order shows
	var mu sync.Mutex
	var order []string
	job := func(name string, cost int) Job {
		return Job{Cost: cost, Do: func() {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, name)
		}}
	}
	Run([]Job{job("small", 1), job("big", 100), job("mid", 10), job("mid too", 10), job("none", 0)},
		[]Job{job("later", 1), job("later, costlier", 1000)})
	want := []string{"big", "mid", "mid too", "small", "none", "later, costlier", "later"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("start order (-want +got):\n%s", diff)
	}
}

func TestRunUsesEveryCoreAndEndsAfterAll(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	var running, most, done atomic.Int32
	release := make(chan struct{})
	var jobs []Job
	for range 5 {
		jobs = append(jobs, Job{Cost: 1, Do: func() {
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			<-release
			running.Add(-1)
			done.Add(1)
		}})
	}
	go func() {
		for most.Load() < 2 {
			runtime.Gosched()
		}
		close(release)
	}()
	Run(jobs)
	if done.Load() != 5 || most.Load() != 2 {
		t.Errorf("done %d jobs with at most %d at once; want 5 with 2 (GOMAXPROCS)", done.Load(), most.Load())
	}
}

// A job may wait for one of an earlier stage: it has started by then.
func TestRunLaterStagesMayWaitForEarlierOnes(t *testing.T) {
	for _, procs := range []int{1, 2, 4} {
		t.Run(fmt.Sprint(procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			parsed := make([]chan struct{}, 3)
			var parse, load []Job
			var loaded atomic.Int32
			for i := range parsed {
				parsed[i] = make(chan struct{})
				parse = append(parse, Job{Cost: i, Do: func() { close(parsed[i]) }})
				load = append(load, Job{Cost: 10 * i, Do: func() {
					<-parsed[i]
					loaded.Add(1)
				}})
			}
			Run(parse, load)
			if loaded.Load() != 3 {
				t.Errorf("loaded %d, want 3", loaded.Load())
			}
		})
	}
}
