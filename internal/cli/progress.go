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
	// from and to are when the stage first began and last ended, from the
	// command's start: stages that run alongside each other overlap.
	from, to time.Duration
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
		end := time.Now()
		d := end.Sub(begin)
		from, to := begin.Sub(t.start), end.Sub(t.start)
		t.mu.Lock()
		defer t.mu.Unlock()
		for i := range t.stages {
			if s := &t.stages[i]; s.name == name {
				s.d += d
				s.from, s.to = min(s.from, from), max(s.to, to)
				return
			}
		}
		t.stages = append(t.stages, stageTime{name: name, d: d, from: from, to: to})
	}
}

// printTimings prints the stages in the order they first ended, each with
// when it first began and last ended, then the command's total.
func (e *env) printTimings() {
	if !e.timings || e.stages == nil {
		return
	}
	t := e.stages
	t.mu.Lock()
	defer t.mu.Unlock()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	for _, s := range t.stages {
		fmt.Fprintf(e.stderr, "timing: %-16s %8.1f ms  (%.1f to %.1f ms)\n", s.name, ms(s.d), ms(s.from), ms(s.to))
	}
	fmt.Fprintf(e.stderr, "timing: %-16s %8.1f ms\n", "total", ms(time.Since(t.start)))
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
