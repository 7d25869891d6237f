package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestFailedRunLeavesNoTempFiles: lint and commit compile the policies in
// the background while the apps load (into a temporary bundle directory).
// A run that stops early on an invalid app must still wait for that work
// and leave nothing behind in TMPDIR.
func TestFailedRunLeavesNoTempFiles(t *testing.T) {
	src := t.TempDir()
	app := filepath.Join(src, "apps", "bad")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := "package app\n\napiVersion: \"paved.dev/v1alpha1\"\nname: \"bad\"\nteam: \"payments\"\nkind: \"worker\"\nimage: \"ghcr.io/acme/bad:1.0.0\"\nnoSuchField: 1\n"
	if err := os.WriteFile(filepath.Join(app, "app.cue"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("PAVED_CACHE_DIR", "off")
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"lint", "./apps"}, ExitInvalid},
		{[]string{"lint", "--changed", "./apps"}, ExitGit}, // not a git repository
		{[]string{"vet", "--changed", "./apps"}, ExitGit},
		// commit reads the fleet first (its platform is the render's).
		{[]string{"commit", "./apps", "--fleet", filepath.Join(src, "no-fleet")}, ExitGit},
	} {
		args := tc.args
		var stderr bytes.Buffer
		code := Run(args, &env{stdout: &bytes.Buffer{}, stderr: &stderr, cwd: src})
		if code != tc.want {
			t.Fatalf("paved %v: exit %d, want %d\n%s", args, code, tc.want, stderr.String())
		}
		left, err := os.ReadDir(tmp)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range left {
			t.Errorf("paved %v (exit %d) left %s in TMPDIR", args, code, f.Name())
		}
	}
}
