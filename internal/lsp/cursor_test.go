package lsp

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"go.lsp.dev/protocol"

	"github.com/paved-dev/paved/internal/diag"
)

// cut removes the | that marks the cursor and returns its offset.
func cut(t *testing.T, s string) ([]byte, int) {
	t.Helper()
	i := strings.Index(s, "|")
	if i < 0 {
		t.Fatalf("no cursor in %q", s)
	}
	return []byte(s[:i] + s[i+1:]), i
}

func TestCursorAt(t *testing.T) {
	const pkg = "package app\n\n"
	for _, c := range []struct {
		name, text string
		ok         bool
		path       string
		value      bool
		prefix     string
		inString   bool
		present    []string
		hasColon   bool
	}{
		{name: "empty line", text: pkg + "|", ok: true, path: ""},
		{name: "label typed", text: pkg + "rep|", ok: true, path: "", prefix: "rep"},
		{name: "label typed before colon", text: pkg + "rep|: 3", ok: true, path: "", prefix: "rep", hasColon: true},
		{name: "value", text: pkg + "team: |", ok: true, path: "team", value: true},
		{name: "value typed", text: pkg + "team: pa|", ok: true, path: "team", value: true, prefix: "pa"},
		{name: "in a string", text: pkg + `team: "pa|"`, ok: true, path: "team", value: true, prefix: "pa", inString: true},
		{name: "in an open string", text: pkg + `team: "pa|`, ok: true, path: "team", value: true, prefix: "pa", inString: true},
		{name: "after a value", text: pkg + `team: "x" |`, ok: false},
		{name: "after a closed string", text: pkg + `team: "x"|`, ok: false},
		{name: "in braces", text: pkg + "observability: tracing: {|}", ok: true, path: "observability.tracing"},
		{name: "short form value", text: pkg + "observability: tr|", ok: true, path: "observability", value: true, prefix: "tr"},
		{name: "list of structs", text: pkg + `exceptions: [{policy: "|"}]`, ok: true, path: "exceptions[0].policy", value: true, inString: true},
		{name: "second element", text: pkg + `exceptions: [{policy: "a"}, {policy: |}]`, ok: true, path: "exceptions[1].policy", value: true},
		{name: "list element", text: pkg + `dependsOn: ["a", |]`, ok: true, path: "dependsOn[1]", value: true},
		{name: "multi-line struct", text: pkg + "environments: prod: {\n\tsize: \"xs\"\n\t|\n}\nname: \"a\"", ok: true, path: "environments.prod", present: []string{"size"}},
		{name: "between fields", text: pkg + "name: \"a\"\n|\nteam: \"b\"", ok: true, path: "", present: []string{"name", "team"}},
		{name: "quoted label", text: pkg + `"my-field": |`, ok: true, path: `"my-field"`, value: true},
		{name: "after a struct", text: pkg + "replicas: {min: 1}\n|", ok: true, path: "", present: []string{"replicas"}},
		{name: "inside an operator", text: pkg + "port: 1 &|& 2", ok: false},
	} {
		t.Run(c.name, func(t *testing.T) {
			text, off := cut(t, c.text)
			got, ok := cursorAt(text, off)
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v (%+v)", ok, c.ok, got)
			}
			if !ok {
				return
			}
			if got.path.String() != c.path || got.value != c.value || got.prefix != c.prefix || got.inString != c.inString || got.hasColon != c.hasColon {
				t.Errorf("cursor = path %q value %v prefix %q inString %v hasColon %v; want %q %v %q %v %v",
					got.path, got.value, got.prefix, got.inString, got.hasColon, c.path, c.value, c.prefix, c.inString, c.hasColon)
			}
			if c.present != nil && !slices.Equal(got.present, c.present) {
				t.Errorf("present = %q, want %q", got.present, c.present)
			}
			if got.start > off || got.end < off {
				t.Errorf("the word [%d, %d) does not hold the cursor %d", got.start, got.end, off)
			}
			if string(text[got.start:off]) != got.prefix {
				t.Errorf("text before the cursor in the word = %q, want the prefix %q", text[got.start:off], got.prefix)
			}
		})
	}
}

