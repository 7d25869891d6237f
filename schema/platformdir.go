package schema

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"

	"github.com/paved-dev/paved/internal/diag"
)

// checkData reports what a platform must declare and does not: at least
// one environment, each with a cluster, a team and a size, and a
// defaultSize among its sizes. CUE accepts an empty map; a platform
// directory replaces the example's data, so an empty one is a platform no
// app can run on.
func checkData(pv cue.Value) diag.List {
	var l diag.List
	labels := func(path string) ([]string, bool) {
		it, err := pv.LookupPath(cue.ParsePath(path)).Fields()
		if err != nil {
			return nil, false
		}
		var names []string
		for it.Next() {
			names = append(names, it.Selector().Unquoted())
		}
		return names, true
	}
	none := func(what, why string) {
		l = append(l, diag.Diagnostic{Path: "platform." + what, Message: "the platform declares no " + what + ": " + why})
	}
	if envs, ok := labels("environments"); ok && len(envs) == 0 {
		none("environments", "each environment, in promotion order, lists its clusters")
	} else {
		for _, e := range envs {
			if cs, ok := labels(cue.MakePath(cue.Str("environments"), cue.Str(e), cue.Str("clusters")).String()); ok && len(cs) == 0 {
				l = append(l, diag.Diagnostic{Path: cue.MakePath(cue.Str("platform"), cue.Str("environments"), cue.Str(e), cue.Str("clusters")).String(),
					Message: fmt.Sprintf("environment %q declares no clusters", e)})
			}
		}
	}
	if teams, ok := labels("teams"); ok && len(teams) == 0 {
		none("teams", "each team owns apps, with its owners, budget and the sources that may write them")
	}
	if sizes, ok := labels("sizes"); ok && len(sizes) == 0 {
		none("sizes", "each size class sets the CPU and memory an app of that size requests")
	} else if def, err := pv.LookupPath(cue.ParsePath("defaultSize")).String(); ok && err == nil && !slices.Contains(sizes, def) {
		slices.Sort(sizes)
		l = append(l, diag.Diagnostic{Path: "platform.defaultSize",
			Message: fmt.Sprintf("size %q is not one of the platform's sizes (%s): defaultSize is the size of an app that names none", def, strings.Join(sizes, ", "))})
	}
	return l
}

// missingMessage is what a value the platform must set and does not
// reads as (CUE says "incomplete value").
const missingMessage = "field is required but not present"

// platformErrors reports why the platform does not load (CUE's errors and
// checkData's), each problem at the platform directory's file:line:col. A
// platform directory replaces the example platform, so its data is
// required: when some is missing, a last diagnostic says what a platform
// directory declares, or how to build on the example instead.
func (p *Platform) platformErrors(err error, missing diag.List) diag.List {
	var l diag.List
	if err != nil {
		l = fromCUE(err, "", nil)
	}
	// An empty registries list reads as one more thing the platform does
	// not declare (CUE says list.MinItems(1)).
	l = slices.DeleteFunc(l, func(d diag.Diagnostic) bool {
		if d.Path == "platform.registries" && strings.Contains(d.Message, "list.MinItems(1)") {
			missing = append(missing, diag.Diagnostic{Path: d.Path, Message: "the platform declares no registries: apps pull images only from these prefixes", Positions: d.Positions})
			return true
		}
		return false
	})
	if len(missing) > 0 {
		// What CUE says besides about the same fields, and outside the
		// platform, is a consequence: #App and the blueprints fail on an
		// empty map, and the admission registries derive from registries.
		declared := func(path string) bool {
			return slices.ContainsFunc(missing, func(m diag.Diagnostic) bool { return m.Path == path })
		}
		l = slices.DeleteFunc(l, func(d diag.Diagnostic) bool {
			return d.Path != "" && !strings.HasPrefix(d.Path, "platform.") || declared(d.Path) ||
				strings.HasPrefix(d.Path, "platform.tenancy.admission.registries") && declared("platform.registries")
		})
	}
	incomplete := len(missing) > 0
	for i, d := range l {
		if strings.HasPrefix(d.Message, "incomplete value") {
			l[i].Message = missingMessage
		}
		if l[i].Message == missingMessage {
			incomplete = true
		}
	}
	l = p.platformPositions(append(l, missing...))
	if p.Dir == "" {
		return l.Sanitize()
	}
	where := p.dirPosition()
	for i := range l {
		if len(l[i].Positions) == 0 {
			l[i].Positions = []diag.Position{where}
		}
	}
	if ext, _ := p.val.LookupPath(cue.ParsePath("platform.extends")).String(); incomplete && ext != "example" {
		l = append(l, diag.Diagnostic{
			Path: "platform",
			Message: "a platform directory replaces paved's example platform: it declares its own environments and clusters, " +
				"teams, sizes, prices and registries (paved platform init writes a complete one to start from), " +
				`or builds on the example with platform: extends: "example"`,
			Positions: []diag.Position{where},
		})
	}
	return l.Sanitize()
}

// dirPosition is where a problem of the whole platform directory is shown:
// its platform field, else the start of its platform.cue (or first CUE
// file), else the directory.
func (p *Platform) dirPosition() diag.Position {
	if pp, ok := p.declPos(cue.ParsePath("platform").Selectors()); ok {
		return pp
	}
	if len(p.Files) > 0 {
		f := p.Files[0]
		if pf := filepath.Join(p.Dir, "platform.cue"); slices.Contains(p.Files, pf) {
			f = pf
		}
		return diag.Position{Filename: f, Line: 1, Column: 1}
	}
	return diag.Position{Filename: p.Dir}
}

// declPos is the position of the field that declares the deepest prefix
// of the path sels in the platform directory's files (the first file that
// declares it that deep). It reads their syntax, through a: b: c
// shorthands and struct literals, rather than the evaluated value: an
// invalid platform's value cannot always say where its conjuncts are.
func (p *Platform) declPos(sels []cue.Selector) (diag.Position, bool) {
	var best token.Pos
	depth := 0
	for _, s := range p.sources {
		if strings.HasPrefix(s.name, EmbeddedPrefix) {
			continue
		}
		f, err := parser.ParseFile(s.name, s.data)
		if err != nil {
			continue
		}
		if pos, n := findDecl(f.Decls, sels); n > depth {
			best, depth = pos, n
		}
	}
	return position(best), depth > 0
}

// findDecl finds the deepest prefix of sels that decls declare: the
// position of its field and the prefix's length.
func findDecl(decls []ast.Decl, sels []cue.Selector) (token.Pos, int) {
	if len(sels) == 0 {
		return token.NoPos, 0
	}
	var want string
	switch sels[0].LabelType() {
	case cue.StringLabel:
		want = sels[0].Unquoted()
	case cue.DefinitionLabel:
		want = sels[0].String()
	default:
		return token.NoPos, 0
	}
	var best token.Pos
	depth := 0
	for _, d := range decls {
		switch x := d.(type) {
		case *ast.EmbedDecl:
			if st, ok := x.Expr.(*ast.StructLit); ok {
				if pos, n := findDecl(st.Elts, sels); n > depth {
					best, depth = pos, n
				}
			}
		case *ast.Field:
			name, _, err := ast.LabelName(x.Label)
			if err != nil || name != want {
				continue
			}
			pos, n := x.Pos(), 1
			if st, ok := x.Value.(*ast.StructLit); ok {
				if sp, sn := findDecl(st.Elts, sels[1:]); sn > 0 {
					pos, n = sp, sn+1
				}
			}
			if n > depth {
				best, depth = pos, n
			}
		}
	}
	return best, depth
}
