package cli

import (
	"fmt"
	"io"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/paved-dev/paved/internal/synth"
)

// The fleet benchmarks run each command in-process, as a user runs it, on
// a synthetic monorepo of N apps (internal/synth, seed 1). BENCH_APPS
// narrows the sizes, e.g. BENCH_APPS=1,100.
func benchSizes() []int {
	sizes := []int{1, 100, 1000, 5000}
	if s := os.Getenv("BENCH_APPS"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				panic("BENCH_APPS: not a list of app counts: " + s)
			}
			sizes = append(sizes, n)
		}
	}
	return sizes
}

var (
	fleetsMu sync.Mutex
	fleets   = map[int]string{}
	fleetDir string
)

// syntheticRepo generates (once per process) a git repository holding N
// synthetic apps and returns its root.
func syntheticRepo(b *testing.B, n int) string {
	b.Helper()
	fleetsMu.Lock()
	defer fleetsMu.Unlock()
	if d, ok := fleets[n]; ok {
		return d
	}
	if fleetDir == "" {
		d, err := os.MkdirTemp("", "paved-bench-")
		if err != nil {
			b.Fatal(err)
		}
		fleetDir = d
	}
	root := filepath.Join(fleetDir, fmt.Sprintf("apps-%d", n))
	if _, err := synth.Generate(root, synth.Options{Apps: n, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	gitRun(b, root, "init", "-q", "-b", "main")
	gitRun(b, root, "remote", "add", "origin", "https://github.com/acme/monorepo.git")
	gitRun(b, root, "add", "-A")
	gitRun(b, root, "-c", "user.name=bench", "-c", "user.email=bench@paved.dev", "commit", "-q", "-m", "synthetic apps")
	fleets[n] = root
	return root
}

// gitRun runs git in dir, without the user's configuration and as a
// fixed author, and returns its output; it fails the test on an error.
func gitRun(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=dev", "GIT_AUTHOR_EMAIL=dev@acme.dev", "GIT_COMMITTER_NAME=dev", "GIT_COMMITTER_EMAIL=dev@acme.dev")
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// gitOut is gitRun's output without surrounding white space (a hash, a
// count).
func gitOut(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	return strings.TrimSpace(gitRun(tb, dir, args...))
}

// runPaved runs one paved command in-process and fails the benchmark on
// an exit code other than want.
func runPaved(b *testing.B, dir string, want int, args ...string) {
	b.Helper()
	var stderr strings.Builder
	if code := Run(args, &env{stdout: io.Discard, stderr: &stderr, cwd: dir}); code != want {
		b.Fatalf("paved %v: exit %d, want %d\n%s", args, code, want, stderr.String())
	}
}

// benchEach runs f at every size, cold: the content-addressed cache is
// off unless f turns it on.
func benchEach(b *testing.B, f func(b *testing.B, root string, n int)) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("apps=%d", n), func(b *testing.B) {
			root := syntheticRepo(b, n)
			b.Setenv("PAVED_CACHE_DIR", "off")
			b.ReportAllocs()
			f(b, root, n)
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/float64(n), "ms/app")
		})
	}
}

func BenchmarkVet(b *testing.B) {
	benchEach(b, func(b *testing.B, root string, n int) {
		for b.Loop() {
			runPaved(b, root, ExitOK, "vet", "--quiet", ".")
		}
	})
}

func BenchmarkRender(b *testing.B) {
	benchEach(b, func(b *testing.B, root string, n int) {
		out := b.TempDir()
		for b.Loop() {
			runPaved(b, root, ExitOK, "render", "--quiet", ".", "--out", filepath.Join(out, "fleet"))
		}
	})
}

func BenchmarkLint(b *testing.B) {
	benchEach(b, func(b *testing.B, root string, n int) {
		for b.Loop() {
			runPaved(b, root, ExitOK, "lint", "--quiet", ".", "-o", "json", "--today", synth.Today)
		}
	})
}

