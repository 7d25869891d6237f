package schema

import (
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
)

// A CUE context keeps every instance it builds for as long as it lives:
// BuildInstance, BuildFile and CompileBytes register the instance and its
// root value with the context's runtime (cuelang.org/go
// internal/core/runtime: Runtime.AddInst and SetBuildData), so a context
// that builds app after app grows with every one. An expression built with
// BuildExpr is not registered; it is garbage as soon as its values are.
// paved builds per-app inputs as expressions wherever that means the same,
// and counts the builds it cannot avoid (Platform.Builds), so that a
// long-lived context is replaced only when it has registered many.

// Builds reports how many instances were built in p's context after the
// platform: the apps packageStruct could not take (in practice, specs that
// import a package).
func (p *Platform) Builds() int64 { return p.builds.Load() }

// CompileExpr compiles src, one CUE expression such as a JSON document, in
// p's context, registering nothing (CompileBytes would register an
// instance for the context's life).
func (p *Platform) CompileExpr(filename string, src []byte) (cue.Value, error) {
	x, err := parser.ParseExpr(filename, src)
	if err != nil {
		return cue.Value{}, err
	}
	v := p.ctx.BuildExpr(x)
	return v, v.Err()
}

// buildSpec builds the files of one app package in p's context: as one
// struct expression when that means what the package means, else as an
// instance (registered, and counted).
func (p *Platform) buildSpec(inst *build.Instance) cue.Value {
	if s, ok := packageStruct(inst.Files); ok {
		return p.ctx.BuildExpr(s)
	}
	p.builds.Add(1)
	return p.ctx.BuildInstance(inst)
}

// packageStruct returns the files of one package as one expression, each
// file's declarations as a struct and the structs unified, when that
// expression means what the package does: the same fields in the same
// order (each file is one conjunct either way), the same errors. It
// declines (and the package is built as an instance) when a file
//   - imports a package (imports resolve through the instance);
//   - has a file attribute (it applies to its file);
//   - declares or refers to a definition, or calls close: CUE closes a
//     struct literal built as an expression differently from a file;
//   - refers to a field another file declares (a package's scope spans its
//     files, a struct's does not);
//   - in a package of several files, has a top-level let or alias (they
//     are file-scoped).
//
// App specs are plain data, so in practice only a spec that imports the
// standard library is built as an instance.
func packageStruct(files []*ast.File) (ast.Expr, bool) {
	top := map[string]int{} // top-level field name → index of its file
	for i, f := range files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.Field); ok {
				if id, ok := labelIdent(fd.Label); ok {
					top[id.Name] = i
				}
			}
		}
	}
	multi := len(files) > 1
	var x ast.Expr
	for i, f := range files {
		file := &ast.StructLit{Lbrace: bracePos}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.Package, *ast.CommentGroup:
				continue
			case *ast.ImportDecl, *ast.Attribute:
				return nil, false
			case *ast.LetClause, *ast.Alias:
				if multi {
					return nil, false
				}
			case *ast.Field:
				if _, ok := d.Label.(*ast.Alias); ok && multi {
					return nil, false
				}
			}
			file.Elts = append(file.Elts, d)
		}
		if !plainFile(f, top, i) {
			return nil, false
		}
		if x == nil {
			x = file
		} else {
			x = &ast.BinaryExpr{X: x, OpPos: bracePos, Op: token.AND, Y: file}
		}
	}
	return x, true
}

// bracePos is the position of the braces and operators packageStruct
// adds: in a file of paved's own, so that diagnostics leave it out (as CUE
// leaves out the position of a file, which has no braces to point to).
var bracePos = token.NewFile(EmbeddedPrefix+"spec", -1, 1).Pos(0, token.NoRelPos)

// labelIdent returns the identifier a field label names, through an alias.
func labelIdent(l ast.Label) (*ast.Ident, bool) {
	if a, ok := l.(*ast.Alias); ok {
		l, _ = a.Expr.(ast.Label)
	}
	id, ok := l.(*ast.Ident)
	return id, ok
}

// plainFile reports whether file i of a package has no definition (as a
// label or a reference), no call of close, and no identifier the parser
// left unresolved that names a top-level field of another file (top).
// Field labels and selected names are not references.
func plainFile(f *ast.File, top map[string]int, i int) bool {
	plain := true
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		if !plain {
			return false
		}
		switch x := n.(type) {
		case *ast.Field:
			if id, ok := labelIdent(x.Label); ok {
				if strings.HasPrefix(id.Name, "#") || strings.HasPrefix(id.Name, "_#") {
					plain = false
					return false
				}
			} else {
				ast.Walk(x.Label, visit, nil) // a dynamic or pattern label
			}
			ast.Walk(x.Value, visit, nil)
			return false
		case *ast.SelectorExpr:
			if id, ok := x.Sel.(*ast.Ident); ok && strings.Contains(id.Name, "#") {
				plain = false
				return false
			}
			ast.Walk(x.X, visit, nil)
			return false
		case *ast.Ident:
			switch j, across := top[x.Name]; {
			case strings.Contains(x.Name, "#"),
				x.Name == "close" && x.Node == nil,
				across && j != i && x.Node == nil:
				plain = false
			}
		}
		return true
	}
	ast.Walk(f, visit, nil)
	return plain
}
