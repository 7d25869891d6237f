package cli

import (
	"cmp"
	"fmt"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// stageTimer records how long each stage of a command took, for --timings.
type stageTimer struct {
	mu     sync.Mutex
	start  time.Time
	stages []stageTime
}

type stageTime struct {
	name string
	d    time.Duration
}

// stage starts timing a stage; the returned func ends it. Stages of the
// same name add up.
func (e *env) stage(name string) func() {
	if !e.timings {
		return func() {}
	}
	t := e.stages
	if t == nil { // an env not made by Run
		return func() {}
	}
	begin := time.Now()
	return func() {
		d := time.Since(begin)
		t.mu.Lock()
		defer t.mu.Unlock()
		for i := range t.stages {
			if t.stages[i].name == name {
				t.stages[i].d += d
				return
			}
		}
		t.stages = append(t.stages, stageTime{name, d})
	}
}

// printTimings prints the stages in the order they first ended, then the
// command's total.
func (e *env) printTimings() {
	if !e.timings || e.stages == nil {
		return
	}
	t := e.stages
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.stages {
		fmt.Fprintf(e.stderr, "timing: %-16s %8.1f ms\n", s.name, float64(s.d.Microseconds())/1000)
	}
	fmt.Fprintf(e.stderr, "timing: %-16s %8.1f ms\n", "total", float64(time.Since(t.start).Microseconds())/1000)
}

// progress is a progress bar on stderr (apps done / total, rate, ETA),
// drawn only when stderr is a terminal, CI is unset and --quiet is not
// given; otherwise every method does nothing. Safe for concurrent use.
type progress struct {
	bar *progressbar.ProgressBar
}

// minProgress is the number of items below which no bar is drawn: a run
// that short is over before a bar helps.
const minProgress = 50

func (e *env) progress(what string, total int, unit ...string) *progress {
	if e.quiet || e.ci || !e.isTerminal || total < minProgress {
		return &progress{}
	}
	return &progress{bar: progressbar.NewOptions(total,
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionSetItsString(cmp.Or(append(unit, "apps")...)),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30),
	)}
}

// Add counts n more items done.
func (p *progress) Add(n int) {
	if p.bar != nil {
		_ = p.bar.Add(n)
	}
}

// Done removes the bar.
func (p *progress) Done() {
	if p.bar != nil {
		_ = p.bar.Finish()
		_ = p.bar.Clear()
	}
}
