package lsp_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

func worker(team, name, extra string) string {
	return `package app

apiVersion: "paved.dev/v1alpha1"
name:       "` + name + `"
team:       "` + team + `"
kind:       "worker"
image:      "ghcr.io/acme/` + name + `:1"
` + extra
}

// TestFleetChecks: an app is checked against the other apps of its
// repository (a cycle, a name declared twice), as paved vet checks the
// repository; a dependency no app of the repository is becomes a warning;
// an error in a file of the app that is not open is published on that
// file; an unsaved change to one open app shows in another's checks.
func TestFleetChecks(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	a := filepath.Join(root, "payments", "a", "app.cue")
	write(t, a, worker("payments", "a", `dependsOn: ["b"]`+"\n"))
	write(t, filepath.Join(root, "payments", "b", "app.cue"), worker("payments", "b", `dependsOn: ["a"]`+"\n"))
	dup1 := filepath.Join(root, "search", "dup1", "app.cue")
	dup2 := filepath.Join(root, "search", "dup2", "app.cue")
	write(t, dup1, worker("search", "x", ""))
	write(t, dup2, worker("search", "x", ""))
	multi := filepath.Join(root, "search", "multi", "app.cue")
	write(t, multi, worker("search", "multi", ""))
	prod := filepath.Join(root, "search", "multi", "prod.cue")
	write(t, prod, "package app\n\nenvironments: prod: replicas: {min: 5, max: 2}\n")

	// What vet says of the whole repository, with the broken app aside.
	if err := os.Rename(filepath.Dir(multi), filepath.Join(t.TempDir(), "multi")); err != nil {
		t.Fatal(err)
	}
	vet := pavedCmd(t, root, "vet", ".")
	var stderr strings.Builder
	vet.Stderr = &stderr
	if err := vet.Run(); err == nil {
		t.Fatal("paved vet succeeded")
	}
	write(t, multi, worker("search", "multi", ""))
	write(t, prod, "package app\n\nenvironments: prod: replicas: {min: 5, max: 2}\n")

	// A sub-directory as the workspace: the repository is found by .git.
	c := startServer(t, filepath.Join(root, "payments"))
	var got strings.Builder
	for _, app := range []string{a, dup1, dup2} {
		u := c.open(app)
		ds := c.waitDiags(u, 0, func(ds []protocol.Diagnostic) bool { return len(ds) > 0 })
		if app == dup1 {
			continue // the same diagnostic as dup2's, placed at dup1
		}
		got.WriteString(render(t, ds, []string{root, app}))
	}
	t.Logf("paved vet and the editor:\n%s", stderr.String())
	if got.String() != stderr.String() {
		t.Errorf("fleet checks in the editor:\n%s\npaved vet:\n%s", got.String(), stderr.String())
	}

	// A dependency outside the repository is a warning, once the cycle is
	// gone.
	ua := uri.File(a)
	n := c.count(ua)
	c.change(ua, worker("payments", "a", `dependsOn: ["identity/auth"]`+"\n"))
	ds := c.waitDiags(ua, n, func(ds []protocol.Diagnostic) bool { return len(ds) == 1 })
	if ds[0].Severity != protocol.DiagnosticSeverityWarning || ds[0].Message != "dependsOn[0]: no app identity/auth in this run: diff and commit look for it in the fleet" {
		t.Errorf("warning = %+v", ds[0])
	}

	// A secret of another team is an error at its line as you type
	// (issue 27): the same check as vet's.
	n = c.count(ua)
	c.change(ua, worker("payments", "a", "secrets: STOLEN: \"search/indexer#token\"\n"))
	ds = c.waitDiags(ua, n, func(ds []protocol.Diagnostic) bool { return len(ds) == 1 })
	if ds[0].Severity != protocol.DiagnosticSeverityError || !strings.HasPrefix(ds[0].Message, `secrets.STOLEN: secret reference "search/indexer#token" is outside team payments's part of the secret store`) {
		t.Errorf("cross-team secret = %+v", ds[0])
	}
	if want := strings.Count(worker("payments", "a", ""), "\n"); int(ds[0].Range.Start.Line) != want {
		t.Errorf("cross-team secret at line %d, want %d (the secrets line)", ds[0].Range.Start.Line, want)
	}

	// Renaming dup2 in its buffer (unsaved) resolves dup1's duplicate.
	u1, u2 := uri.File(dup1), uri.File(dup2)
	n = c.count(u1)
	c.change(u2, worker("search", "y", ""))
	c.waitDiags(u1, n, func(ds []protocol.Diagnostic) bool { return len(ds) == 0 })

	// An error in prod.cue, not open, is published on prod.cue.
	c.open(multi)
	ds = c.waitDiags(uri.File(prod), 0, func(ds []protocol.Diagnostic) bool { return len(ds) > 0 })
	if len(ds) != 1 || ds[0].Message != "environments.prod.replicas.max: replicas.max (2) must be at least replicas.min (5)" || ds[0].Range.Start.Line != 2 {
		t.Errorf("prod.cue: %+v", ds)
	}
	c.shutdown()
}

