// Package memtune sets the garbage collector's heap goal of a paved process
// from its live heap, so that a run neither collects often while its heap
// is small, nor grows past a budget while its fleet fits in it, nor spends
// a growing share of its CPU collecting once the fleet outgrows the budget.
//
// With the default GOGC=100 the heap grows to twice the live heap: a
// command that validates a few thousand apps with a 40 MB live heap spends
// a fifth of its CPU collecting, and one that holds 500 MB of rendered
// objects peaks above 1 GB. Start makes the goal
//
//	min(Budget, 4 × live + 64 MiB)               while 3 × live ≤ Budget
//	3 × live                                     while 3 × live ≤ Budget + Grace
//	max(2 × live, min(4 × live + 64 MiB, Room/4)) beyond
//
// that is GOGC=300 (plus a floor for tiny heaps) while that fits in the
// budget, and the budget while it leaves GOGC at 200 or more: a 1,000-app
// fleet (a live heap under 200 MB) stays within 1 GiB. Just past the
// budget (the grace) the goal is GOGC 200, under the same memory limit:
// a 1,000-app diff or lint, whose live heap peaks at 230-280 MiB, crossed
// the budget's edge in one collection out of a hundred and its goal
// jumped from 768 MiB to 1.1 GiB (peak RSS 1.25 GiB instead of 0.93). A fleet too large
// for the budget gets GOGC=300 again, within a quarter of the memory the
// machine (or the cgroups the process runs in) has, and never less than
// GOGC=100: the collector's share of the CPU then stays what it is for a
// small fleet, so time grows with the fleet and not faster (with Go's
// default a 5,000-app lint took 7.3 times as long as a 1,000-app one; the
// collector marked three times as many bytes per byte allocated).
//
// The budget ends at GOGC 200, not 100: held until twice the live heap
// filled it, the goal fell from GOGC 200 to 100 over the live heaps from
// 256 to 384 MiB that every larger fleet passes through, and a 5,000-app
// lint spent nearly a third of its evaluation there, in 17 collections
// that marked a fifth of all it marked (3 collections now), with write
// barriers on for half of that time.
//
// The goal is set as GOGC (runtime/debug.SetGCPercent), relative to the
// live heap, after every collection. A memory limit of Limit holds the
// process to about 1 GiB while the fleet fits, its grace included (the heap
// goal leaves out what the runtime holds besides live objects: free spans
// not yet returned, fragmentation); beyond the budget it is a quarter
// above the goal, never binding: a limit near twice the live heap makes
// the collector run without pause (seen at 5,000 apps, half the CPU
// collecting). A user's GOGC or GOMEMLIMIT leaves the collector alone.
package memtune

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// Budget is the heap goal while it is at least three times the live heap
// (GOGC 200): 768 MiB, so that a process (its heap, stacks, binary and
// runtime overhead) stays within 1 GiB.
const Budget = 768 << 20

// Grace is how far past the budget three times the live heap may go
// with the goal at GOGC 200 and the budget's memory limit: a live heap
// of up to 281 MiB.
const Grace = Budget / 10

// Limit is the memory limit while the live heap is within the budget or
// its grace (at most 281 MiB, under a third of the limit).
const Limit = 900 << 20

// room is the memory the process may use (Room), read by Start.
var room int64 = defaultRoom

// defaultRoom is the room assumed where the machine's memory is unknown.
const defaultRoom = 16 << 30

// Start takes over the heap goal for the rest of the process, unless GOGC
// or GOMEMLIMIT is set. It returns whether it did.
func Start() bool {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return false
	}
	if r := Room(); r > 0 {
		room = r
	}
	debug.SetGCPercent(Percent(0, room))
	debug.SetMemoryLimit(MemoryLimit(0, room))
	arm()
	return true
}

// withinBudget reports whether the budget is at least three times the
// live heap: a goal of GOGC 200 or more.
func withinBudget(live uint64) bool { return 3*int64(live) <= Budget }

// withinGrace reports whether three times the live heap is within the
// budget and its grace.
func withinGrace(live uint64) bool { return 3*int64(live) <= Budget+Grace }

// Goal is the heap goal for a live heap of live bytes in a process that
// may use room bytes of memory.
func Goal(live uint64, room int64) int64 {
	l := int64(live)
	switch {
	case withinBudget(live):
		return min(Budget, 4*l+64<<20)
	case withinGrace(live):
		return 3 * l
	}
	return max(2*l, min(4*l+64<<20, room/4))
}

// Percent is the GOGC that makes the heap goal Goal(live, room): at least
// 100, at most 10,000 (a tiny heap).
func Percent(live uint64, room int64) int {
	if live < 1<<20 {
		live = 1 << 20
	}
	g := (Goal(live, room) - int64(live)) * 100 / int64(live)
	return int(min(max(g, 100), 10000))
}

// MemoryLimit is the memory limit for a live heap of live bytes: Limit
// within the budget and its grace; beyond, a quarter above the goal,
// which is at least twice the live heap: never under 2.5 × live.
func MemoryLimit(live uint64, room int64) int64 {
	if withinGrace(live) {
		return Limit
	}
	g := Goal(live, room)
	return g + g/4
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
	live := sample[0].Value.Uint64()
	debug.SetGCPercent(Percent(live, room))
	debug.SetMemoryLimit(MemoryLimit(live, room))
}
