// Package migrate rewrites app specs from one apiVersion of the app schema
// to the next, on CUE's own syntax tree (cue/parser, cue/ast, cue/format),
// so that comments and the author's layout of what a step does not touch
// are kept.
//
// A Step is one apiVersion to the next; a Registry chains them, so a spec
// several versions behind goes through each in turn. Steps, paved's
// registry, is empty while paved.dev/v1alpha1 is the only apiVersion: the
// first change of the app schema that is not backward compatible adds its
// step here, with the schema that names the new apiVersion
// (COMPATIBILITY.md). The tests run a synthetic v1alpha1 → v1alpha2 step.
package migrate

import (
	"bytes"
	"fmt"
	"strconv"

	"cuelang.org/go/cue/ast"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"

	"github.com/paved-dev/paved/internal/diag"
)

// Step rewrites an app's files from apiVersion From to To. Rewrite gets
// each file of the app (the files of its package: app.cue and the
// per-environment ones) and changes it in place; Migrate then sets the
// apiVersion field to To where a file declares it. An error is reported
// at the file and leaves every file as it was.
type Step struct {
	From, To string
	Rewrite  func(f *ast.File) error
}

// Registry is a set of steps, at most one from each apiVersion.
type Registry []Step

// Steps is paved's registry: empty while paved.dev/v1alpha1 is the only
// apiVersion of the app schema.
var Steps Registry

// File is one CUE file of an app.
type File struct {
	Path string
	Data []byte
}

// Result is what migrating an app does: its apiVersion before and after,
// and the files that change, with their new content.
type Result struct {
	From, To string
	Changed  []File
}

// App migrates the files of one app through every step from its
// apiVersion on. An app already at the newest apiVersion, or at one no
// step starts from, is unchanged (To == From). Syntax errors are
// diagnostics at their file:line:col.
func (r Registry) App(files []File) (Result, error) {
	parsed := make([]*ast.File, len(files))
	var diags diag.List
	var version string
	var versionPos token.Pos
	for i, f := range files {
		af, err := parser.ParseFile(f.Path, f.Data, parser.ParseComments)
		if err != nil {
			diags = append(diags, fromCUE(err)...)
			continue
		}
		parsed[i] = af
		lit := apiVersionLit(af)
		if lit == nil {
			continue
		}
		v, err := strconv.Unquote(lit.Value)
		if err != nil {
			diags = append(diags, at(lit.Pos(), "apiVersion: not a plain string: %s", lit.Value))
			continue
		}
		if version != "" && v != version {
			diags = append(diags, at(lit.Pos(), "apiVersion: %q here, but %q at %s", v, version, versionPos))
			continue
		}
		version, versionPos = v, lit.Pos()
	}
	if len(diags) > 0 {
		return Result{}, diags.Sanitize()
	}
	res := Result{From: version, To: version}
	if version == "" {
		return res, nil
	}
	seen := map[string]bool{}
	for {
		step, ok := r.from(res.To)
		if !ok {
			break
		}
		if seen[step.From] {
			return Result{}, fmt.Errorf("migrate: the steps loop at %s", step.From)
		}
		seen[step.From] = true
		for i, af := range parsed {
			if err := step.Rewrite(af); err != nil {
				return Result{}, diag.List{{Message: fmt.Sprintf("migrate %s → %s: %v", step.From, step.To, err), Positions: []diag.Position{{Filename: files[i].Path}}}}
			}
			if lit := apiVersionLit(af); lit != nil {
				lit.Value = strconv.Quote(step.To)
			}
		}
		res.To = step.To
	}
	if res.To == res.From {
		return res, nil
	}
	for i, af := range parsed {
		out, err := format.Node(af)
		if err != nil {
			return Result{}, fmt.Errorf("migrate: %s: %w", files[i].Path, err)
		}
		if !bytes.Equal(out, files[i].Data) {
			res.Changed = append(res.Changed, File{Path: files[i].Path, Data: out})
		}
	}
	return res, nil
}

func (r Registry) from(v string) (Step, bool) {
	for _, s := range r {
		if s.From == v {
			return s, true
		}
	}
	return Step{}, false
}

// apiVersionLit is the string literal of the file's top-level apiVersion
// field, or nil.
func apiVersionLit(f *ast.File) *ast.BasicLit {
	for _, d := range f.Decls {
		field, ok := d.(*ast.Field)
		if !ok {
			continue
		}
		if name, _, _ := ast.LabelName(field.Label); name != "apiVersion" {
			continue
		}
		if lit, ok := field.Value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			return lit
		}
	}
	return nil
}

// Field is the top-level field name of f, or nil: for steps.
func Field(f *ast.File, name string) *ast.Field {
	for _, d := range f.Decls {
		if field, ok := d.(*ast.Field); ok {
			if n, _, _ := ast.LabelName(field.Label); n == name {
				return field
			}
		}
	}
	return nil
}

func at(p token.Pos, format string, args ...any) diag.Diagnostic {
	return diag.Diagnostic{Message: fmt.Sprintf(format, args...), Positions: []diag.Position{position(p)}}
}

func position(p token.Pos) diag.Position {
	if !p.IsValid() {
		return diag.Position{}
	}
	return diag.Position{Filename: p.Filename(), Line: p.Line(), Column: p.Column()}
}

func fromCUE(err error) diag.List {
	var out diag.List
	for _, e := range cueerrors.Errors(err) {
		format, args := e.Msg()
		out = append(out, diag.Diagnostic{Message: fmt.Sprintf(format, args...), Positions: []diag.Position{position(e.Position())}})
	}
	return out
}
