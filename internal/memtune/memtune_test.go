package memtune

import (
	"runtime"
	"runtime/debug"
	"testing"
	"testing/fstest"
	"time"
)

const testRoom = 16 << 30

func TestGoal(t *testing.T) {
	for _, c := range []struct {
		live uint64
		room int64
		want int64
	}{
		{0, testRoom, 64 << 20},
		{40 << 20, testRoom, 224 << 20},
		{200 << 20, testRoom, Budget},
		{Budget / 3, testRoom, Budget},
		// Just past the budget: GOGC 200.
		{Budget/3 + 1, testRoom, 3 * (Budget/3 + 1)},
		{(Budget + Grace) / 3, testRoom, 3 * ((Budget + Grace) / 3)},
		// Beyond the grace: GOGC 300 again, within a quarter of the room,
		// never below GOGC 100.
		{(Budget+Grace)/3 + 1, testRoom, 4*((Budget+Grace)/3+1) + 64<<20},
		{Budget / 2, testRoom, 4*(Budget/2) + 64<<20},
		{800 << 20, testRoom, 3264 << 20},
		{800 << 20, 8 << 30, 2 << 30},
		{800 << 20, 2 << 30, 1600 << 20},
		{2 << 30, testRoom, 4 << 30},
	} {
		if got := Goal(c.live, c.room); got != c.want {
			t.Errorf("Goal(%d, %d) = %d, want %d", c.live, c.room, got, c.want)
		}
	}
}

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		live uint64
		room int64
		want int
	}{
		{0, testRoom, 6700}, {40 << 20, testRoom, 460}, {128 << 20, testRoom, 350}, {256 << 20, testRoom, 200},
		{Budget / 2, testRoom, 316}, {800 << 20, testRoom, 308}, {800 << 20, 2 << 30, 100}, {2 << 30, testRoom, 100},
	} {
		if got := Percent(c.live, c.room); got != c.want {
			t.Errorf("Percent(%d, %d) = %d, want %d", c.live, c.room, got, c.want)
		}
	}
}

// TestNoDip: wherever the room allows GOGC 300, the goal never falls
// below GOGC 200, at the budget's edge included: a fleet whose live heap
// outgrows the budget passes through every live heap below its own.
func TestNoDip(t *testing.T) {
	for live := uint64(1 << 20); live <= testRoom/16-64<<20; live += 1 << 20 {
		if p := Percent(live, testRoom); p < 200 {
			t.Fatalf("Percent(%d MiB) = %d, want at least 200", live>>20, p)
		}
	}
}

func TestMemoryLimit(t *testing.T) {
	if got := MemoryLimit(100<<20, testRoom); got != Limit {
		t.Errorf("MemoryLimit(100 MiB) = %d, want %d", got, Limit)
	}
	// In the grace past the budget, the budget's limit holds.
	if got := MemoryLimit(280<<20, testRoom); got != Limit {
		t.Errorf("MemoryLimit(280 MiB) = %d, want %d", got, Limit)
	}
	// Beyond the budget the limit stays a quarter above the goal.
	if got, want := MemoryLimit(1<<30, testRoom), int64(5<<30); got != want { // the goal: a quarter of the room, 4 GiB
		t.Errorf("MemoryLimit(1 GiB) = %d, want %d", got, want)
	}
	if got := MemoryLimit(1<<30, 2<<30); got != 5<<29 {
		t.Errorf("MemoryLimit(1 GiB) with 2 GiB of room = %d, want 2.5 GiB", got)
	}
}

