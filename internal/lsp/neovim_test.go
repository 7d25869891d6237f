package lsp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNeovim: a real editor drives the server. Neovim, headless, with its
// built-in LSP client and no configuration, opens a broken app.cue with
// `paved lsp` as its server; the diagnostics it receives must be vet's
// (message and line), and applying the quick fixes the server offers must
// repair the file: no diagnostics left, and paved vet passes on what
// Neovim wrote. A hover and a completion go through Neovim as well.
//
// Neovim comes from Debian's neovim package; .ci/run installs it. Without
// nvim the test is skipped, except in CI (CI set), where it fails.
func TestNeovim(t *testing.T) {
	nvim, err := exec.LookPath("nvim")
	if err != nil {
		if os.Getenv("CI") != "" && os.Getenv("CI") != "false" {
			t.Fatal("nvim is not installed: CI must install Debian's neovim package (.ci/run does)")
		}
		t.Skip("nvim is not installed (apt-get install neovim): the Neovim test is skipped")
	}
	root := t.TempDir()
	app := filepath.Join(root, "payments", "checkout", "app.cue")
	write(t, app, brokenApp)
	script, err := filepath.Abs(filepath.Join("testdata", "nvim_quickfix.lua"))
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	serverCmd, _ := json.Marshal([]string{exe, "lsp", "--debounce", "20ms"})
	out := filepath.Join(t.TempDir(), "result.json")
	home := t.TempDir()

	vet := pavedCmd(t, root, "vet", "./payments/checkout")
	var stderr strings.Builder
	vet.Stderr = &stderr
	if err := vet.Run(); err == nil {
		t.Fatal("paved vet of the broken app succeeded")
	}
	vetBroken := stderr.String()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nvim, "--headless", "--clean", "-n", "-i", "NONE", "-c", "luafile "+script)
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"PAVED_NVIM_APP="+app, "PAVED_NVIM_OUT="+out, "PAVED_NVIM_CMD="+string(serverCmd),
		// The server: this test binary as paved.
		"PAVED_LSP_TEST_MAIN=1", "PAVED_CACHE_DIR="+cacheDir(t),
		// Neovim's state, config and LSP log stay in the test's directory.
		"HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, "config"), "XDG_DATA_HOME="+filepath.Join(home, "data"),
		"XDG_STATE_HOME="+filepath.Join(home, "state"), "XDG_CACHE_HOME="+filepath.Join(home, "cache"),
	)
	combined, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nvim: %v\n%s", err, combined)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("nvim wrote no result: %v\n%s", err, combined)
	}
	type diagnostic struct {
		Lnum, Col, Severity int
		Message             string
	}
	var res struct {
		Error         string
		Before, After []diagnostic
		Actions       []string
		Hover         string
		Completion    []string
		Stopped       bool
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("result %s: %v", b, err)
	}
	if res.Error != "" {
		t.Fatalf("in Neovim: %s\nresult: %s\nnvim output:\n%s\nLSP log:\n%s", res.Error, b, combined, lspLog(home))
	}

	// What Neovim received: vet's messages, on vet's lines, as errors.
	want := []diagnostic{
		{Lnum: 4, Col: 0, Severity: 1, Message: `team: unknown team "identiy": known teams are identity, payments, search (did you mean "identity"?)`},
		{Lnum: 9, Col: 0, Severity: 1, Message: "replica: field not allowed (did you mean replicas?)"},
	}
	if len(res.Before) != len(want) {
		t.Fatalf("Neovim received %d diagnostics, want %d: %+v", len(res.Before), len(want), res.Before)
	}
	for i, w := range want {
		if res.Before[i] != w {
			t.Errorf("diagnostic %d = %+v, want %+v", i, res.Before[i], w)
		}
	}
	// ... which is what paved vet printed for the broken file.
	var fromNvim strings.Builder
	for _, d := range res.Before {
		fmt.Fprintf(&fromNvim, "%s:\n    ./payments/checkout/app.cue:%d:%d\n", d.Message, d.Lnum+1, d.Col+1)
	}
	if fromNvim.String() != vetBroken {
		t.Errorf("Neovim received:\n%s\npaved vet printed:\n%s", fromNvim.String(), vetBroken)
	}

	// The quick fixes repaired the file.
	if len(res.After) != 0 {
		t.Errorf("diagnostics left after the quick fixes: %+v", res.After)
	}
	if strings.Join(res.Actions, "; ") != `Change replica to replicas; Change "identiy" to "identity"` {
		t.Errorf("applied %q", res.Actions)
	}
	// Hover and completion reach Neovim too.
	if !strings.Contains(res.Hover, "team that owns the app") || !strings.Contains(res.Hover, "identity, payments, search") {
		t.Errorf("hover on team in Neovim: %q", res.Hover)
	}
	if strings.Join(res.Completion, ",") != "identity,payments,search" {
		t.Errorf("completion of team in Neovim: %q", res.Completion)
	}
	if !res.Stopped {
		t.Error("the server did not stop when Neovim stopped the client")
	}
	fixed, err := os.ReadFile(app)
	if err != nil {
		t.Fatal(err)
	}
	wantFixed := strings.NewReplacer(`"identiy"`, `"identity"`, "replica:", "replicas:").Replace(brokenApp)
	if string(fixed) != wantFixed {
		t.Errorf("Neovim wrote:\n%s\nwant:\n%s", fixed, wantFixed)
	}
	if out, err := pavedCmd(t, root, "vet", "./payments/checkout").CombinedOutput(); err != nil {
		t.Errorf("paved vet of the file Neovim wrote: %v\n%s", err, out)
	}
}

// lspLog is Neovim's LSP log, for a failure's report.
func lspLog(home string) string {
	for _, p := range []string{filepath.Join(home, "cache", "nvim", "lsp.log"), filepath.Join(home, "state", "nvim", "lsp.log")} {
		if b, err := os.ReadFile(p); err == nil {
			return string(b)
		}
	}
	return "(none)"
}