// TestWatchedFiles: a client that watches files for the server is asked
// to report .cue files; an app changed on disk (a checkout) changes the
// fleet checks of an open app, and a changed platform file is loaded
// again.
func TestWatchedFiles(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "paved.platform", "platform.cue"), "package paved\n\nplatform: extends: \"example\"\n")
	a := filepath.Join(root, "search", "a", "app.cue")
	b := filepath.Join(root, "search", "b", "app.cue")
	write(t, a, worker("search", "a", ""))
	write(t, b, worker("search", "b", ""))
	caps := protocol.ClientCapabilities{Workspace: &protocol.WorkspaceClientCapabilities{
		DidChangeWatchedFiles: &protocol.DidChangeWatchedFilesWorkspaceClientCapabilities{DynamicRegistration: true},
	}}
	c := startServerCaps(t, root, caps)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c.mu.Lock()
		regs := c.registrations
		c.mu.Unlock()
		if len(regs) == 1 {
			opts, _ := json.Marshal(regs[0].RegisterOptions)
			if regs[0].Method != protocol.MethodWorkspaceDidChangeWatchedFiles || !strings.Contains(string(opts), `"globPattern":"**/*.cue"`) {
				t.Fatalf("registered %+v %s", regs[0], opts)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no file watchers registered: %+v", regs)
		}
		time.Sleep(10 * time.Millisecond)
	}

	ua := c.open(a)
	// b is renamed to a on disk: a is declared twice.
	n := c.count(ua)
	write(t, b, worker("search", "a", ""))
	c.notify(protocol.MethodWorkspaceDidChangeWatchedFiles, &protocol.DidChangeWatchedFilesParams{Changes: []*protocol.FileEvent{{URI: uri.File(b), Type: protocol.FileChangeTypeChanged}}})
	ds := c.waitDiags(ua, n, func(ds []protocol.Diagnostic) bool { return len(ds) == 1 })
	if ds[0].Message != "name: app search/a is declared twice" {
		t.Errorf("after b changed on disk: %+v", ds)
	}

	// The platform renames team search away: a's team is unknown.
	n = c.count(ua)
	platform := filepath.Join(root, "paved.platform", "platform.cue")
	write(t, platform, "package paved\n\nplatform: extends: \"example\"\nplatform: teams: search: monthlyBudgetUSD: -1\n")
	c.notify(protocol.MethodWorkspaceDidChangeWatchedFiles, &protocol.DidChangeWatchedFilesParams{Changes: []*protocol.FileEvent{{URI: uri.File(platform), Type: protocol.FileChangeTypeChanged}}})
	ds = c.waitDiags(ua, n, func(ds []protocol.Diagnostic) bool {
		return len(ds) > 0 && strings.Contains(ds[0].Message, "monthlyBudgetUSD")
	})
	if ds[0].Range != (protocol.Range{}) || len(ds[0].RelatedInformation) == 0 {
		t.Errorf("a platform error shows at the start of app.cue, pointing at the platform: %+v", ds[0])
	}
	c.shutdown()
}
