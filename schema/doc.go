package schema

import (
	"fmt"
	"slices"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/parser"
)

// Field documents one field of #App as the platform in force defines it:
// what `paved explain` prints, and what `paved lsp` shows on hover and
// offers in completion.
type Field struct {
	Name string // the label; "" for #App itself
	Doc  string // the schema's comment
	// Default is the field's default as CUE, when it is a concrete scalar.
	Default string
	// Value is the value the platform in force gives the field, as CUE,
	// when it is concrete (ExplainPlatform only).
	Value string
	// Constraint is the field's schema as CUE source; "" for a struct.
	Constraint string
	// Values are the values the field admits, as CUE, when they are few
	// and known (a bool, a single string, a disjunction of literals).
	Values             []string
	Required, Optional bool
	// Struct: the field is a struct (its declared fields are Fields; a
	// struct without them admits names by a pattern, as env does).
	Struct bool
	// NotAllowed: the app's kind may not set the field (port in a
	// worker).
	NotAllowed bool
	// Fields are the declared sub-fields, in schema order, each without
	// Fields of its own.
	Fields []Field
	// Entries: the field is a map of structs (databases): its entries,
	// named by the app, share one set of fields (explain <field>.<name>).
	Entries bool
}

// Summary is the first sentence of the field's documentation.
func (f Field) Summary() string {
	s := strings.Join(strings.Fields(f.Doc), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i+1]
	}
	return s
}

// Explain documents the field of #App at path: labels, an index for a
// list's element; a name that only a pattern admits (an environment under
// environments, a variable under env) is documented by the pattern. kind,
// when it is an app kind, applies the kind-dependent rules (port is
// required for web, not allowed for worker). resolved is how many
// elements of path exist in the schema: f documents path only when it is
// len(path), else f documents path[:resolved].
//
// Explain uses the platform's CUE context: like LoadApp, it must not run
// concurrently with other uses of the same Platform.
func (p *Platform) Explain(kind string, path []cue.Selector) (f Field, resolved int) {
	v := p.app
	if slices.Contains(Kinds, kind) {
		v = p.app.FillPath(cue.ParsePath("kind"), kind)
	}
	// plain follows path in #App without the kind: its constraints read
	// as the schema declares them (the kind's adds defaults by
	// reference, as max: *min).
	plain, plainOK := p.app, true
	var name string
	var ftype cue.SelectorType
	for _, sel := range path {
		sub, t, ok := child(v, sel)
		if !ok {
			break
		}
		v, ftype, name = sub, t, sel.String()
		if sel.LabelType() == cue.StringLabel {
			name = sel.Unquoted()
		}
		if plainOK {
			plain, _, plainOK = child(plain, sel)
		}
		resolved++
	}
	f = describeField(name, v, ftype)
	if plainOK && !f.Struct && !f.NotAllowed && plain.Err() == nil {
		f.Constraint = cueSource(plain)
	}
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return f, resolved
	}
	for it.Next() {
		sel := it.Selector()
		if sel.LabelType() != cue.StringLabel {
			continue
		}
		sub := describeField(sel.Unquoted(), it.Value(), it.FieldType())
		sub.Fields = nil
		f.Fields = append(f.Fields, sub)
	}
	if _, ok := mapElem(v, "name"); ok {
		f.Entries = true
	}
	return f, resolved
}

// mapElem returns the struct an entry called name of a map of structs (a
// struct with a pattern constraint, such as databases) would be: the
// pattern applied to an empty entry. ok is false when v is no such map,
// the pattern does not admit the name, or the entries are open structs
// (which document nothing).
func mapElem(v cue.Value, name string) (cue.Value, bool) {
	if v.IncompleteKind() != cue.StructKind {
		return cue.Value{}, false
	}
	p := cue.MakePath(cue.Str(name))
	elem := v.FillPath(p, map[string]any{}).LookupPath(p)
	if !elem.Exists() || elem.Err() != nil || elem.IncompleteKind() != cue.StructKind {
		return cue.Value{}, false
	}
	if it, err := elem.Fields(cue.Optional(true)); err != nil || !it.Next() {
		return cue.Value{}, false
	}
	return elem, true
}

