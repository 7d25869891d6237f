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

// TestRetunedAfterEachCollection: the limit follows the live heap: well
// below the budget for a small heap, twice the live heap once that is
// more than half the budget (this test's process keeps the tuner it
// starts).
func TestRetunedAfterEachCollection(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	if !Start() {
		t.Fatal("Start did not take over")
	}
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("GOGC %d, want off", got)
	}
	limit := func() int64 { return debug.SetMemoryLimit(-1) }
	waitFor := func(ok func(int64) bool) int64 {
		deadline := time.Now().Add(10 * time.Second)
		for {
			runtime.GC()
			if l := limit(); ok(l) || time.Now().After(deadline) {
				return l
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if l := waitFor(func(l int64) bool { return l < Budget/2 }); l >= Budget/2 {
		t.Errorf("small heap: limit %d, want well below the budget %d", l, Budget)
	}
	big := make([]byte, Budget*3/4) // live: more than half the budget
	for i := range big {
		big[i] = byte(i)
	}
	if l := waitFor(func(l int64) bool { return l > Budget }); l < int64(len(big))*2 {
		t.Errorf("live heap %d: limit %d, want at least twice the live heap", len(big), l)
	}
	runtime.KeepAlive(big)
}