func TestCursorEditRange(t *testing.T) {
	text, off := cut(t, "package app\n\nteam: \"pa|ym\"\n")
	c, ok := cursorAt(text, off)
	if !ok || string(text[c.start:c.end]) != "paym" {
		t.Fatalf("edit range = %q, want the string's content", text[c.start:c.end])
	}
	text, off = cut(t, "package app\n\nkind: \"worker\"\nteam: \"search\"\n|")
	if c, _ := cursorAt(text, off); c.top["kind"] != "worker" || c.top["team"] != "search" {
		t.Errorf("top = %v", c.top)
	}
}

func TestHoverAt(t *testing.T) {
	const pkg = "package app\n\n"
	for _, c := range []struct {
		text, path string
	}{
		{pkg + "te|am: \"x\"", "team"},
		{pkg + "team: \"|x\"", "team"},
		{pkg + "team|: \"x\"", "team"},
		{pkg + "replicas: {min: 2, m|ax: 4}", "replicas.max"},
		{pkg + "replicas: {min: 2, max: |4}", "replicas.max"},
		{pkg + "observability: tra|cing: enabled: false", "observability.tracing"},
		{pkg + "observability: tracing: enabled: fa|lse", "observability.tracing.enabled"},
		{pkg + `dependsOn: ["a", "|b"]`, "dependsOn[1]"},
		{pkg + `exceptions: [{policy: "x"}, {pol|icy: "y"}]`, "exceptions[1].policy"},
		{pkg + "environments: prod: {\n\tsi|ze: \"xs\"\n}", "environments.prod.size"},
		{pkg + "replicas: |{min: 2}", ""},
		{pkg + "|\n", ""},
	} {
		text, off := cut(t, c.text)
		p, _, start, end, ok := hoverAt(text, off)
		if ok != (c.path != "") || p.String() != c.path {
			t.Errorf("%q: path %q (ok %v), want %q", c.text, p, ok, c.path)
			continue
		}
		if ok && (start > off || end < off) {
			t.Errorf("%q: token [%d, %d) does not hold %d", c.text, start, end, off)
		}
	}
}

func TestPositions(t *testing.T) {
	text := []byte("a: \"é😀x\"\nb: 1\n")
	// é is 2 bytes and 1 UTF-16 unit; 😀 is 4 bytes and 2 units.
	for _, c := range []struct {
		off  int
		want protocol.Position
	}{
		{0, protocol.Position{Line: 0, Character: 0}},
		{4, protocol.Position{Line: 0, Character: 4}},  // é
		{6, protocol.Position{Line: 0, Character: 5}},  // 😀
		{10, protocol.Position{Line: 0, Character: 7}}, // x
		{13, protocol.Position{Line: 1, Character: 0}},
		{99, protocol.Position{Line: 2, Character: 0}}, // clamped to the end
	} {
		if got := lspPosition(text, c.off); got != c.want {
			t.Errorf("lspPosition(%d) = %v, want %v", c.off, got, c.want)
		}
		if c.off <= len(text) {
			if got := offsetOf(text, c.want); got != c.off {
				t.Errorf("offsetOf(%v) = %d, want %d", c.want, got, c.off)
			}
		}
	}
	if got := offsetOf(text, protocol.Position{Line: 0, Character: 99}); got != 12 {
		t.Errorf("a character past the line's end = %d, want the line's end 12", got)
	}
	// The range of a CUE position is its token: "é😀x" is 6 UTF-16
	// units wide.
	if got := lspRange(text, 1, 4); got != (protocol.Range{Start: protocol.Position{Line: 0, Character: 3}, End: protocol.Position{Line: 0, Character: 9}}) {
		t.Errorf("lspRange(1:4) = %v", got)
	}
	// An error at EOF after the last newline stays on the last line, as vet prints it.
	eof := []byte("team: {\n")
	if got := lspRange(eof, 1, 9); got.Start != (protocol.Position{Line: 0, Character: 8}) || got.End != got.Start {
		t.Errorf("lspRange at EOF = %v", got)
	}
	if got := lspRange(eof, 0, 0); got != (protocol.Range{}) {
		t.Errorf("a whole-file position = %v", got)
	}
}

