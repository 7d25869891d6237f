package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestPreCommitHooks checks the published hooks (.pre-commit-hooks.yaml)
// and the one `paved init` scaffolds: every hook is offline, serial, never
// passes file names, and its entry runs as a real paved command in a git
// repository with a changed app.
func TestPreCommitHooks(t *testing.T) {
	type hook struct {
		ID              string `json:"id"`
		Entry           string `json:"entry"`
		Language        string `json:"language"`
		LanguageVersion string `json:"language_version"`
		PassFilenames   *bool  `json:"pass_filenames"`
		RequireSerial   bool   `json:"require_serial"`
		MinVersion      string `json:"minimum_pre_commit_version"`
	}
	data, err := os.ReadFile("../../.pre-commit-hooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var hooks []hook
	if err := yaml.UnmarshalStrict(data, &hooks, yaml.DisallowUnknownFields); err != nil {
		// pre-commit knows more keys than this struct; only decode.
		if err := yaml.Unmarshal(data, &hooks); err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]bool{}
	for _, h := range hooks {
		ids[h.ID] = true
		if h.PassFilenames == nil || *h.PassFilenames || !h.RequireSerial {
			t.Errorf("hook %s: want pass_filenames false, require_serial true", h.ID)
		}
		if want := preCommitFloor(h.Language, h.LanguageVersion, h.RequireSerial); h.MinVersion != want {
			t.Errorf("hook %s: minimum_pre_commit_version %q, want %q: what the hook needs, no more", h.ID, h.MinVersion, want)
		}
		if !strings.Contains(h.Entry, "--changed") {
			t.Errorf("hook %s: entry %q does not limit work to changed apps", h.ID, h.Entry)
		}
	}
	for _, want := range []string{"paved-vet", "paved-lint", "paved-vet-system", "paved-lint-system"} {
		if !ids[want] {
			t.Errorf("missing hook %s", want)
		}
	}

	// Run each entry in a repository where an app changed.
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", "-b", "main", ".")
	app := filepath.Join(dir, "cart")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := "package app\n\napiVersion: \"paved.dev/v1alpha1\"\nname: \"cart\"\nteam: \"payments\"\nkind: \"worker\"\nimage: \"ghcr.io/acme/cart:1.0.0\"\n"
	if err := os.WriteFile(filepath.Join(app, "app.cue"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, h := range hooks {
		args := strings.Fields(h.Entry)
		if args[0] != "paved" {
			t.Fatalf("hook %s: entry %q does not run paved", h.ID, h.Entry)
		}
		var out, errb bytes.Buffer
		code := Run(args[1:], &env{stdout: &out, stderr: &errb, cwd: dir})
		if code != ExitOK {
			t.Errorf("hook %s: %q exited %d\n%s%s", h.ID, h.Entry, code, out.String(), errb.String())
		}
		if strings.Contains(h.Entry, "lint") && !strings.Contains(out.String(), "linted 1 app") {
			t.Errorf("hook %s: the untracked app was not linted:\n%s", h.ID, out.String())
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 { // .git and cart: the hooks wrote nothing
		t.Errorf("hooks wrote into the repository: %v", entries)
	}
}

// preCommitFloor is the oldest pre-commit that runs a hook as written, from
// pre-commit's changelog: require_serial came in 1.13.0, and 3.0.0 is the
// first to install the Go a golang hook's language_version names (before,
// golang hooks needed a system Go and refused a language_version).
func preCommitFloor(language, languageVersion string, requireSerial bool) string {
	switch {
	case language == "golang" && languageVersion != "" && languageVersion != "default" && languageVersion != "system":
		return "3.0.0"
	case requireSerial:
		return "1.13.0"
	}
	return "0"
}

// configFloor is the oldest pre-commit that runs a .pre-commit-config.yaml
// with these hooks: 1.15.0 reads the top-level minimum_pre_commit_version.
func configFloor(hookFloors ...string) string {
	floor := "1.15.0"
	for _, f := range hookFloors {
		if compareVersions(f, floor) > 0 {
			floor = f
		}
	}
	return floor
}

// compareVersions compares dotted numeric versions, as pre-commit does.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

// TestPreCommitFloors checks the minimum_pre_commit_version of the
// configuration `paved init` scaffolds and of the README's snippet: what
// their hooks need, no more (TestPreCommitRun shows an older pre-commit
// than a needless floor runs them).
func TestPreCommitFloors(t *testing.T) {
	type config struct {
		MinVersion string `json:"minimum_pre_commit_version"`
		Repos      []struct {
			Repo  string `json:"repo"`
			Hooks []struct {
				ID              string `json:"id"`
				Language        string `json:"language"`
				LanguageVersion string `json:"language_version"`
				RequireSerial   bool   `json:"require_serial"`
			} `json:"hooks"`
		} `json:"repos"`
	}
	manifest := map[string]string{} // published hook id: its floor
	var published []struct {
		ID         string `json:"id"`
		MinVersion string `json:"minimum_pre_commit_version"`
	}
	data, err := os.ReadFile("../../.pre-commit-hooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &published); err != nil {
		t.Fatal(err)
	}
	for _, h := range published {
		manifest[h.ID] = h.MinVersion
	}
	check := func(name string, data []byte) {
		var c config
		if err := yaml.Unmarshal(data, &c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var floors []string
		for _, r := range c.Repos {
			for _, h := range r.Hooks {
				if r.Repo == "local" {
					floors = append(floors, preCommitFloor(h.Language, h.LanguageVersion, h.RequireSerial))
				} else if f, ok := manifest[h.ID]; ok {
					floors = append(floors, f)
				} else {
					t.Errorf("%s: hook %s is not in .pre-commit-hooks.yaml", name, h.ID)
				}
			}
		}
		if len(floors) == 0 {
			t.Fatalf("%s: no hooks", name)
		}
		if want := configFloor(floors...); c.MinVersion != want {
			t.Errorf("%s: minimum_pre_commit_version %q, want %q: what its hooks need, no more", name, c.MinVersion, want)
		}
	}

	dir := filepath.Join(t.TempDir(), "shop")
	initRepoApp(t, dir, dir)
	scaffolded, err := os.ReadFile(filepath.Join(dir, ".pre-commit-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	check("paved init's .pre-commit-config.yaml", scaffolded)
	check("the README's .pre-commit-config.yaml", readmePreCommitConfig(t))
}

// readmePreCommitConfig is the .pre-commit-config.yaml the README shows.
func readmePreCommitConfig(t *testing.T) []byte {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := bytes.Cut(readme, []byte("```yaml\n# .pre-commit-config.yaml\n"))
	snippet, _, ok2 := bytes.Cut(rest, []byte("```"))
	if !ok || !ok2 {
		t.Fatal("README.md: no ```yaml block starting with # .pre-commit-config.yaml")
	}
	return snippet
}

// TestPreCommitRun runs the real pre-commit (CI installs Debian 12's
// package, 3.0.4) as a git hook: on a repository `paved init` scaffolded,
// and on one using the hooks this repository publishes as the README
// shows (their -system variants: the golang ones would download Go). A
// good commit passes and writes nothing; a broken app.cue and a policy
// denial are refused, naming the app.cue line.
func TestPreCommitRun(t *testing.T) {
	preCommit, err := exec.LookPath("pre-commit")
	if err != nil {
		if ci := os.Getenv("CI"); ci != "" && ci != "false" {
			t.Fatal("pre-commit is not installed; CI must run this test (.ci/run installs Debian's pre-commit)")
		}
		t.Skip("pre-commit is not installed (apt-get install pre-commit); CI runs this test")
	}
	version, err := exec.Command(preCommit, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %s", preCommit, bytes.TrimSpace(version))
	home := t.TempDir()
	environ := append(os.Environ(),
		"PRE_COMMIT_HOME="+filepath.Join(home, "pre-commit"),
		"PAVED_CACHE_DIR="+filepath.Join(home, "paved"),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
	)
	run := func(t *testing.T, dir string, name string, args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = environ
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(t *testing.T, dir string, name string, args ...string) string {
		t.Helper()
		out, err := run(t, dir, name, args...)
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return out
	}
	// scaffold makes a git repository holding the app `paved init` writes
	// at its root.
	scaffold := func(t *testing.T) string {
		repo := filepath.Join(t.TempDir(), "shop")
		initRepoApp(t, repo, repo)
		return repo
	}
	// app is the app's directory in repo: svc/shop for the repository
	// "subdirectory" scaffolds, else its root.
	app := func(repo string) string {
		if d := filepath.Join(repo, "svc", "shop"); dirExists(d) {
			return d
		}
		return repo
	}
	edit := func(t *testing.T, repo, old, new string) {
		t.Helper()
		p := filepath.Join(app(repo), "app.cue")
		spec, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(spec, []byte(old)) {
			t.Fatalf("app.cue has no %q:\n%s", old, spec)
		}
		if err := os.WriteFile(p, bytes.Replace(spec, []byte(old), []byte(new), 1), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	passed := regexp.MustCompile(`(?m)^paved (vet|lint)\.+Passed$`)
	commitPasses := func(t *testing.T, repo, msg string) {
		t.Helper()
		must(t, repo, "git", "add", "-A")
		out := must(t, repo, "git", "commit", "-q", "-m", msg)
		if n := len(passed.FindAllString(out, -1)); n != 2 {
			t.Errorf("commit %q: want paved vet and paved lint Passed:\n%s", msg, out)
		}
		if st := must(t, repo, "git", "status", "--porcelain"); st != "" {
			t.Errorf("the hooks wrote into the repository:\n%s", st)
		}
	}
	// commitRefused edits app.cue, requires the commit to be refused by
	// hook with the line of the edit (file:line:) in its output, then
	// undoes the edit.
	commitRefused := func(t *testing.T, repo, old, new, hook string) {
		t.Helper()
		edit(t, repo, old, new)
		spec, err := os.ReadFile(filepath.Join(app(repo), "app.cue"))
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(repo, filepath.Join(app(repo), "app.cue"))
		line := fmt.Sprintf("%s:%d:", filepath.ToSlash(rel), lineOf(spec, new))
		head := must(t, repo, "git", "rev-parse", "HEAD")
		out, err := run(t, repo, "git", "commit", "-q", "-am", "broken")
		if err == nil {
			t.Errorf("commit with %s was not refused:\n%s", new, out)
		}
		if !regexp.MustCompile(`(?m)^`+hook+`\.+Failed$`).MatchString(out) || !strings.Contains(out, line) {
			t.Errorf("commit with %s: want %s Failed at %s:\n%s", new, hook, line, out)
		}
		if after := must(t, repo, "git", "rev-parse", "HEAD"); after != head {
			t.Errorf("a refused commit was made")
		}
		edit(t, repo, new, old)
	}
	const (
		image    = `image:      "ghcr.io/acme/identity/shop:0.1.0"`
		denied   = `image:      "docker.io/acme/shop:0.1.0"`
		port     = `port:       8080`
		badPort  = `port:       "8080"`
		replicas = `replicas: {min: 2, max: 4}`
	)

	t.Run("scaffolded", func(t *testing.T) {
		t.Parallel()
		repo := scaffold(t)
		must(t, repo, preCommit, "install")
		commitPasses(t, repo, "shop: scaffolded by paved init")
		edit(t, repo, replicas, `replicas: {min: 2, max: 6}`)
		commitPasses(t, repo, "shop: up to 6 replicas")
		commitRefused(t, repo, port, badPort, "paved vet")
		commitRefused(t, repo, image, denied, "paved lint")
	})

	// Issue 28: an app below the repository's root. paved init wrote the
	// configuration at the root, where pre-commit reads it.
	t.Run("subdirectory", func(t *testing.T) {
		t.Parallel()
		repo := filepath.Join(t.TempDir(), "shop")
		initRepoApp(t, repo, filepath.Join(repo, "svc", "shop"))
		must(t, repo, preCommit, "install")
		commitPasses(t, repo, "svc/shop: scaffolded by paved init")
		commitRefused(t, repo, port, badPort, "paved vet")
		commitRefused(t, repo, image, denied, "paved lint")
	})

	t.Run("published", func(t *testing.T) {
		t.Parallel()
		// This repository's hooks as a pre-commit repository: the
		// manifest as it is in the work tree, committed.
		hooks := t.TempDir()
		manifest, err := os.ReadFile("../../.pre-commit-hooks.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(hooks, ".pre-commit-hooks.yaml"), manifest, 0o644); err != nil {
			t.Fatal(err)
		}
		must(t, hooks, "git", "init", "-q", "-b", "main")
		must(t, hooks, "git", "add", "-A")
		must(t, hooks, "git", "commit", "-q", "-m", "hooks")
		rev := strings.TrimSpace(must(t, hooks, "git", "rev-parse", "HEAD"))

		config := string(readmePreCommitConfig(t))
		for _, r := range []struct{ old, new string }{
			{"https://github.com/paved-dev/paved", hooks},
			{"rev: v0.1.0", "rev: " + rev},
			{"id: paved-vet\n", "id: paved-vet-system\n"},
			{"id: paved-lint\n", "id: paved-lint-system\n"},
		} {
			if !strings.Contains(config, r.old) {
				t.Fatalf("the README's .pre-commit-config.yaml has no %q:\n%s", r.old, config)
			}
			config = strings.Replace(config, r.old, r.new, 1)
		}
		repo := scaffold(t)
		if err := os.WriteFile(filepath.Join(repo, ".pre-commit-config.yaml"), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
		must(t, repo, preCommit, "install")
		commitPasses(t, repo, "shop: scaffolded by paved init")
		commitRefused(t, repo, image, denied, "paved lint")
	})
}

// TestPreCommitTag installs paved's own hooks (.pre-commit-hooks.yaml,
// language: golang) from a release tag of a clone of this repository, as
// the README's configuration does, with Debian 12's pre-commit: pre-commit
// fetches the tag and builds paved from it with go install, and the
// golang hooks pass a good commit and refuse a broken app.cue at its line.
// The configuration sets language_version: system (the Go on PATH, with
// its module cache) because this machine cannot download the Go the
// manifest names. It builds paved: `make release-check` runs it
// (PAVED_PRECOMMIT_TAG=1), not `make test`.
func TestPreCommitTag(t *testing.T) {
	if os.Getenv("PAVED_PRECOMMIT_TAG") == "" {
		t.Skip("builds paved with pre-commit: make release-check runs it (PAVED_PRECOMMIT_TAG=1)")
	}
	preCommit, err := exec.LookPath("pre-commit")
	if err != nil {
		t.Fatal("pre-commit is not installed (apt-get install pre-commit)")
	}
	goEnv := func(k string) string {
		out, err := exec.Command("go", "env", k).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	home := t.TempDir()
	environ := append(os.Environ(),
		"PRE_COMMIT_HOME="+filepath.Join(home, "pre-commit"),
		"PAVED_CACHE_DIR="+filepath.Join(home, "paved"),
		// pre-commit points GOPATH at its environment: keep the module
		// and build caches warm.
		"GOMODCACHE="+goEnv("GOMODCACHE"), "GOCACHE="+goEnv("GOCACHE"),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
	)
	run := func(dir string, name string, args ...string) (string, error) {
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = environ
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(dir string, name string, args ...string) string {
		t.Helper()
		out, err := run(dir, name, args...)
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return out
	}
	// A clone of this repository at HEAD, tagged as a release.
	top := strings.TrimSpace(must(".", "git", "rev-parse", "--show-toplevel"))
	clone := filepath.Join(t.TempDir(), "paved")
	must(".", "git", "clone", "-q", "--no-local", top, clone)
	must(clone, "git", "tag", "v0.0.1-test")

	config := string(readmePreCommitConfig(t))
	for _, r := range []struct{ old, new string }{
		{"https://github.com/paved-dev/paved", clone},
		{"rev: v0.1.0", "rev: v0.0.1-test"},
		{"id: paved-vet\n", "id: paved-vet\n        language_version: system\n"},
		{"id: paved-lint\n", "id: paved-lint\n        language_version: system\n"},
	} {
		if !strings.Contains(config, r.old) {
			t.Fatalf("the README's .pre-commit-config.yaml has no %q:\n%s", r.old, config)
		}
		config = strings.Replace(config, r.old, r.new, 1)
	}
	repo := filepath.Join(t.TempDir(), "shop")
	initRepoApp(t, repo, repo)
	if err := os.WriteFile(filepath.Join(repo, ".pre-commit-config.yaml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	must(repo, preCommit, "install")
	must(repo, "git", "add", "-A")
	out := must(repo, "git", "commit", "-q", "-m", "shop")
	if n := len(regexp.MustCompile(`(?m)^paved (vet|lint)\.+Passed$`).FindAllString(out, -1)); n != 2 {
		t.Errorf("want paved vet and paved lint Passed:\n%s", out)
	}
	// The hooks ran the paved built from the tag.
	bins, _ := filepath.Glob(filepath.Join(home, "pre-commit", "*", "golangenv-*", "bin", "paved"))
	if len(bins) != 1 {
		t.Errorf("pre-commit built %d paved binaries from the tag, want 1", len(bins))
	}
	spec, err := os.ReadFile(filepath.Join(repo, "app.cue"))
	if err != nil {
		t.Fatal(err)
	}
	const port, badPort = `port:       8080`, `port:       "8080"`
	if !bytes.Contains(spec, []byte(port)) {
		t.Fatalf("app.cue has no %q", port)
	}
	spec = bytes.Replace(spec, []byte(port), []byte(badPort), 1)
	if err := os.WriteFile(filepath.Join(repo, "app.cue"), spec, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = run(repo, "git", "commit", "-q", "-am", "broken")
	line := fmt.Sprintf("app.cue:%d:", lineOf(spec, badPort))
	if err == nil || !regexp.MustCompile(`(?m)^paved vet\.+Failed$`).MatchString(out) || !strings.Contains(out, line) {
		t.Errorf("a broken app.cue was not refused by paved vet at %s (%v):\n%s", line, err, out)
	}
}