func TestRoom(t *testing.T) {
	meminfo := "MemTotal:       24683568 kB\nMemFree:         1000000 kB\n"
	for _, c := range []struct {
		name  string
		files fstest.MapFS
		want  int64
	}{
		{"no proc", fstest.MapFS{}, 0},
		{"machine memory", fstest.MapFS{"proc/meminfo": {Data: []byte(meminfo)}}, 24683568 << 10},
		{"cgroup v2 limit", fstest.MapFS{
			"proc/meminfo":                    {Data: []byte(meminfo)},
			"proc/self/cgroup":                {Data: []byte("0::/ci/job\n")},
			"sys/fs/cgroup/ci/job/memory.max": {Data: []byte("7516192768\n")},
			"sys/fs/cgroup/memory.max":        {Data: []byte("max\n")},
		}, 7516192768},
		{"cgroup v2 limit on a parent", fstest.MapFS{
			"proc/meminfo":                    {Data: []byte(meminfo)},
			"proc/self/cgroup":                {Data: []byte("0::/ci/job\n")},
			"sys/fs/cgroup/ci/job/memory.max": {Data: []byte("max\n")},
			"sys/fs/cgroup/ci/memory.max":     {Data: []byte("4294967296\n")},
			"sys/fs/cgroup/memory.max":        {Data: []byte("max\n")},
		}, 4 << 30},
		{"cgroup v2 the smallest limit of the hierarchy", fstest.MapFS{
			"proc/meminfo":                    {Data: []byte(meminfo)},
			"proc/self/cgroup":                {Data: []byte("0::/ci/job/\n")},
			"sys/fs/cgroup/ci/job/memory.max": {Data: []byte("8589934592\n")},
			"sys/fs/cgroup/ci/memory.max":     {Data: []byte("6442450944\n")},
		}, 6 << 30},
		{"cgroup v2 at the namespace root", fstest.MapFS{
			"proc/meminfo":             {Data: []byte(meminfo)},
			"proc/self/cgroup":         {Data: []byte("0::/ci/job\n")},
			"sys/fs/cgroup/memory.max": {Data: []byte("2147483648\n")},
		}, 2 << 30},
		{"cgroup v2 without limit", fstest.MapFS{
			"proc/meminfo":             {Data: []byte(meminfo)},
			"proc/self/cgroup":         {Data: []byte("0::/\n")},
			"sys/fs/cgroup/memory.max": {Data: []byte("max\n")},
		}, 24683568 << 10},
		{"cgroup v1 limit", fstest.MapFS{
			"proc/meminfo":     {Data: []byte(meminfo)},
			"proc/self/cgroup": {Data: []byte("5:cpu,cpuacct:/x\n4:memory:/docker/abc\n0::/\n")},
			"sys/fs/cgroup/memory/memory.limit_in_bytes": {Data: []byte("4294967296\n")},
		}, 4 << 30},
		{"cgroup v1 limit on a parent", fstest.MapFS{
			"proc/meminfo":     {Data: []byte(meminfo)},
			"proc/self/cgroup": {Data: []byte("4:memory:/docker/abc\n")},
			"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": {Data: []byte("9223372036854771712\n")},
			"sys/fs/cgroup/memory/docker/memory.limit_in_bytes":     {Data: []byte("3221225472\n")},
		}, 3 << 30},
		{"cgroup v1 without limit", fstest.MapFS{
			"proc/meminfo":     {Data: []byte(meminfo)},
			"proc/self/cgroup": {Data: []byte("4:memory:/\n")},
			"sys/fs/cgroup/memory/memory.limit_in_bytes": {Data: []byte("9223372036854771712\n")},
		}, 24683568 << 10},
		{"limit above the machine", fstest.MapFS{
			"proc/meminfo":             {Data: []byte(meminfo)},
			"proc/self/cgroup":         {Data: []byte("0::/\n")},
			"sys/fs/cgroup/memory.max": {Data: []byte("99999999999999\n")},
		}, 24683568 << 10},
		{"garbage", fstest.MapFS{
			"proc/meminfo":             {Data: []byte("MemTotal: lots kB\n")},
			"proc/self/cgroup":         {Data: []byte("nonsense\n0::relative\n")},
			"sys/fs/cgroup/memory.max": {Data: []byte("-5\n")},
		}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := roomIn(c.files); got != c.want {
				t.Errorf("roomIn = %d, want %d", got, c.want)
			}
		})
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
// small heap, lower once the live heap is more than half the budget (this
// test's process keeps the tuner it starts; Goal and Percent are tested
// above for each case).
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
	want := Percent(uint64(len(big)), room)
	near := func(p int) bool { return p >= want-15 && p <= want+15 }
	if p := waitFor(near); !near(p) {
		t.Errorf("live heap %d: GOGC %d, want about %d", len(big), p, want)
	}
	if l := debug.SetMemoryLimit(-1); l < 5*int64(len(big))/2 {
		t.Errorf("live heap %d: memory limit %d, want at least 2.5 times the live heap", len(big), l)
	}
	runtime.KeepAlive(big)
}

// TestRoomHere: on Linux, the machine's own memory is read.
func TestRoomHere(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Room is read on Linux only")
	}
	if r := Room(); r < 64<<20 {
		t.Errorf("Room() = %d, want the machine's memory", r)
	}
}
