package lsp_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"cuelang.org/go/cue/format"
	"go.lsp.dev/protocol"
)

const brokenApp = `package app

apiVersion: "paved.dev/v1alpha1"
name:       "checkout"
team:       "identiy"
kind:       "web"
image:      "ghcr.io/acme/checkout:1.4.2"
port:       8080
size:       "small"
replica: {min: 2, max: 4}
`

const prodOverrides = `package app

environments: prod: size: "medium"
`

func write(t testing.TB, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func pos(line, char int) protocol.Position {
	return protocol.Position{Line: uint32(line), Character: uint32(char)}
}

func rng(line, c0, c1 int) protocol.Range {
	return protocol.Range{Start: pos(line, c0), End: pos(line, c1)}
}

// TestProtocol drives `paved lsp` through a session: initialize, didOpen
// of a broken app.cue, code actions that repair it (didChange), a buffer
// that does not parse (keeps the last analysis until saved), hover,
// completion, formatting, shutdown and exit.
func TestProtocol(t *testing.T) {
	root := t.TempDir()
	app := filepath.Join(root, "payments", "checkout", "app.cue")
	write(t, app, brokenApp)
	write(t, filepath.Join(root, "payments", "checkout", "prod.cue"), prodOverrides)
	c := startServer(t, root)

	// didOpen: vet's diagnostics, each at the token vet points at.
	u := c.open(app)
	ds := c.waitDiags(u, 0, func(ds []protocol.Diagnostic) bool { return len(ds) > 0 })
	want := []struct {
		msg string
		r   protocol.Range
	}{
		{`team: unknown team "identiy": known teams are identity, payments, search (did you mean "identity"?)`, rng(4, 0, 4)},
		{"replica: field not allowed (did you mean replicas?)", rng(9, 0, 7)},
	}
	if len(ds) != len(want) {
		t.Fatalf("got %d diagnostics, want %d: %+v", len(ds), len(want), ds)
	}
	for i, w := range want {
		if ds[i].Message != w.msg || ds[i].Range != w.r || ds[i].Severity != protocol.DiagnosticSeverityError || ds[i].Source != "paved" {
			t.Errorf("diagnostic %d = %q at %v (severity %v, source %q), want %q at %v", i, ds[i].Message, ds[i].Range, ds[i].Severity, ds[i].Source, w.msg, w.r)
		}
	}

	// Quick fixes, one per diagnostic, each repairing its mistake.
	text := brokenApp
	for i, w := range []struct{ title, result string }{
		{"Change replica to replicas", "replicas: {min: 2, max: 4}"},
		{`Change "identiy" to "identity"`, `team:       "identity"`},
	} {
		d := ds[len(ds)-1-i]
		var actions []protocol.CodeAction
		c.call(protocol.MethodTextDocumentCodeAction, &protocol.CodeActionParams{
			TextDocument: protocol.TextDocumentIdentifier{URI: u},
			Range:        protocol.Range{Start: d.Range.Start, End: d.Range.Start},
			Context:      protocol.CodeActionContext{Diagnostics: []protocol.Diagnostic{d}},
		}, &actions)
		if len(actions) != 1 || actions[0].Title != w.title || actions[0].Kind != protocol.QuickFix || actions[0].Edit == nil {
			t.Fatalf("code actions at %v = %+v, want one quick fix %q", d.Range, actions, w.title)
		}
		text = apply(t, text, actions[0].Edit.Changes[u])
		if !strings.Contains(text, w.result) {
			t.Fatalf("after %q the file lacks %q:\n%s", w.title, w.result, text)
		}
		n := c.count(u)
		c.change(u, text)
		c.waitDiags(u, n, func(got []protocol.Diagnostic) bool { return len(got) == len(ds)-1-i })
	}
	// Repaired: vet agrees.
	write(t, app, text)
	if out, err := pavedCmd(t, root, "vet", ".").CombinedOutput(); err != nil {
		t.Fatalf("paved vet after the fixes: %v\n%s", err, out)
	}

	// A buffer that does not parse keeps the last good analysis (nothing
	// is published) until it is saved.
	broken := strings.Replace(text, `name:       "checkout"`, `name:       "checkout`, 1)
	n := c.count(u)
	c.change(u, broken)
	c.quiet(u, 600*time.Millisecond)
	c.notify(protocol.MethodTextDocumentDidSave, &protocol.DidSaveTextDocumentParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}})
	ds = c.waitDiags(u, n, func(ds []protocol.Diagnostic) bool { return len(ds) > 0 })
	if ds[0].Message != "string literal not terminated" || ds[0].Range.Start != pos(3, 12) {
		t.Errorf("after save: %+v, want the syntax error at 4:13", ds)
	}
	n = c.count(u)
	c.change(u, text)
	c.waitDiags(u, n, func(ds []protocol.Diagnostic) bool { return len(ds) == 0 })

	// Hover: documentation, constraint, default, effective values.
	hover := func(line, char int) string {
		var h protocol.Hover
		c.call(protocol.MethodTextDocumentHover, &protocol.HoverParams{TextDocumentPositionParams: protocol.TextDocumentPositionParams{
			TextDocument: protocol.TextDocumentIdentifier{URI: u}, Position: pos(line, char)}}, &h)
		return h.Contents.Value
	}
	h := hover(8, 2) // size
	for _, s := range []string{"**size**", "size class that sets CPU/memory requests", "Default: `\"small\"`", "| dev | `\"small\"` |", "| prod | `\"medium\"` |", "| staging | `\"small\"` |", "medium (500m CPU, 512Mi memory)"} {
		if !strings.Contains(h, s) {
			t.Errorf("hover on size lacks %q:\n%s", s, h)
		}
	}
	h = hover(9, 20) // max in replicas: {min: 2, max: 4}
	for _, s := range []string{"**replicas.max**", "max replicas the HPA may scale to", "`int & >=1 & <=100`", "| prod | `4` |"} {
		if !strings.Contains(h, s) {
			t.Errorf("hover on replicas.max lacks %q:\n%s", s, h)
		}
	}

	// Completion: fields valid at the cursor and values the platform
	// knows.
	complete := func(buf string) []string {
		t.Helper()
		i := strings.Index(buf, "|")
		buf = buf[:i] + buf[i+1:]
		before := buf[:i]
		line := strings.Count(before, "\n")
		char := len(before) - strings.LastIndex(before, "\n") - 1
		c.change(u, buf)
		var l protocol.CompletionList
		c.call(protocol.MethodTextDocumentCompletion, &protocol.CompletionParams{TextDocumentPositionParams: protocol.TextDocumentPositionParams{
			TextDocument: protocol.TextDocumentIdentifier{URI: u}, Position: pos(line, char)}}, &l)
		var labels []string
		for _, it := range l.Items {
			labels = append(labels, it.Label)
			if it.TextEdit == nil {
				t.Errorf("item %q has no text edit", it.Label)
			}
		}
		return labels
	}
	has := func(what string, got []string, want, not []string) {
		t.Helper()
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("%s: %q missing from %q", what, w, got)
			}
		}
		for _, w := range not {
			if slices.Contains(got, w) {
				t.Errorf("%s: %q offered in %q", what, w, got)
			}
		}
	}
	has("top-level fields", complete(text+"|\n"), []string{"ingress", "calls", "acceptsFrom", "dependsOn", "egress", "env", "observability"}, []string{"schedule", "replicas", "name"})
	has("fields of a worker", complete(strings.Replace(text, `"web"`, `"worker"`, 1)+"|\n"), []string{"dependsOn"}, []string{"port", "health", "ingress", "schedule"})
	has("nested fields", complete(text+"observability: tracing: {|}\n"), []string{"enabled", "sampleRatio", "justification"}, nil)
	has("teams", complete(strings.Replace(text, `"identity"`, `|`, 1)), []string{"identity", "payments", "search"}, nil)
	has("sizes", complete(strings.Replace(text, `"small"`, `"sm|"`, 1)), []string{"xs", "small", "medium", "large"}, nil)
	has("kinds", complete(strings.Replace(text, `"web"`, `|`, 1)), []string{"web", "worker", "cron"}, nil)
	has("environments", complete(text+"environments: |\n"), []string{"dev", "staging", "prod"}, nil)
	has("env override fields", complete(text+"environments: prod: {|}\n"), []string{"replicas", "image", "size"}, []string{"name", "team"})
	has("registries", complete(strings.Replace(text, `"ghcr.io/acme/checkout:1.4.2"`, `"|`, 1)), []string{"ghcr.io/acme/", "registry.acme.dev/"}, nil)
	has("policies", complete(text+"exceptions: [{policy: \"|\"}]\n"), []string{"allowed-registry", "app-budget"}, []string{"cluster-admin-binding"})
	has("bools", complete(text+"networkPolicy: enabled: |\n"), []string{"true", "false"}, nil)

	// Formatting: what cue fmt writes.
	ugly := "package app\n\napiVersion:   \"paved.dev/v1alpha1\"\nname: \"checkout\"\nteam:    \"identity\"\nkind: \"web\"\nimage: \"ghcr.io/acme/checkout:1.4.2\"\nport: 8080\nsize: \"small\"\nreplicas: {min: 2,   max: 4}\n"
	c.change(u, ugly)
	var edits []protocol.TextEdit
	c.call(protocol.MethodTextDocumentFormatting, &protocol.DocumentFormattingParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}}, &edits)
	wantFmt, err := format.Source([]byte(ugly))
	if err != nil {
		t.Fatal(err)
	}
	if got := apply(t, ugly, edits); got != string(wantFmt) {
		t.Errorf("formatted:\n%s\nwant (cue fmt):\n%s", got, wantFmt)
	}
	c.change(u, string(wantFmt))
	c.call(protocol.MethodTextDocumentFormatting, &protocol.DocumentFormattingParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}}, &edits)
	if len(edits) != 0 {
		t.Errorf("formatting a formatted file: %+v", edits)
	}
	c.change(u, "package app\n\nname: \"x")
	if err := c.callErr(protocol.MethodTextDocumentFormatting, &protocol.DocumentFormattingParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}}, &edits); err == nil || !strings.Contains(err.Error(), "does not parse") {
		t.Errorf("formatting a file that does not parse: %v, want an error", err)
	}

	// An unknown method is an error, not a crash.
	if err := c.callErr("textDocument/definition", &protocol.DefinitionParams{}, nil); err == nil || !strings.Contains(err.Error(), "does not implement") {
		t.Errorf("textDocument/definition: %v, want method not found", err)
	}
	c.shutdown()
}

