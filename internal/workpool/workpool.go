// Package workpool runs indexed jobs on a fixed number of workers. Each job
// writes its own result slot, so results never depend on scheduling.
package workpool

import "sync"

// Run calls f(worker, i) for every i in [0, n) on up to workers goroutines
// (at least one) and returns when all calls have returned. worker is the
// index of the goroutine, in [0, workers), so f can use per-worker state
// (such as a CUE context) without locking.
func Run(n, workers int, f func(worker, i int)) {
	workers = max(1, min(workers, n))
	if workers == 1 {
		for i := range n {
			f(0, i)
		}
		return
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				f(w, i)
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}
