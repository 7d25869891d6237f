package cli

import (
	"fmt"
	"os"
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
			gitOut(t, src, "init", "-q", "-b", "main")
			gitOut(t, src, "remote", "add", "origin", "https://github.com/acme/monorepo.git")
			gitOut(t, src, "add", "-A")
			gitOut(t, src, "commit", "-q", "-m", "apps")
			base := gitOut(t, src, "rev-parse", "HEAD")
			paved := func(want int, args ...string) string {
				t.Helper()
				var stdout, stderr strings.Builder
				if code := Run(args, &env{stdout: &stdout, stderr: &stderr, cwd: src}); code != want {
					t.Fatalf("paved %v: exit %d, want %d\n%s", args, code, want, stderr.String())
				}
				return stdout.String()
			}
			full, changed := filepath.Join(tmp, "full.git"), filepath.Join(tmp, "changed.git")
			// The platform team puts the platform into both fleets: commit
			// renders with the fleet's, not the source's.
			seed := filepath.Join(tmp, "seed")
			gitOut(t, tmp, "init", "-q", "-b", "main", seed)
			if plat := filepath.Join(src, "paved.platform"); dirExists(plat) {
				if err := os.CopyFS(filepath.Join(seed, "platform"), os.DirFS(plat)); err != nil {
					t.Fatal(err)
				}
			}
			gitOut(t, seed, "add", "-A")
			gitOut(t, seed, "commit", "-q", "--allow-empty", "-m", "platform")
			for _, f := range []string{full, changed} {
				gitOut(t, tmp, "init", "-q", "--bare", "-b", "main", f)
				gitOut(t, seed, "push", "-q", f, "main")
				paved(ExitOK, "commit", "--quiet", ".", "--fleet", f, "--today", synth.Today)
			}

			// Two apps change: new environment variables.
			apps, err := filepath.Glob(filepath.Join(src, "*", "*", "app.cue"))
			if err != nil || len(apps) < 3 {
				t.Fatalf("apps: %v %v", apps, err)
			}
			for i, a := range []string{apps[0], apps[len(apps)/2]} {
				appendTo(t, a, fmt.Sprintf("\nenv: TEST_CHANGE_%d: \"on\"\n", i))
			}
			gitOut(t, src, "commit", "-q", "-am", "two apps change")

			for _, o := range []string{"terminal", "markdown", "json"} {
				args := []string{"diff", ".", "--fleet", full, "--base", base, "-o", o, "--today", synth.Today}
				want := paved(ExitChanges, args...)
				got := paved(ExitChanges, append(args, "--changed")...)
				if got != want {
					t.Errorf("diff -o %s --changed differs from the full diff:\n--- full\n%s\n--- changed\n%s", o, want, got)
				}
				for _, v := range []string{"TEST_CHANGE_0", "TEST_CHANGE_1"} {
					if !strings.Contains(want, v) {
						t.Errorf("diff -o %s does not show %s:\n%s", o, v, want)
					}
				}
			}

			paved(ExitOK, "commit", "--quiet", ".", "--fleet", full, "--today", synth.Today)
			paved(ExitOK, "commit", "--quiet", ".", "--fleet", changed, "--changed", "--today", synth.Today)
			if a, b := gitOut(t, tmp, "--git-dir", full, "rev-parse", "main^{tree}"), gitOut(t, tmp, "--git-dir", changed, "rev-parse", "main^{tree}"); a != b {
				gitOut(t, tmp, "--git-dir", full, "fetch", "-q", changed, "main")
				t.Errorf("commit --changed left tree %s, a full commit %s:\n%s", b, a,
					gitOut(t, tmp, "--git-dir", full, "diff", "--stat", "main", "FETCH_HEAD"))
			}
		})
	}
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