// BenchmarkRenderWarm and BenchmarkLintWarm run with a warm cache: the
// apps are unchanged since the last run (same files, same revision), as
// when a developer re-runs a command.
func BenchmarkRenderWarm(b *testing.B) {
	benchEach(b, func(b *testing.B, root string, n int) {
		out := b.TempDir()
		b.Setenv("PAVED_CACHE_DIR", filepath.Join(b.TempDir(), "cache"))
		runPaved(b, root, ExitOK, "render", "--quiet", ".", "--out", filepath.Join(out, "fleet"))
		b.ResetTimer()
		for b.Loop() {
			runPaved(b, root, ExitOK, "render", "--quiet", ".", "--out", filepath.Join(out, "fleet"))
		}
	})
}

func BenchmarkLintWarm(b *testing.B) {
	benchEach(b, func(b *testing.B, root string, n int) {
		b.Setenv("PAVED_CACHE_DIR", filepath.Join(b.TempDir(), "cache"))
		runPaved(b, root, ExitOK, "lint", "--quiet", ".", "-o", "json", "--today", synth.Today)
		b.ResetTimer()
		for b.Loop() {
			runPaved(b, root, ExitOK, "lint", "--quiet", ".", "-o", "json", "--today", synth.Today)
		}
	})
}

// BenchmarkDiff diffs the apps against a fleet directory rendered from
// them, with one app changed since.
func BenchmarkDiff(b *testing.B) {
	benchEach(b, func(b *testing.B, root string, n int) {
		fleet := filepath.Join(b.TempDir(), "fleet")
		runPaved(b, root, ExitOK, "render", "--quiet", ".", "--out", fleet)
		copyPlatform(b, root, fleet) // diff renders with the fleet's platform
		changed := filepath.Join(b.TempDir(), "apps")
		if err := os.CopyFS(changed, os.DirFS(root)); err != nil {
			b.Fatal(err)
		}
		apps, err := filepath.Glob(filepath.Join(changed, "team-*", "*", "app.cue"))
		if err != nil || len(apps) == 0 {
			b.Fatalf("no app found in %s: %v", changed, err)
		}
		spec, err := os.ReadFile(apps[0])
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(apps[0], append(spec, "env: BENCH_CHANGE: \"1\"\n"...), 0o644); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			runPaved(b, changed, ExitChanges, "diff", "--quiet", ".", "--fleet", fleet, "-o", "json", "--today", synth.Today)
		}
	})
}

// BenchmarkCommit runs the full commit path (render, lint, clone, apply,
// tree build, push) of every app into an empty fleet repository.
func BenchmarkCommit(b *testing.B) {
	b.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	benchEach(b, func(b *testing.B, root string, n int) {
		tmp := b.TempDir()
		i := 0
		for b.Loop() {
			b.StopTimer()
			bare := filepath.Join(tmp, fmt.Sprintf("fleet-%d.git", i))
			seedFleet(b, tmp, bare, root)
			i++
			b.StartTimer()
			runPaved(b, root, ExitOK, "commit", "--quiet", ".", "--fleet", bare, "--today", synth.Today)
		}
	})
}

// BenchmarkVerify runs the fleet's own check (paved verify) on a fleet
// paved commit wrote from N apps: every app re-rendered from its recorded
// inputs, every file compared, the render linted. Cold cache, as a fleet
// repository's CI runner has.
func BenchmarkVerify(b *testing.B) {
	b.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	benchEach(b, func(b *testing.B, root string, n int) {
		tmp := b.TempDir()
		bare := filepath.Join(tmp, "fleet.git")
		seedFleet(b, tmp, bare, root)
		runPaved(b, root, ExitOK, "commit", "--quiet", ".", "--fleet", bare, "--today", synth.Today)
		for b.Loop() {
			runPaved(b, tmp, ExitOK, "verify", "--quiet", bare, "--ref", "main", "--today", synth.Today)
		}
	})
}

// BenchmarkLintWarmOneApp lints with the cache warm from a run before
// one app changed (issue 29): every other app's evaluation and policy
// results come from the cache. Each iteration edits the app anew, so it
// is never in the cache.
func BenchmarkLintWarmOneApp(b *testing.B) {
	benchEach(b, func(b *testing.B, root string, n int) {
		work := filepath.Join(b.TempDir(), "repo")
		if err := os.CopyFS(work, os.DirFS(root)); err != nil {
			b.Fatal(err)
		}
		b.Setenv("PAVED_CACHE_DIR", filepath.Join(b.TempDir(), "cache"))
		runPaved(b, work, ExitOK, "lint", "--quiet", ".", "-o", "json", "--today", synth.Today)
		i := 0
		b.ResetTimer()
		for b.Loop() {
			b.StopTimer()
			i++
			editMiddleApp(b, work, fmt.Sprintf("\nenv: BENCH_CHANGE_%d: \"1\"\n", i))
			b.StartTimer()
			runPaved(b, work, ExitOK, "lint", "--quiet", ".", "-o", "json", "--today", synth.Today)
		}
	})
}

