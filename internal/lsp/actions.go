package lsp

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/parser"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/paved-dev/paved/internal/diag"
)

// codeActions offers the fixes of the diagnostics in the requested range:
// "did you mean" renames and replacements, a missing required field, a
// justification stub. Each edit is made on the buffer as it is and left
// out unless the result parses.
func (s *server) codeActions(p *protocol.CodeActionParams) []protocol.CodeAction {
	out := []protocol.CodeAction{}
	if len(p.Context.Only) > 0 && !slices.ContainsFunc(p.Context.Only, func(k protocol.CodeActionKind) bool {
		return k == protocol.QuickFix || k == "quickfix"
	}) {
		return out
	}
	path, ok := uriPath(p.TextDocument.URI)
	if !ok {
		return out
	}
	dir := filepath.Dir(path)
	s.analysisMu.Lock()
	defer s.analysisMu.Unlock()
	if st := s.apps[dir]; st == nil || s.stale(st) {
		// A change still waiting for its analysis.
		s.analyzeLocked(dir, false)
	}
	st := s.apps[dir]
	d, open := s.doc(path)
	if st == nil || !open || !bytes.Equal(st.files[path], d.text) {
		return out // the buffer does not parse: the analysis is older
	}
	diags := st.own
	if st.app != nil && len(st.own) == 0 {
		diags, _ = s.fleetDiags(st)
	}
	for _, dg := range diags {
		if dg.Fix == nil {
			continue
		}
		u, ld := s.toLSP(st, dg, protocol.DiagnosticSeverityError)
		if u != fileURI(path) || !overlaps(ld.Range, p.Range) {
			continue
		}
		at := slices.IndexFunc(dg.Positions, func(ps diag.Position) bool { return ps.Filename == path })
		if at < 0 {
			continue
		}
		edit, title, ok := fixEdit(d.text, path, dg, dg.Positions[at])
		if !ok {
			continue
		}
		if _, err := parser.ParseFile(path, applyEdits(d.text, []protocol.TextEdit{edit})); err != nil {
			continue
		}
		out = append(out, protocol.CodeAction{
			Title: title, Kind: protocol.QuickFix, Diagnostics: []protocol.Diagnostic{ld},
			IsPreferred: dg.Fix.Kind != diag.AddField,
			Edit:        &protocol.WorkspaceEdit{Changes: map[protocol.DocumentURI][]protocol.TextEdit{p.TextDocument.URI: {edit}}},
		})
	}
	return out
}

// stale reports whether the open buffers of the app differ from what its
// last analysis read.
func (s *server) stale(st *appState) bool {
	for p, d := range s.openDocs(st.dir) {
		if b, ok := st.files[p]; !ok || !bytes.Equal(b, d.text) {
			return true
		}
	}
	return false
}

func before(a, b protocol.Position) bool {
	return a.Line < b.Line || a.Line == b.Line && a.Character < b.Character
}

// overlaps reports whether two ranges share a position (ends included: a
// cursor at either end of a diagnostic is on it).
func overlaps(a, b protocol.Range) bool {
	return !before(a.End, b.Start) && !before(b.End, a.Start)
}

// fixEdit turns a diagnostic's fix into an edit of text (file), at pos,
// the diagnostic's position in the file.
func fixEdit(text []byte, file string, d diag.Diagnostic, pos diag.Position) (protocol.TextEdit, string, bool) {
	off := byteOffset(text, pos.Line, pos.Column)
	edit := func(start, end int, newText string) protocol.TextEdit {
		return protocol.TextEdit{Range: protocol.Range{Start: lspPosition(text, start), End: lspPosition(text, end)}, NewText: newText}
	}
	switch d.Fix.Kind {
	case diag.RenameField:
		toks := tokens(text)
		i := slices.IndexFunc(toks, func(t tok) bool { return t.start == off })
		if i < 0 || !isLabel(toks, i) {
			return protocol.TextEdit{}, "", false
		}
		t := toks[i]
		return edit(t.start, t.end, d.Fix.Text), fmt.Sprintf("Change %s to %s", t.lit, d.Fix.Text), true
	case diag.ReplaceValue:
		f, err := parser.ParseFile(file, text, parser.ParseComments)
		if err != nil {
			return protocol.TextEdit{}, "", false
		}
		v := valueAt(f, off)
		if v == nil {
			return protocol.TextEdit{}, "", false
		}
		start, end := v.Pos().Offset(), v.End().Offset()
		return edit(start, end, d.Fix.Text), fmt.Sprintf("Change %s to %s", text[start:end], d.Fix.Text), true
	case diag.AddField:
		return addField(text, file, d, off)
	}
	return protocol.TextEdit{}, "", false
}

// valueAt finds the literal value of the field whose label starts at off,
// or the literal that starts at off.
func valueAt(f *ast.File, off int) *ast.BasicLit {
	var found *ast.BasicLit
	ast.Walk(f, func(n ast.Node) bool {
		if found != nil {
			return false
		}
		switch x := n.(type) {
		case *ast.Field:
			if x.Label != nil && x.Label.Pos().Offset() == off {
				if lit, ok := x.Value.(*ast.BasicLit); ok {
					found = lit
				}
				return false
			}
		case *ast.BasicLit:
			if x.Pos().Offset() == off {
				found = x
			}
		}
		return true
	}, nil)
	return found
}

