package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlatformVersionRange runs paved as a release (the linker-set
// version) against a platform that records the paved versions it is
// written for: inside the range it renders; outside, vet, render and init
// refuse the platform (exit 2, at the platform's paved field) and write
// nothing. It sets the package's version: it is not parallel, and the
// parallel tests start after it.
func TestPlatformVersionRange(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("plat/platform.cue", "package paved\n\nplatform: extends: \"example\"\nplatform: paved: \">=0.1.0 <0.2.0\"\n")
	write("app/app.cue", "package app\n\napiVersion: \"paved.dev/v1alpha1\"\nname: \"cart\"\nteam: \"payments\"\nkind: \"worker\"\nimage: \"ghcr.io/acme/cart:1.0.0\"\n")
	defer func(v string) { version = v }(version)
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := Run(args, &env{stdout: &out, stderr: &errb, cwd: dir})
		return code, out.String() + errb.String()
	}
	// render writes its output only when the platform is taken; vet is
	// enough for the other versions (the check is where the platform
	// loads, before any command's work).
	for _, tc := range []struct {
		version string
		ok      bool
		cmd     string
	}{
		{"v0.1.0", true, "render"}, {"v0.2.0", false, "render"},
		{"v0.1.7", true, "vet"}, {"v0.0.9", false, "vet"}, {"v0.2.0-rc.1", false, "vet"}, {"v1.0.0", false, "vet"},
	} {
		version = tc.version
		args := []string{tc.cmd, "--platform", "plat", "./app"}
		if tc.cmd == "render" {
			args = append(args, "--out", "out-"+tc.version)
		}
		code, out := run(args...)
		_, statErr := os.Stat(filepath.Join(dir, "out-"+tc.version))
		if tc.ok {
			if code != ExitOK || (tc.cmd == "render" && statErr != nil) || strings.Contains(out, "platform.paved") {
				t.Errorf("paved %s, platform >=0.1.0 <0.2.0: %s exited %d (%v):\n%s", tc.version, tc.cmd, code, statErr, out)
			}
			continue
		}
		want := "platform.paved: the platform is written for paved >=0.1.0 <0.2.0, and this is paved " + strings.TrimPrefix(tc.version, "v")
		if code != ExitInvalid || !strings.Contains(out, want) || !strings.Contains(out, filepath.Join("plat", "platform.cue")+":4:11") {
			t.Errorf("paved %s: %s exited %d, want 2 with %q at plat/platform.cue:4:11:\n%s", tc.version, tc.cmd, code, want, out)
		}
		if statErr == nil {
			t.Errorf("paved %s: a refused render wrote its output", tc.version)
		}
	}
	version = "v0.3.0"
	for _, args := range [][]string{
		{"vet", "--platform", "plat", "./app"},
		{"init", "--platform", "plat", "--team", "payments", "new"},
	} {
		if code, out := run(args...); code != ExitInvalid || !strings.Contains(out, "platform.cue:4:11") {
			t.Errorf("paved v0.3.0 %s: exited %d, want 2 at the platform's paved field:\n%s", args[0], code, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); err == nil {
		t.Errorf("a refused init wrote new/")
	}
}
