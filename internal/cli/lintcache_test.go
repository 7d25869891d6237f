package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/internal/synth"
)

// TestLintCacheEqualsUncached: on the examples and on a generated
// monorepo, lint's report (every format) is byte for byte the same with
// the cache starting empty, warm, and without it; and after a change of
// the platform's policies, the warm run is the uncached run of the new
// policies.
func TestLintCacheEqualsUncached(t *testing.T) {
	for _, c := range []struct {
		name string
		make func(t *testing.T, dir string) string // returns the platform directory
	}{
		{"examples", func(t *testing.T, dir string) string {
			if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "examples"))); err != nil {
				t.Fatal(err)
			}
			plat := filepath.Join(dir, "paved.platform")
			writeFile(t, filepath.Join(plat, "platform.cue"), "package paved\n\nplatform: extends: \"example\"\n")
			return plat
		}},
		{"generated", func(t *testing.T, dir string) string {
			if _, err := synth.Generate(dir, synth.Options{Apps: 30, Seed: 3}); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "paved.platform")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			src := filepath.Join(tmp, "src")
			plat := c.make(t, src)
			cacheDir := filepath.Join(tmp, "cache")
			lint := func(cached bool, format string) (int, string) {
				t.Helper()
				if cached {
					t.Setenv("PAVED_CACHE_DIR", cacheDir)
				} else {
					t.Setenv("PAVED_CACHE_DIR", "off")
				}
				var stdout, stderr strings.Builder
				code := Run([]string{"lint", ".", "-o", format, "--today", synth.Today}, &env{stdout: &stdout, stderr: &stderr, cwd: src})
				if code != ExitOK && code != ExitChanges {
					t.Fatalf("paved lint: exit %d\n%s", code, stderr.String())
				}
				return code, stdout.String()
			}
			same := func(what string) {
				t.Helper()
				for _, f := range []string{"json", "text"} {
					wc, want := lint(false, f)
					for _, run := range []string{"first", "second"} {
						gc, got := lint(true, f)
						if gc != wc || got != want {
							t.Fatalf("%s, -o %s, %s run with the cache: exit %d, want %d; report:\n%s\nwant:\n%s", what, f, run, gc, wc, got, want)
						}
					}
				}
			}
			same("unchanged")
			// A platform policy that finds something in every app.
			writeFile(t, filepath.Join(plat, "policies", "owner.rego"), `package acme.owner

import rego.v1

warn_owner_label contains msg if {
	input.kind == "Deployment"
	not input.metadata.labels.owner
	msg := sprintf("Deployment %s has no owner label", [input.metadata.name])
}
`)
			if _, out := lint(true, "json"); !strings.Contains(out, "has no owner label") {
				t.Fatalf("the new policy's findings are missing from the warm run:\n%s", out)
			}
			same("a new policy")
		})
	}
}

func writeFile(t *testing.T, f, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
