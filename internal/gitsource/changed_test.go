package gitsource

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func runGit(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func write(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestChangedDirs: an app directory is changed when one of its CUE files
// was edited, staged, added, deleted or committed since the ref; other
// files and other directories do not count; a platform directory counts
// every file below it.
func TestChangedDirs(t *testing.T) {
	root := t.TempDir()
	runGit(t, root, "init", "-q", "-b", "main")
	apps := []string{"a", "b", "c", "d", "e", "f"}
	files := map[string]string{"platform/policies/x.rego": "package x\n", "platform/platform.cue": "package paved\n"}
	for _, a := range apps {
		files["apps/"+a+"/app.cue"] = "package app\nname: \"" + a + "\"\n"
		files["apps/"+a+"/README.md"] = "docs\n"
	}
	write(t, root, files)

	cue := func(rel string) bool { return !strings.Contains(rel, "/") && strings.HasSuffix(rel, ".cue") }
	check := func(ref string, want map[string]bool) {
		t.Helper()
		var dirs []Dir
		for _, a := range apps {
			dirs = append(dirs, Dir{Path: filepath.Join(root, "apps", a), Match: cue})
		}
		dirs = append(dirs, Dir{Path: filepath.Join(root, "platform")})
		got, err := ChangedDirs(filepath.Join(root, "apps"), ref, dirs)
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range append(apps, "platform") {
			if got[i] != want[a] {
				t.Errorf("ref %s: %s changed = %v, want %v", ref, a, got[i], want[a])
			}
		}
	}
	// Before the first commit everything is new.
	check("HEAD", map[string]bool{"a": true, "b": true, "c": true, "d": true, "e": true, "f": true, "platform": true})

	runGit(t, root, "add", "-A")
	runGit(t, root, "commit", "-q", "-m", "one")
	runGit(t, root, "tag", "one")
	check("HEAD", map[string]bool{})

	write(t, root, map[string]string{
		"apps/a/app.cue":   "package app\nname: \"a2\"\n", // unstaged edit
		"apps/b/prod.cue":  "package app\n",               // new file
		"apps/d/README.md": "more docs\n",                 // not a CUE file
		"apps/e/app.cue":   "package app\nname: \"e2\"\n", // staged below
	})
	if err := os.Remove(filepath.Join(root, "apps/c/app.cue")); err != nil { // deleted
		t.Fatal(err)
	}
	runGit(t, root, "add", "apps/e/app.cue")
	check("HEAD", map[string]bool{"a": true, "b": true, "c": true, "e": true})

	// Committed changes count against an older ref, not against HEAD.
	runGit(t, root, "add", "-A")
	runGit(t, root, "commit", "-q", "-m", "two")
	check("HEAD", map[string]bool{})
	check("one", map[string]bool{"a": true, "b": true, "c": true, "e": true})

	// Anything below the platform directory.
	write(t, root, map[string]string{"platform/policies/x.rego": "package x\n\ndeny contains \"x\" if false\n"})
	check("HEAD", map[string]bool{"platform": true})

	if _, err := ChangedDirs(root, "no-such-ref", nil); err == nil {
		t.Fatal("an unknown ref resolved")
	}
	if _, err := ChangedDirs(t.TempDir(), "HEAD", nil); err == nil || !strings.Contains(err.Error(), "needs a git repository") {
		t.Fatalf("outside a repository: %v", err)
	}
}
