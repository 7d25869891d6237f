package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// demoChange sets up the README's demo change (make demo) in a temporary
// directory: ./examples rendered into fleet/, and change/payments, a copy
// of the payments apps with checkout 1.4.2 → 1.5.0 and its prod HPA max
// 12 → 15. It returns the directory.
func demoChange(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	examples := filepath.Join(filepath.Dir(file), "..", "..", "examples")
	dir := t.TempDir()
	t.Setenv("PAVED_CACHE_DIR", "off")
	if err := os.CopyFS(filepath.Join(dir, "examples"), os.DirFS(examples)); err != nil {
		t.Fatal(err)
	}
	runIn(t, dir, ExitOK, "render", "examples", "--out", "fleet", "--quiet")
	if err := os.CopyFS(filepath.Join(dir, "change", "payments"), os.DirFS(filepath.Join(dir, "examples", "payments"))); err != nil {
		t.Fatal(err)
	}
	for f, edit := range map[string][2]string{
		"app.cue":  {"checkout:1.4.2", "checkout:1.5.0"},
		"prod.cue": {"max: 12", "max: 15"},
	} {
		p := filepath.Join(dir, "change", "payments", "checkout", f)
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(src, []byte(edit[0])); n != 1 {
			t.Fatalf("%s holds %q %d times, want once: the demo change no longer applies", f, edit[0], n)
		}
		if err := os.WriteFile(p, bytes.Replace(src, []byte(edit[0]), []byte(edit[1]), 1), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runIn runs paved in dir, requires the exit code and returns stdout.
func runIn(t *testing.T, dir string, want int, args ...string) string {
	t.Helper()
	var stdout, stderr strings.Builder
	if code := Run(args, &env{stdout: &stdout, stderr: &stderr, cwd: dir}); code != want {
		t.Fatalf("paved %v: exit %d, want %d\n%s", args, code, want, stderr.String())
	}
	return stdout.String()
}

// versionsLine is the engines' versions in the comment's header, which
// change with every dependency update: the goldens hold a placeholder.
var enginesInHeader = regexp.MustCompile(`· paved [^\n]*`)

// golden compares got, with dir written $WORK, with testdata/diff/NAME;
// PAVED_UPDATE=1 rewrites it.
func golden(t *testing.T, name, dir, got string) {
	t.Helper()
	got = enginesInHeader.ReplaceAllString(strings.ReplaceAll(got, dir, "$WORK"), "· paved (versions)")
	p := filepath.Join("..", "..", "testdata", "diff", name)
	if os.Getenv("PAVED_UPDATE") != "" {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (PAVED_UPDATE=1 writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden (PAVED_UPDATE=1 rewrites it); got:\n%s", name, got)
	}
}

// TestDiffDemoComment: the PR comment for the README's demo change says
// the two facts a reviewer needs in its first lines, shows the version
// label's change once for the 52 objects it is made on, and stays under
// 4 KB; --out-file keeps every object's diff.
func TestDiffDemoComment(t *testing.T) {
	dir := demoChange(t)
	out := runIn(t, dir, ExitChanges, "diff", "change", "--fleet", "fleet", "-o", "markdown", "--today", "2026-11-22", "--out-file", "full.md")
	golden(t, "demo-comment.md", dir, out)

	if len(out) >= 4096 {
		t.Errorf("the comment is %d bytes, want under 4 KB", len(out))
	}
	// Above the fold: in the summary, before the table, the danger zone
	// and any diff, within the first 15 lines.
	fold := strings.Join(strings.SplitN(out, "\n", 16)[:15], "\n")
	for _, want := range []string{"- image 1.4.2 → 1.5.0\n", "- prod HPA max 12 → 15\n"} {
		if !strings.Contains(fold, want) {
			t.Errorf("the first 15 lines do not say %q:\n%s", strings.TrimSpace(want), fold)
		}
	}
	if i, j := strings.Index(out, "#### Summary"), strings.Index(out, "| cluster |"); i < 0 || j < i {
		t.Errorf("the summary does not come first")
	}
	// The shared label hunk appears once, with where it applies, and no
	// object is listed for it.
	label := "`metadata.labels.app.kubernetes.io/version: 1.4.2 → 1.5.0` on 52 objects in 4 clusters"
	if n := strings.Count(out, "app.kubernetes.io/version: 1.4.2 → 1.5.0"); n != 2 || !strings.Contains(out, label) {
		t.Errorf("the version label's change should appear once in metadata and once in the pod template (%d times):\n%s", n, out)
	}
	if strings.Contains(out, "+    app.kubernetes.io/version: 1.5.0") || strings.Contains(out, "<details>") {
		t.Errorf("objects changed only by shared edits are listed:\n%s", out)
	}
	if !strings.Contains(out, "54 changed objects have no other change: counted, not listed") {
		t.Errorf("the objects changed only by shared edits are not counted:\n%s", out)
	}

	// --out-file keeps the whole report: every object's diff.
	full, err := os.ReadFile(filepath.Join(dir, "full.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(full), "<details><summary>"); n != 54 {
		t.Errorf("the full report has %d object diffs, want 54", n)
	}
	if n := strings.Count(string(full), "\n+    app.kubernetes.io/version: 1.5.0\n"); n != 52 {
		t.Errorf("the full report shows the label's change on %d objects, want 52", n)
	}
	if !strings.Contains(string(full), "- prod HPA max 12 → 15\n") {
		t.Error("the full report has no summary")
	}
	// So does --full on stdout.
	if got := runIn(t, dir, ExitChanges, "diff", "change", "--fleet", "fleet", "-o", "markdown", "--today", "2026-11-22", "--full"); strings.Count(got, "<details><summary>") != 54 {
		t.Errorf("--full does not show every object:\n%s", got)
	}
}

// TestDiffDemoTerminal: the terminal report follows the comment's rules;
// --full prints every object's whole diff, as before the summary.
func TestDiffDemoTerminal(t *testing.T) {
	dir := demoChange(t)
	out := runIn(t, dir, ExitChanges, "diff", "change", "--fleet", "fleet")
	golden(t, "demo-terminal.txt", dir, out)
	for _, want := range []string{"\n  image 1.4.2 → 1.5.0\n", "\n  prod HPA max 12 → 15\n", "\n  metadata.labels.app.kubernetes.io/version: 1.4.2 → 1.5.0\n    on 52 objects in 4 clusters\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\n~ ") {
		t.Errorf("objects changed only by shared edits are listed:\n%s", out)
	}

	full := runIn(t, dir, ExitChanges, "diff", "change", "--fleet", "fleet", "--full")
	if n := strings.Count(full, "\n~ "); n != 54 {
		t.Errorf("--full lists %d objects, want 54", n)
	}
	if n := strings.Count(full, "\n+    app.kubernetes.io/version: 1.5.0\n"); n != 52 {
		t.Errorf("--full shows the label's change on %d objects, want 52", n)
	}
	if !strings.Contains(full, "\n  prod HPA max 12 → 15\n") {
		t.Error("--full has no summary")
	}
}
