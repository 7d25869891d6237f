package cli

import (
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
	e.stage("validate")()
	e.stage("evaluate")()
	e.stage("validate")()
	e.printTimings()
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "timing: validate") || !strings.HasPrefix(lines[1], "timing: evaluate") || !strings.HasPrefix(lines[2], "timing: total") {
		t.Fatalf("timings:\n%s", stderr.String())
	}
	var quiet strings.Builder
	e = &env{stderr: &quiet, stages: &stageTimer{start: time.Now()}}
	e.stage("validate")()
	e.printTimings()
	if quiet.Len() != 0 {
		t.Fatalf("timings printed without --timings: %q", quiet.String())
	}
}