func TestLineEdit(t *testing.T) {
	for _, c := range []struct{ old, new string }{
		{"a\nb\nc\n", "a\nB\nc\n"},
		{"a\nb\nc\n", "a\nc\n"},
		{"a\nb\n", "a\nb\nc\n"},
		{"a\nb", "x\nb"},
		{"", "a\n"},
		{"a: 1\n", ""},
		{"é\nb\n", "é\nb2\n"},
	} {
		e, ok := lineEdit([]byte(c.old), []byte(c.new))
		if !ok {
			t.Errorf("%q -> %q: no edit", c.old, c.new)
			continue
		}
		if got := applyEdits([]byte(c.old), []protocol.TextEdit{e}); string(got) != c.new {
			t.Errorf("%q -> %q: the edit %+v makes %q", c.old, c.new, e, got)
		}
		if e.Range.Start.Character != 0 || e.Range.End.Character != 0 && e.Range.End.Line < uint32(strings.Count(c.old, "\n")) {
			t.Errorf("%q -> %q: %+v is not whole lines", c.old, c.new, e)
		}
	}
	if _, ok := lineEdit([]byte("a\n"), []byte("a\n")); ok {
		t.Error("an edit for equal texts")
	}
}

func TestFixEdit(t *testing.T) {
	const file = "/apps/a/app.cue"
	for _, c := range []struct {
		name, text string
		d          diag.Diagnostic
		want       string // the text after the edit; "" for no edit
	}{
		{
			name: "rename", text: "package app\n\nreplica: 3\n",
			d:    diag.Diagnostic{Path: "replica", Positions: []diag.Position{{Filename: file, Line: 3, Column: 1}}, Fix: &diag.Fix{Kind: diag.RenameField, Text: "replicas"}},
			want: "package app\n\nreplicas: 3\n",
		},
		{
			name: "rename needs a label there", text: "package app\n\nx: replica\n",
			d: diag.Diagnostic{Path: "replica", Positions: []diag.Position{{Filename: file, Line: 3, Column: 4}}, Fix: &diag.Fix{Kind: diag.RenameField, Text: "replicas"}},
		},
		{
			name: "replace at the label", text: "package app\n\nteam: \"identiy\"\n",
			d:    diag.Diagnostic{Path: "team", Positions: []diag.Position{{Filename: file, Line: 3, Column: 1}}, Fix: &diag.Fix{Kind: diag.ReplaceValue, Text: `"identity"`}},
			want: "package app\n\nteam: \"identity\"\n",
		},
		{
			name: "replace at the value", text: "package app\n\nenvironments: prod: size: \"hueg\"\n",
			d:    diag.Diagnostic{Path: "environments.prod.size", Positions: []diag.Position{{Filename: file, Line: 3, Column: 27}}, Fix: &diag.Fix{Kind: diag.ReplaceValue, Text: `"huge"`}},
			want: "package app\n\nenvironments: prod: size: \"huge\"\n",
		},
		{
			name: "replace a list element", text: "package app\n\ndependsOn: [\"a\", \"identiy/auth\"]\n",
			d:    diag.Diagnostic{Path: "dependsOn[1]", Positions: []diag.Position{{Filename: file, Line: 3, Column: 18}}, Fix: &diag.Fix{Kind: diag.ReplaceValue, Text: `"identity/auth"`}},
			want: "package app\n\ndependsOn: [\"a\", \"identity/auth\"]\n",
		},
		{
			name: "add after the anchor", text: "package app\n\nname: \"a\"\nkind: \"web\"\nimage: \"x\"\n",
			d:    diag.Diagnostic{Path: "port", Positions: []diag.Position{{Filename: file, Line: 4, Column: 1}}, Fix: &diag.Fix{Kind: diag.AddField, Text: "8080"}},
			want: "package app\n\nname: \"a\"\nkind: \"web\"\nport: 8080\nimage: \"x\"\n",
		},
		{
			name: "add at the top", text: "package app\n\nname: \"a\"\n",
			d:    diag.Diagnostic{Path: "apiVersion", Positions: []diag.Position{{Filename: file, Line: 1, Column: 1}}, Fix: &diag.Fix{Kind: diag.AddField, Text: `"paved.dev/v1alpha1"`}},
			want: "package app\napiVersion: \"paved.dev/v1alpha1\"\n\nname: \"a\"\n",
		},
		{
			name: "add into empty braces", text: "package app\n\nbudget: {}\n",
			d:    diag.Diagnostic{Path: "budget.monthlyUSD", Positions: []diag.Position{{Filename: file, Line: 3, Column: 9}}, Fix: &diag.Fix{Kind: diag.AddField, Text: "0"}},
			want: "package app\n\nbudget: {monthlyUSD: 0}\n",
		},
		{
			name: "add into one-line braces", text: "package app\n\nnetworkPolicy: {enabled: false}\n",
			d:    diag.Diagnostic{Path: "networkPolicy.justification", Positions: []diag.Position{{Filename: file, Line: 3, Column: 1}}, Fix: &diag.Fix{Kind: diag.AddField, Text: `""`}},
			want: "package app\n\nnetworkPolicy: {enabled: false, justification: \"\"}\n",
		},
		{
			name: "add into a block", text: "package app\n\nobservability: {\n\ttracing: {\n\t\tenabled: false\n\t}\n}\n",
			d:    diag.Diagnostic{Path: "observability.tracing.justification", Positions: []diag.Position{{Filename: file, Line: 4, Column: 2}}, Fix: &diag.Fix{Kind: diag.AddField, Text: `""`}},
			want: "package app\n\nobservability: {\n\ttracing: {\n\t\tenabled: false\n\t\tjustification: \"\"\n\t}\n}\n",
		},
		{
			name: "add to a short form", text: "package app\n\nobservability: tracing: enabled: false\n",
			d:    diag.Diagnostic{Path: "observability.tracing.justification", Positions: []diag.Position{{Filename: file, Line: 3, Column: 16}}, Fix: &diag.Fix{Kind: diag.AddField, Text: `""`}},
			want: "package app\n\nobservability: tracing: {enabled: false, justification: \"\"}\n",
		},
		{
			name: "add to a list element", text: "package app\n\nexceptions: [{policy: \"x\"}]\n",
			d:    diag.Diagnostic{Path: "exceptions[0].owner", Positions: []diag.Position{{Filename: file, Line: 3, Column: 14}}, Fix: &diag.Fix{Kind: diag.AddField, Text: `""`}},
			want: "package app\n\nexceptions: [{policy: \"x\", owner: \"\"}]\n",
		},
		{
			name: "the struct is declared twice", text: "package app\n\nobservability: metrics: port: 1\nobservability: tracing: enabled: false\n",
			d:    diag.Diagnostic{Path: "observability.tracing.justification", Positions: []diag.Position{{Filename: file, Line: 4, Column: 16}}, Fix: &diag.Fix{Kind: diag.AddField, Text: `""`}},
			want: "package app\n\nobservability: metrics: port: 1\nobservability: tracing: {enabled: false, justification: \"\"}\n",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, _, ok := fixEdit([]byte(c.text), file, c.d, c.d.Positions[0])
			if ok != (c.want != "") {
				t.Fatalf("ok = %v, want %v (%+v)", ok, c.want != "", e)
			}
			if !ok {
				return
			}
			if got := string(applyEdits([]byte(c.text), []protocol.TextEdit{e})); got != c.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}

// FuzzCursor: whatever the buffer and the cursor, working out the cursor,
// the hover and a diagnostic's range neither panics nor leaves the text.
func FuzzCursor(f *testing.F) {
	for _, s := range []string{
		"package app\n\nteam: \"x\"\n", "a: {b: [1, {c: \"\\(x)\"}]}", `"""` + "\n" + `x"""`, "a: b: c: #X & {", "é: \"😀\"", "}}]]:::", "a?: 1\nb!: 2",
	} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, off int) {
		text := []byte(s)
		if off < 0 || off > len(text) {
			return
		}
		if c, ok := cursorAt(text, off); ok && (c.start < 0 || c.start > off || c.end < off || c.end > len(text)) {
			t.Fatalf("cursor word [%d, %d) around %d in %d bytes", c.start, c.end, off, len(text))
		}
		if _, _, start, end, ok := hoverAt(text, off); ok && (start > end || end > len(text)) {
			t.Fatalf("hover token [%d, %d) in %d bytes", start, end, len(text))
		}
		if e := tokenEnd(text, off); e < off || e > len(text) {
			t.Fatalf("tokenEnd(%d) = %d", off, e)
		}
		if utf8.Valid(text) && (off == len(text) || utf8.RuneStart(text[off])) {
			// A position and an offset at a rune's start convert back
			// and forth exactly; a range never ends before it starts.
			p := lspPosition(text, off)
			if back := offsetOf(text, p); back != off {
				t.Fatalf("offsetOf(lspPosition(%d) = %v) = %d", off, p, back)
			}
			r := lspRange(text, int(p.Line)+1, off-lineStart(text, int(p.Line))+1)
			if r.End.Line < r.Start.Line || r.End.Line == r.Start.Line && r.End.Character < r.Start.Character {
				t.Fatalf("lspRange at %v: %v", p, r)
			}
		}
	})
}
