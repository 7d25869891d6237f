// Package memtune sets the garbage collector's heap goal of a paved process
// from its live heap, so that a run neither collects often while its heap
// is small nor grows past a budget while its fleet fits in it.
//
// With the default GOGC=100 the heap grows to twice the live heap: a
// command that validates a few thousand apps with a 40 MB live heap spends
// a fifth of its CPU collecting, and one that holds 500 MB of rendered
// objects peaks above 1 GB. Start makes the goal
//
//	max(2 × live, min(Budget, 4 × live + 64 MiB))
//
// that is GOGC=300 (plus a floor for tiny heaps) while that fits in the
// budget, the budget while twice the live heap fits in it, and never below
// what GOGC=100 allows: a fleet larger than the budget is collected
// exactly as by default, never thrashing against a limit.
//
// The goal is a soft memory limit (runtime/debug.SetMemoryLimit) with
// GOGC off, moved after every collection. A user's GOGC or GOMEMLIMIT
// leaves the collector alone.
package memtune

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// Budget is the heap goal while twice the live heap fits in it: 850 MiB,
// so that a process (its heap, stacks, binary and runtime overhead) stays
// within 1 GiB.
const Budget = 850 << 20

// Start takes over the heap goal for the rest of the process, unless GOGC
// or GOMEMLIMIT is set. It returns whether it did.
func Start() bool {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return false
	}
	debug.SetMemoryLimit(Goal(0))
	debug.SetGCPercent(-1)
	arm()
	return true
}

// Goal is the heap goal for a live heap of live bytes.
func Goal(live uint64) int64 {
	l := int64(live)
	return max(2*l, min(Budget, 4*l+64<<20))
}

var sample = []metrics.Sample{{Name: "/gc/heap/live:bytes"}}

// arm runs retune after the next collection: a finalizer runs once the
// collector has found its object unreachable.
func arm() {
	sentinel := new([16]byte)
	runtime.SetFinalizer(sentinel, func(*[16]byte) {
		retune()
		arm()
	})
}

func retune() {
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	debug.SetMemoryLimit(Goal(sample[0].Value.Uint64()))
}