// BenchmarkVerifyShard runs each of 4 shards of verify (issue 29) on the
// fleet of BenchmarkVerify, cold cache: compare each with BenchmarkVerify.
func BenchmarkVerifyShard(b *testing.B) {
	b.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	benchEach(b, func(b *testing.B, root string, n int) {
		tmp := b.TempDir()
		bare := filepath.Join(tmp, "fleet.git")
		seedFleet(b, tmp, bare, root)
		runPaved(b, root, ExitOK, "commit", "--quiet", ".", "--fleet", bare, "--today", synth.Today)
		for i := 1; i <= 4; i++ {
			b.Run(fmt.Sprintf("shard=%d-of-4", i), func(b *testing.B) {
				for b.Loop() {
					runPaved(b, tmp, ExitOK, "verify", "--quiet", bare, "--ref", "main", "--today", synth.Today, "--shard", fmt.Sprintf("%d/4", i))
				}
			})
		}
	})
}

// BenchmarkVerifyChanged runs verify --changed (issue 29) after a commit
// of one app to the fleet of BenchmarkVerify, cold cache: a fleet push.
func BenchmarkVerifyChanged(b *testing.B) {
	b.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	benchEach(b, func(b *testing.B, root string, n int) {
		tmp := b.TempDir()
		bare := filepath.Join(tmp, "fleet.git")
		seedFleet(b, tmp, bare, root)
		runPaved(b, root, ExitOK, "commit", "--quiet", ".", "--fleet", bare, "--today", synth.Today)
		work := filepath.Join(tmp, "repo")
		if err := os.CopyFS(work, os.DirFS(root)); err != nil {
			b.Fatal(err)
		}
		editMiddleApp(b, work, "\nenv: BENCH_CHANGE: \"1\"\n")
		gitRun(b, work, "-c", "user.name=bench", "-c", "user.email=bench@paved.dev", "commit", "-q", "-am", "one app")
		runPaved(b, work, ExitOK, "commit", "--quiet", ".", "--changed", "--fleet", bare, "--today", synth.Today)
		for b.Loop() {
			runPaved(b, tmp, ExitOK, "verify", "--quiet", bare, "--ref", "main", "--changed", "--base", "main~1", "--today", synth.Today)
		}
	})
}

