package workpool

import (
	"sync/atomic"
	"testing"
)

// Every index runs exactly once, on a worker index below the worker count.
func TestRun(t *testing.T) {
	for _, tc := range []struct{ n, workers int }{{0, 4}, {1, 4}, {10, 1}, {100, 3}, {5, 0}} {
		counts := make([]atomic.Int32, tc.n)
		var bad atomic.Int32
		Run(tc.n, tc.workers, func(w, i int) {
			if w < 0 || w >= max(1, tc.workers) {
				bad.Add(1)
			}
			counts[i].Add(1)
		})
		for i := range counts {
			if c := counts[i].Load(); c != 1 {
				t.Errorf("n=%d workers=%d: job %d ran %d times", tc.n, tc.workers, i, c)
			}
		}
		if bad.Load() > 0 {
			t.Errorf("n=%d workers=%d: a worker index out of range", tc.n, tc.workers)
		}
	}
}