// addField adds the field d.Path names, with the fix's value, to the
// struct that should hold it: the file's top level (after the field at
// off, else after the last field), or the struct at the path's parent
// (in braces: before the closing one; written short, as in
// observability: tracing: enabled: false, the struct gains braces).
func addField(text []byte, file string, d diag.Diagnostic, off int) (protocol.TextEdit, string, bool) {
	f, err := parser.ParseFile(file, text, parser.ParseComments)
	sels := cue.ParsePath(d.Path).Selectors()
	if err != nil || len(sels) == 0 || sels[len(sels)-1].LabelType() != cue.StringLabel {
		return protocol.TextEdit{}, "", false
	}
	name := sels[len(sels)-1].String()
	field := name + ": " + d.Fix.Text
	title := "Add " + field
	insert := func(at int, s string) (protocol.TextEdit, string, bool) {
		p := lspPosition(text, at)
		return protocol.TextEdit{Range: protocol.Range{Start: p, End: p}, NewText: s}, title, true
	}
	parent := sels[:len(sels)-1]
	if len(parent) == 0 {
		var after ast.Decl
		for _, decl := range f.Decls {
			if _, ok := decl.(*ast.Field); !ok {
				if _, ok := decl.(*ast.Package); !ok {
					continue
				}
			}
			if decl.Pos().Offset() <= off && off < decl.End().Offset() {
				after = decl
				break
			}
			after = decl
		}
		if after == nil {
			return insert(0, field+"\n")
		}
		return insert(after.End().Offset(), "\n"+field)
	}
	v := valueOf(f.Decls, parent)
	st, ok := v.(*ast.StructLit)
	if !ok {
		return protocol.TextEdit{}, "", false
	}
	if !st.Lbrace.IsValid() {
		// Short form: give the struct braces.
		start, end := st.Pos().Offset(), st.End().Offset()
		p0, p1 := lspPosition(text, start), lspPosition(text, end)
		return protocol.TextEdit{Range: protocol.Range{Start: p0, End: p1}, NewText: "{" + string(text[start:end]) + ", " + field + "}"}, title, true
	}
	rb := st.Rbrace.Offset()
	switch {
	case len(st.Elts) == 0:
		return insert(rb, field)
	case st.Lbrace.Line() == st.Rbrace.Line():
		return insert(rb, ", "+field)
	}
	lastElt := st.Elts[len(st.Elts)-1]
	ls := lineStart(text, lastElt.Pos().Line()-1)
	indent := text[ls:ls]
	for i := ls; i < len(text) && (text[i] == ' ' || text[i] == '\t'); i++ {
		indent = text[ls : i+1]
	}
	return insert(lastElt.End().Offset(), "\n"+string(indent)+field)
}

// valueOf finds the value at the field path sels among decls, through
// structs written short or in braces and list elements; the first match
// when a field is declared more than once.
func valueOf(decls []ast.Decl, sels []cue.Selector) ast.Expr {
	if len(sels) == 0 || sels[0].LabelType() != cue.StringLabel {
		return nil
	}
	for _, decl := range decls {
		fd, ok := decl.(*ast.Field)
		if !ok {
			continue
		}
		name, _, err := ast.LabelName(fd.Label)
		if err != nil || name != sels[0].Unquoted() {
			continue
		}
		if v := descend(fd.Value, sels[1:]); v != nil {
			return v
		}
	}
	return nil
}

func descend(v ast.Expr, sels []cue.Selector) ast.Expr {
	if len(sels) == 0 {
		return v
	}
	switch x := v.(type) {
	case *ast.StructLit:
		return valueOf(x.Elts, sels)
	case *ast.ListLit:
		if sels[0].LabelType() != cue.IndexLabel {
			return nil
		}
		i := sels[0].Index()
		if i < 0 || i >= len(x.Elts) {
			return nil
		}
		return descend(x.Elts[i], sels[1:])
	}
	return nil
}

// format formats the document with CUE's own formatter (what cue fmt
// writes), as one edit of the lines that change.
func (s *server) format(p *protocol.DocumentFormattingParams) ([]protocol.TextEdit, error) {
	path, text, ok := s.fileText(p.TextDocument.URI)
	if !ok {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, "no such document")
	}
	f, err := parser.ParseFile(path, text, parser.ParseComments)
	if err != nil {
		return nil, jsonrpc2.NewError(requestFailed, "cannot format: the file does not parse: "+err.Error())
	}
	out, err := format.Node(f)
	if err != nil {
		return nil, jsonrpc2.NewError(requestFailed, "cannot format: "+err.Error())
	}
	e, changed := lineEdit(text, out)
	if !changed {
		return []protocol.TextEdit{}, nil
	}
	return []protocol.TextEdit{e}, nil
}

// requestFailed is the protocol's RequestFailed error code.
const requestFailed jsonrpc2.Code = -32803