// TestExitWithoutShutdown: exit without shutdown is exit code 1, as the
// protocol says.
func TestExitWithoutShutdown(t *testing.T) {
	c := startServer(t, t.TempDir())
	c.notify(protocol.MethodExit, nil)
	err := c.cmd.Wait()
	var ee *exec.ExitError
	if !errorsAs(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit without shutdown: %v, want exit code 1", err)
	}
}

// apply applies LSP edits to text.
func apply(t testing.TB, text string, edits []protocol.TextEdit) string {
	t.Helper()
	offset := func(p protocol.Position) int {
		lines := strings.SplitAfter(text, "\n")
		off := 0
		for i := 0; i < int(p.Line) && i < len(lines); i++ {
			off += len(lines[i])
		}
		units := 0
		if int(p.Line) < len(lines) {
			for _, r := range lines[p.Line] {
				if units >= int(p.Character) || r == '\n' {
					break
				}
				units++
				if r >= 0x10000 {
					units++
				}
				off += len(string(r))
			}
		}
		return off
	}
	slices.SortFunc(edits, func(a, b protocol.TextEdit) int { return offset(b.Range.Start) - offset(a.Range.Start) })
	for _, e := range edits {
		s, en := offset(e.Range.Start), offset(e.Range.End)
		text = text[:s] + e.NewText + text[en:]
	}
	return text
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
