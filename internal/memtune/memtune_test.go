package memtune

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestGoal(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int64
	}{{0, 64 << 20}, {40 << 20, 224 << 20}, {200 << 20, Budget}, {Budget / 2, Budget}, {Budget/2 + 1, Budget + 2}, {2 << 30, 4 << 30}} {
		if got := Goal(c.live); got != c.want {
			t.Errorf("Goal(%d) = %d, want %d", c.live, got, c.want)
		}
	}
}

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int
	}{{0, 6700}, {40 << 20, 460}, {128 << 20, 350}, {256 << 20, 200}, {Budget / 2, 100}, {2 << 30, 100}} {
		if got := Percent(c.live); got != c.want {
			t.Errorf("Percent(%d) = %d, want %d", c.live, got, c.want)
		}
	}
}

func TestMemoryLimit(t *testing.T) {
	if got := MemoryLimit(100 << 20); got != Limit {
		t.Errorf("MemoryLimit(100 MiB) = %d, want %d", got, Limit)
	}
	if got := MemoryLimit(1 << 30); got != 5<<29 {
		t.Errorf("MemoryLimit(1 GiB) = %d, want 2.5 GiB", got)
	}
}

func TestUserSettingsWin(t *testing.T) {
	t.Setenv("GOGC", "50")
	if Start() {
		t.Error("Start took over with GOGC set")
	}
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "2GiB")
	if Start() {
		t.Error("Start took over with GOMEMLIMIT set")
	}
}

// TestRetunedAfterEachCollection: GOGC follows the live heap: high for a
// small heap, 100 once the live heap is more than half the budget (this
// test's process keeps the tuner it starts).
func TestRetunedAfterEachCollection(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	if !Start() {
		t.Fatal("Start did not take over")
	}
	percent := func() int { p := debug.SetGCPercent(100); debug.SetGCPercent(p); return p }
	waitFor := func(ok func(int) bool) int {
		deadline := time.Now().Add(10 * time.Second)
		for {
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
			if p := percent(); ok(p) || time.Now().After(deadline) {
				return p
			}
		}
	}
	if p := waitFor(func(p int) bool { return p > 300 }); p <= 300 {
		t.Errorf("small heap: GOGC %d, want more than 300", p)
	}
	big := make([]byte, Budget*3/4) // live: more than half the budget
	for i := range big {
		big[i] = byte(i)
	}
	if p := waitFor(func(p int) bool { return p == 100 }); p != 100 {
		t.Errorf("live heap %d: GOGC %d, want 100", len(big), p)
	}
	if l := debug.SetMemoryLimit(-1); l < 5*int64(len(big))/2 {
		t.Errorf("live heap %d: memory limit %d, want at least 2.5 times the live heap", len(big), l)
	}
	runtime.KeepAlive(big)
}
