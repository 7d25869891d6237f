package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/internal/synth"
)

// TestChangedEqualsFull: on the examples and on a generated monorepo, a
// change of two apps gives the same diff with --changed as without (every
// format), and commit --changed leaves the fleet with the same tree as a
// full commit of the same change.
func TestChangedEqualsFull(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	t.Setenv("PAVED_AUTHOR_NAME", "paved-ci")
	t.Setenv("PAVED_AUTHOR_EMAIL", "ci@acme.dev")
	for _, c := range []struct {
		name string
		make func(t *testing.T, dir string)
	}{
		{"examples", func(t *testing.T, dir string) {
			if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "examples"))); err != nil {
				t.Fatal(err)
			}
		}},
		{"generated", func(t *testing.T, dir string) {
			if _, err := synth.Generate(dir, synth.Options{Apps: 24, Seed: 7}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("PAVED_CACHE_DIR", filepath.Join(tmp, "cache"))
			src := filepath.Join(tmp, "src")
			c.make(t, src)
			git := func(dir string, args ...string) string {
				t.Helper()
				cmd := exec.Command("git", append([]string{"-c", "user.name=dev", "-c", "user.email=dev@acme.dev"}, args...)...)
				cmd.Dir = dir
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("git %v: %v\n%s", args, err, out)
				}
				return strings.TrimSpace(string(out))
			}
			git(src, "init", "-q", "-b", "main")
			git(src, "remote", "add", "origin", "https://github.com/acme/monorepo.git")
			git(src, "add", "-A")
			git(src, "commit", "-q", "-m", "apps")
			base := git(src, "rev-parse", "HEAD")
			paved := func(want int, args ...string) string {
				t.Helper()
				var stdout, stderr strings.Builder
				if code := Run(args, &env{stdout: &stdout, stderr: &stderr, cwd: src}); code != want {
					t.Fatalf("paved %v: exit %d, want %d\n%s", args, code, want, stderr.String())
				}
				return stdout.String()
			}
			full, changed := filepath.Join(tmp, "full.git"), filepath.Join(tmp, "changed.git")
			for _, f := range []string{full, changed} {
				git(tmp, "init", "-q", "--bare", "-b", "main", f)
				paved(ExitOK, "commit", "--quiet", ".", "--fleet", f)
			}

			// Two apps change: new environment variables.
			apps, err := filepath.Glob(filepath.Join(src, "*", "*", "app.cue"))
			if err != nil || len(apps) < 3 {
				t.Fatalf("apps: %v %v", apps, err)
			}
			for i, a := range []string{apps[0], apps[len(apps)/2]} {
				spec, err := os.ReadFile(a)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(a, fmt.Appendf(spec, "\nenv: TEST_CHANGE_%d: \"on\"\n", i), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			git(src, "commit", "-q", "-am", "two apps change")

			for _, o := range []string{"terminal", "markdown", "json"} {
				args := []string{"diff", ".", "--fleet", full, "--base", base, "-o", o, "--today", "2026-12-01"}
				want := paved(ExitChanges, args...)
				got := paved(ExitChanges, append(args, "--changed")...)
				if got != want {
					t.Errorf("diff -o %s --changed differs from the full diff:\n--- full\n%s\n--- changed\n%s", o, want, got)
				}
				if !strings.Contains(want, "TEST_CHANGE_1") {
					t.Errorf("diff -o %s does not show the change:\n%s", o, want)
				}
			}

			paved(ExitOK, "commit", "--quiet", ".", "--fleet", full)
			paved(ExitOK, "commit", "--quiet", ".", "--fleet", changed, "--changed")
			if a, b := git(tmp, "--git-dir", full, "rev-parse", "main^{tree}"), git(tmp, "--git-dir", changed, "rev-parse", "main^{tree}"); a != b {
				diff := git(tmp, "--git-dir", full, "fetch", "-q", changed, "main")
				t.Errorf("commit --changed left tree %s, a full commit %s %s\n%s", b, a, diff,
					git(tmp, "--git-dir", full, "diff", "--stat", "main", "FETCH_HEAD"))
			}
		})
	}
}