// seedFleet creates a bare fleet repository with one commit on main: a
// README and the synthetic monorepo's platform as the fleet's.
func seedFleet(b *testing.B, tmp, bare, root string) {
	b.Helper()
	gitRun(b, tmp, "init", "-q", "--bare", "-b", "main", bare)
	work := bare + ".work"
	gitRun(b, tmp, "clone", "-q", bare, work)
	if err := os.WriteFile(filepath.Join(work, "README.md"), []byte("fleet\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	copyPlatform(b, root, work)
	gitRun(b, work, "add", "-A")
	gitRun(b, work, "-c", "user.name=bench", "-c", "user.email=bench@paved.dev", "commit", "-q", "-m", "init")
	gitRun(b, work, "push", "-q", "origin", "main")
}

// editMiddleApp appends text to the app.cue of the middle app of a
// generated monorepo (team-*/<app>/app.cue), as a developer's edit.
func editMiddleApp(tb testing.TB, root, text string) {
	tb.Helper()
	apps, err := filepath.Glob(filepath.Join(root, "team-*", "*", "app.cue"))
	if err != nil || len(apps) == 0 {
		tb.Fatalf("no app in %s", root)
	}
	appendTo(tb, apps[len(apps)/2], text)
}

// appendTo appends text to a file.
func appendTo(tb testing.TB, file, text string) {
	tb.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(file, append(data, text...), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkChanged runs `vet --changed` and `lint --changed` with one app
// edited in the work tree, warm cache (the state a pre-commit hook runs
// in). The ≤ 200 ms target includes process start, which this in-process
// benchmark does not: BENCH.md reports both.
func BenchmarkChanged(b *testing.B) {
	for _, cmd := range []string{"vet", "lint"} {
		b.Run(cmd, func(b *testing.B) {
			benchEach(b, func(b *testing.B, root string, n int) {
				work := filepath.Join(b.TempDir(), "repo")
				if err := os.CopyFS(work, os.DirFS(root)); err != nil {
					b.Fatal(err)
				}
				editMiddleApp(b, work, "\n// edited\n")
				b.Setenv("PAVED_CACHE_DIR", filepath.Join(b.TempDir(), "cache"))
				args := []string{cmd, "--quiet"}
				if cmd == "lint" {
					args = append(args, "--today", synth.Today)
				}
				runPaved(b, work, ExitOK, append(args, ".")...) // warm the cache
				b.ResetTimer()
				for b.Loop() {
					runPaved(b, work, ExitOK, append(args, "--changed", ".")...)
				}
			})
		})
	}
}

// BenchmarkPR measures the pull-request and merge paths of a one-app
// change in a monorepo of N apps whose render the fleet holds, the fleet
// served over smart HTTP (git http-backend on 127.0.0.1), with a cold
// cache as a fresh CI runner has: `diff --changed --base HEAD -o markdown`
// (the PR comment) and `commit --changed` (on the default branch), beside
// the full diff and commit of the same change.
func BenchmarkPR(b *testing.B) {
	b.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("apps=%d", n), func(b *testing.B) {
			root := syntheticRepo(b, n)
			tmp := b.TempDir()
			work := filepath.Join(tmp, "repo")
			gitRun(b, tmp, "clone", "-q", root, work)
			gitRun(b, work, "remote", "set-url", "origin", "https://github.com/acme/monorepo.git")
			gitRoot := filepath.Join(tmp, "git")
			bare := filepath.Join(gitRoot, "fleet.git")
			seedFleet(b, tmp, bare, root)
			gitRun(b, bare, "config", "http.receivepack", "true")
			b.Setenv("PAVED_CACHE_DIR", filepath.Join(tmp, "setup-cache"))
			runPaved(b, work, ExitOK, "commit", "--quiet", ".", "--fleet", bare, "--today", synth.Today)
			tip := strings.TrimSpace(gitRun(b, bare, "rev-parse", "main"))
			url := serveGitHTTP(b, gitRoot) + "/fleet.git"

			// One app changes: a new environment variable.
			editMiddleApp(b, work, "env: BENCH_CHANGE: \"1\"\n")
			cold := func(b *testing.B) {
				b.StopTimer()
				b.Setenv("PAVED_CACHE_DIR", filepath.Join(b.TempDir(), "cache"))
				gitRun(b, bare, "update-ref", "refs/heads/main", tip)
				b.StartTimer()
			}
			for _, c := range []struct {
				name string
				code int
				args []string
			}{
				{"diff-changed", ExitChanges, []string{"diff", "--quiet", ".", "--fleet", url, "--changed", "--base", "HEAD", "-o", "markdown", "--today", synth.Today}},
				{"diff-full", ExitChanges, []string{"diff", "--quiet", ".", "--fleet", url, "-o", "markdown", "--today", synth.Today}},
				{"commit-changed", ExitOK, []string{"commit", "--quiet", ".", "--fleet", url, "--changed", "--today", synth.Today}},
				{"commit-full", ExitOK, []string{"commit", "--quiet", ".", "--fleet", url, "--today", synth.Today}},
			} {
				b.Run(c.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						cold(b)
						runPaved(b, work, c.code, c.args...)
					}
				})
			}
		})
	}
}

// serveGitHTTP serves the bare repositories under root over smart HTTP
// (git http-backend) on 127.0.0.1 until the benchmark ends.
func serveGitHTTP(b *testing.B, root string) string {
	b.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(&cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	})
	b.Cleanup(srv.Close)
	return srv.URL
}

// copyPlatform copies a synthetic monorepo's paved.platform into a fleet
// as its platform/.
func copyPlatform(tb testing.TB, root, fleet string) {
	tb.Helper()
	if err := os.CopyFS(filepath.Join(fleet, "platform"), os.DirFS(filepath.Join(root, "paved.platform"))); err != nil {
		tb.Fatal(err)
	}
}
