package cli

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A progress bar is drawn on a terminal only: never in CI, with --quiet,
// or for a run too short to need one.
func TestProgressOnlyOnATerminal(t *testing.T) {
	for _, tc := range []struct {
		name                string
		terminal, ci, quiet bool
		total               int
		want                bool
	}{
		{"terminal", true, false, false, 200, true},
		{"not a terminal", false, false, false, 200, false},
		{"CI", true, true, false, 200, false},
		{"quiet", true, false, true, 200, false},
		{"short run", true, false, false, 3, false},
	} {
		var stderr strings.Builder
		e := &env{stderr: &stderr, isTerminal: tc.terminal, ci: tc.ci, quiet: tc.quiet}
		bar := e.progress("rendering", tc.total)
		for range tc.total {
			bar.Add(1)
		}
		bar.Done()
		drawn := strings.Contains(stderr.String(), "rendering")
		if drawn != tc.want {
			t.Errorf("%s: bar drawn = %v, want %v (%q)", tc.name, drawn, tc.want, stderr.String())
		}
		if tc.want && !strings.Contains(stderr.String(), "apps") {
			t.Errorf("%s: the bar does not count apps: %q", tc.name, stderr.String())
		}
	}
}

// --timings prints every stage that ran, in order, and a total.
func TestTimings(t *testing.T) {
	var stderr strings.Builder
	e := &env{stderr: &stderr, timings: true, stages: &stageTimer{start: time.Now()}}
	run := func(name string) {
		stop := e.stage(name)
		time.Sleep(2 * time.Millisecond)
		stop()
	}
	run("validate")
	run("evaluate")
	run("validate")
	e.printTimings()
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "timing: validate") || !strings.HasPrefix(lines[1], "timing: evaluate") || !strings.HasPrefix(lines[2], "timing: total") {
		t.Fatalf("timings:\n%s", stderr.String())
	}
	// Each stage says when it first began and last ended: validate, run
	// before and after evaluate, spans it, and took at least its two runs.
	span := regexp.MustCompile(`^timing: (\w+) +([0-9.]+) ms  \(([0-9.]+) to ([0-9.]+) ms\)$`)
	parse := func(line string) (d, from, to float64) {
		m := span.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("timing line %q has no span", line)
		}
		f := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
		return f(m[2]), f(m[3]), f(m[4])
	}
	vd, vFrom, vTo := parse(lines[0])
	_, eFrom, eTo := parse(lines[1])
	if vFrom > eFrom || vTo < eTo || vd < 4 || vd > vTo-vFrom+0.1 {
		t.Fatalf("validate %.1f ms from %.1f to %.1f does not span evaluate (%.1f to %.1f):\n%s", vd, vFrom, vTo, eFrom, eTo, stderr.String())
	}
	var quiet strings.Builder
	e = &env{stderr: &quiet, stages: &stageTimer{start: time.Now()}}
	e.stage("validate")()
	e.printTimings()
	if quiet.Len() != 0 {
		t.Fatalf("timings printed without --timings: %q", quiet.String())
	}
}
