// Package diag is the one diagnostic shape every stage reports problems in:
// a field path, a message and every source position involved, printed
// cue-style with paths relative to the working directory.
package diag

import (
	"cmp"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
)

// Position is a place in an input file. Line and Column are 1-based; a zero
// Line means the whole file.
type Position struct {
	Filename string
	Line     int
	Column   int
}

func (p Position) String() string {
	switch {
	case p.Line == 0:
		return p.Filename
	case p.Column == 0:
		return fmt.Sprintf("%s:%d", p.Filename, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.Filename, p.Line, p.Column)
}

// Diagnostic is one problem: the field path it concerns (empty for a file or
// run-level problem), the message, and every position involved, the app's
// own files first.
type Diagnostic struct {
	Path      string
	Message   string
	Positions []Position
	// Fix, when set, is the edit that resolves the problem. vet prints
	// only the message (which names the fix: "did you mean replicas?");
	// paved lsp offers the edit as a quick fix. It takes no part in
	// ordering or deduplication.
	Fix *Fix
}

// Fix is an edit that resolves a diagnostic, in terms of the app's CUE
// rather than of text: an editor applies it to the buffer it has.
type Fix struct {
	Kind FixKind
	// Text is the new label (RenameField), the new value as CUE
	// (ReplaceValue), or the value of the added field as CUE (AddField).
	Text string
}

// FixKind says what a Fix does.
type FixKind int

const (
	// RenameField renames the field whose label is at the diagnostic's
	// first position to Text.
	RenameField FixKind = iota + 1
	// ReplaceValue replaces the value of the field at the diagnostic's
	// Path (its label or its value is at the first position) with Text.
	ReplaceValue
	// AddField adds the field the diagnostic's Path names, with the value
	// Text, to the struct that should hold it.
	AddField
)

func (d Diagnostic) String() string {
	if d.Path == "" {
		return d.Message
	}
	return d.Path + ": " + d.Message
}

// List is a set of diagnostics; as an error it means "invalid input".
type List []Diagnostic

func (l List) Error() string {
	if len(l) == 0 {
		return "no problems"
	}
	var b strings.Builder
	for i, d := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(d.String())
	}
	return b.String()
}

// Add appends a diagnostic built from a message and positions.
func (l *List) Add(path, msg string, pos ...Position) {
	*l = append(*l, Diagnostic{Path: path, Message: msg, Positions: pos})
}

// Sanitize sorts the list by first position, path and message and removes
// duplicates; positions within a diagnostic are deduplicated, keeping order.
func (l List) Sanitize() List {
	out := make(List, 0, len(l))
	for _, d := range l {
		var ps []Position
		for _, p := range d.Positions {
			if !slices.Contains(ps, p) {
				ps = append(ps, p)
			}
		}
		d.Positions = ps
		out = append(out, d)
	}
	slices.SortStableFunc(out, compare)
	return slices.CompactFunc(out, func(a, b Diagnostic) bool { return compare(a, b) == 0 })
}

func first(d Diagnostic) Position {
	if len(d.Positions) == 0 {
		return Position{}
	}
	return d.Positions[0]
}

func compare(a, b Diagnostic) int {
	pa, pb := first(a), first(b)
	if c := cmp.Or(
		cmp.Compare(pa.Filename, pb.Filename),
		cmp.Compare(pa.Line, pb.Line),
		cmp.Compare(pa.Column, pb.Column),
		cmp.Compare(a.Path, b.Path),
		cmp.Compare(a.Message, b.Message),
		cmp.Compare(len(a.Positions), len(b.Positions)),
	); c != 0 {
		return c
	}
	for i := range a.Positions {
		if c := cmp.Compare(a.Positions[i].String(), b.Positions[i].String()); c != 0 {
			return c
		}
	}
	return 0
}

// Print writes every diagnostic cue-style:
//
//	path: message:
//	    ./file:line:col
//
// Filenames are made relative to cwd (with a ./ prefix) when they lie below
// it, and use forward slashes.
func Print(w io.Writer, l List, cwd string) {
	for _, d := range l {
		head := d.String()
		if len(d.Positions) == 0 {
			fmt.Fprintln(w, head)
			continue
		}
		fmt.Fprintln(w, head+":")
		for _, p := range d.Positions {
			p.Filename = Rel(cwd, p.Filename)
			fmt.Fprintf(w, "    %s\n", p)
		}
	}
}

// PrintWarnings writes diagnostics as Print does, each headed "warning: ".
func PrintWarnings(w io.Writer, l List, cwd string) {
	for i := range l {
		Print(w, List{{Path: "", Message: "warning: " + l[i].String(), Positions: l[i].Positions}}, cwd)
	}
}

// Rel returns name relative to cwd with a ./ prefix and forward slashes when
// it lies below cwd; otherwise name unchanged (slash form).
func Rel(cwd, name string) string {
	if cwd == "" || !filepath.IsAbs(name) {
		return filepath.ToSlash(name)
	}
	r, err := filepath.Rel(cwd, name)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(name)
	}
	return "./" + filepath.ToSlash(r)
}