// child is childOf with the field's type (required, optional).
func child(def cue.Value, sel cue.Selector) (cue.Value, cue.SelectorType, bool) {
	switch sel.LabelType() {
	case cue.StringLabel:
		if it, err := def.Fields(cue.Optional(true)); err == nil {
			for it.Next() {
				if s := it.Selector(); s.LabelType() == cue.StringLabel && s.Unquoted() == sel.Unquoted() {
					return it.Value(), it.FieldType(), true
				}
			}
		}
		if v := def.LookupPath(cue.MakePath(sel)); v.Exists() {
			return v, 0, true
		}
		if v, ok := mapElem(def, sel.Unquoted()); ok {
			return v, 0, true // an entry of a map of structs
		}
		v := def.LookupPath(cue.MakePath(cue.AnyString))
		return v, 0, v.Exists()
	case cue.IndexLabel:
		v := def.LookupPath(cue.MakePath(cue.AnyIndex))
		return v, 0, v.Exists()
	}
	return cue.Value{}, 0, false
}

func describeField(name string, v cue.Value, t cue.SelectorType) Field {
	f := Field{
		Name:       name,
		Doc:        docOf(v),
		Required:   t&cue.RequiredConstraint != 0,
		Optional:   t&cue.OptionalConstraint != 0,
		NotAllowed: v.Err() != nil,
		Struct:     v.IncompleteKind() == cue.StructKind,
	}
	if f.NotAllowed {
		return f
	}
	if d, ok := v.Default(); ok && d.IsConcrete() && d.Kind() != cue.StructKind && d.Kind() != cue.ListKind {
		if lit, ok := cueLiteral(d); ok {
			f.Default = lit
		} else {
			f.Default = cueSource(d)
		}
	}
	if !f.Struct {
		f.Constraint = cueSource(v)
	}
	f.Values = literals(v)
	return f
}

// literals are the values v admits when they are finitely many literals.
func literals(v cue.Value) []string {
	if v.IncompleteKind() == cue.BoolKind {
		return []string{"true", "false"}
	}
	if v.IsConcrete() {
		if s, ok := cueLiteral(v); ok {
			return []string{s}
		}
		return nil
	}
	op, args := v.Expr()
	if op != cue.OrOp {
		return nil
	}
	var out []string
	for _, a := range args {
		s, ok := cueLiteral(a)
		if !ok || !a.IsConcrete() {
			return nil
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func docOf(v cue.Value) string {
	var parts []string
	for _, cg := range v.Doc() {
		parts = append(parts, strings.TrimSpace(cg.Text()))
	}
	return strings.Join(parts, "\n")
}

// cueSource writes v as CUE source, as its schema declares it.
func cueSource(v cue.Value) string {
	b, err := format.Node(v.Syntax(cue.Raw()))
	if err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(string(b))
}

// ExplainPlatform documents the field of the platform at path, as
// #Platform declares it (doc, constraint), with the value the platform in
// force gives it (Value) and paved's default for every platform (Default:
// what the embedded schema alone says, so an environment's settings show
// the default of any environment). Labels name fields, entries of maps
// (an environment, a team) and list indexes; resolved is as in Explain.
//
// Like Explain, it must not run concurrently with other uses of the same
// Platform.
func (p *Platform) ExplainPlatform(path []cue.Selector) (f Field, resolved int) {
	v := p.val.LookupPath(cue.ParsePath("platform"))
	plain, plainOK := p.val.LookupPath(cue.ParsePath("#Platform")), true
	bare, bareOK := p.bareDefaults(), true
	var name string
	var ftype cue.SelectorType
	for _, sel := range path {
		sub, t, ok := child(v, sel)
		if !ok {
			break
		}
		v, ftype, name = sub, t, sel.String()
		if sel.LabelType() == cue.StringLabel {
			name = sel.Unquoted()
		}
		if plainOK {
			plain, _, plainOK = child(plain, sel)
		}
		if bareOK {
			bare, _, bareOK = child(bare, sel)
		}
		resolved++
	}
	f = describeField(name, v, ftype)
	f.Default, f.Constraint, f.Values = "", "", nil
	if plainOK {
		// The schema's documentation, not the comments of the files
		// that set the value.
		f.Doc = docOf(plain)
		if !f.Struct {
			// (A list's constraint, list.MinItems(1), fails on the
			// schema's empty list: it is shown all the same, without the
			// import that the source carries.)
			f.Constraint = cueSource(plain)
			if strings.HasPrefix(f.Constraint, "import ") {
				if _, rest, ok := strings.Cut(f.Constraint, "\n\n"); ok {
					f.Constraint = strings.TrimSpace(rest)
				}
			}
			f.Values = literals(plain)
		}
	}
	if bareOK {
		if d, ok := bare.Default(); ok && d.IsConcrete() && d.Kind() != cue.StructKind {
			f.Default = concreteSource(d)
		}
	}
	if d, _ := v.Default(); len(path) > 0 && d.IsConcrete() && d.Validate(cue.Concrete(true)) == nil {
		f.Value = concreteSource(d)
	}
	// The sub-fields in the schema's order, with its documentation; the
	// entries of a map (environments, teams) as the platform names them.
	doc := map[string]Field{}
	var order []string
	if plainOK {
		if it, err := plain.Fields(cue.Optional(true)); err == nil {
			for it.Next() {
				if sel := it.Selector(); sel.LabelType() == cue.StringLabel {
					doc[sel.Unquoted()] = describeField(sel.Unquoted(), it.Value(), it.FieldType())
					order = append(order, sel.Unquoted())
				}
			}
		}
	}
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return f, resolved
	}
	subs := map[string]Field{}
	for it.Next() {
		sel := it.Selector()
		if sel.LabelType() != cue.StringLabel {
			continue
		}
		sub := describeField(sel.Unquoted(), it.Value(), it.FieldType())
		sub.Fields = nil
		if d, ok := doc[sub.Name]; ok {
			sub.Doc, sub.Required, sub.Optional = d.Doc, d.Required, d.Optional
		} else {
			// An entry of a map: its value, where it has one.
			order = append(order, sub.Name)
			if d, _ := it.Value().Default(); d.IsConcrete() && d.Kind() != cue.StructKind && d.Validate(cue.Concrete(true)) == nil {
				sub.Doc = concreteSource(d)
			}
		}
		subs[sub.Name] = sub
	}
	for _, n := range order {
		if sub, ok := subs[n]; ok {
			f.Fields = append(f.Fields, sub)
		}
	}
	if _, ok := mapElem(plain, "name"); plainOK && ok {
		f.Entries = true
	}
	return f, resolved
}

// concreteSource writes a concrete value as CUE: a literal, a list on
// one line, a struct on as many as it takes.
func concreteSource(v cue.Value) string {
	if lit, ok := cueLiteral(v); ok {
		return lit
	}
	b, err := format.Node(v.Syntax(cue.Final(), cue.Concrete(true)), format.Simplify())
	if err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(string(b))
}

// bareDefaults is the platform value of paved's embedded schema alone,
// without the example's data or a platform directory's: where every
// setting has paved's default.
func (p *Platform) bareDefaults() cue.Value {
	if p.bare == nil {
		p.bare = new(bareValue)
	}
	p.bare.once.Do(func() {
		inst := build.NewContext().NewInstance(EmbeddedPrefix, nil)
		inst.PkgName = "paved"
		for _, s := range p.sources {
			if !strings.HasPrefix(s.name, EmbeddedPrefix) || strings.HasPrefix(s.name, EmbeddedPrefix+"schema/example/") {
				continue
			}
			f, err := parser.ParseFile(s.name, s.data, parser.ParseComments)
			if err != nil || inst.AddSyntax(f) != nil {
				return
			}
		}
		p.bare.v = cuecontext.New().BuildInstance(inst).LookupPath(cue.ParsePath("platform"))
	})
	return p.bare.v
}
