package cli

import (
	"fmt"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/format"
	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/schema"
)

type explainOptions struct{ platformFlag }

func newExplainCmd(e *env) *cobra.Command {
	o := &explainOptions{}
	c := &cobra.Command{
		Use:   "explain [FIELD]",
		Short: "Document the app schema: fields, defaults and constraints",
		Long: `explain documents #App, the schema app.cue is validated against, as the
platform in force defines it. Without FIELD it lists the top-level fields;
with a dotted path such as replicas.min or observability.tracing it shows that
field's documentation, constraint, default and sub-fields.

Exit codes: 0 ok, 2 unknown field.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			p, err := schema.LoadPlatform(o.path(e))
			if err != nil {
				return err
			}
			return explain(e, p, strings.Join(args, ""))
		},
	}
	o.register(c)
	return c
}

func explain(e *env, p *schema.Platform, field string) error {
	v := p.Value().LookupPath(cue.ParsePath("#App"))
	name := "#App"
	doc := docOf(v)
	if field != "" {
		parent := v
		sels := strings.Split(field, ".")
		for i, s := range sels {
			f, fdoc, ok := lookupField(parent, s)
			if !ok {
				return invalid("explain: unknown field %q (see `paved explain %s`)", strings.Join(sels[:i+1], "."), strings.Join(sels[:i], "."))
			}
			parent, doc = f, fdoc
		}
		v, name = parent, field
	}
	fmt.Fprintf(e.stdout, "FIELD: %s\n", name)
	if doc != "" {
		fmt.Fprintf(e.stdout, "\n%s\n", indent(doc, "  "))
	}
	if field != "" {
		if d, ok := v.Default(); ok && d.IsConcrete() && d.Kind() != cue.StructKind && d.Kind() != cue.ListKind {
			fmt.Fprintf(e.stdout, "\nDEFAULT: %s\n", source(d))
		}
		if v.IncompleteKind() != cue.StructKind {
			fmt.Fprintf(e.stdout, "\nCONSTRAINT:\n%s\n", indent(source(v), "  "))
		}
	}
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return nil
	}
	var rows []string
	for it.Next() {
		sel := it.Selector()
		if sel.LabelType() != cue.StringLabel {
			continue
		}
		label := sel.Unquoted()
		mark := ""
		switch {
		case it.FieldType()&cue.RequiredConstraint != 0:
			mark = " (required)"
		case it.IsOptional():
			mark = " (optional)"
		}
		rows = append(rows, fmt.Sprintf("  %-16s %s%s", label, firstSentence(docOf(it.Value())), mark))
	}
	// A map of structs (databases) documents its entries' fields under
	// <name>: `paved explain databases.<name>` (or any name) shows them.
	if _, ok := mapElem(v, "name"); ok {
		rows = append(rows, fmt.Sprintf("  %-16s %s", "<name>", "an entry: its fields are the same for every name (paved explain "+strings.TrimPrefix(name+".<name>", "#App.")+")"))
	}
	if len(rows) > 0 {
		fmt.Fprintf(e.stdout, "\nFIELDS:\n%s\n", strings.Join(rows, "\n"))
	}
	return nil
}

// mapElem returns the struct an entry called name of a map of structs
// (a struct with a pattern constraint, such as databases) would be: the
// pattern applied to an empty entry. ok is false when v is no such map
// or the pattern does not admit the name.
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
		return cue.Value{}, false // a map of open structs documents nothing
	}
	return elem, true
}

// lookupField finds a field (regular, optional or required) of v by name.
func lookupField(v cue.Value, name string) (cue.Value, string, bool) {
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return cue.Value{}, "", false
	}
	for it.Next() {
		if it.Selector().LabelType() == cue.StringLabel && it.Selector().Unquoted() == name {
			return it.Value(), docOf(it.Value()), true
		}
	}
	// An entry of a map of structs: its name is the user's.
	if elem, ok := mapElem(v, name); ok {
		return elem, docOf(elem), true
	}
	return cue.Value{}, "", false
}

func docOf(v cue.Value) string {
	var parts []string
	for _, cg := range v.Doc() {
		parts = append(parts, strings.TrimSpace(cg.Text()))
	}
	return strings.Join(parts, "\n")
}

func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i+1]
	}
	return s
}

func source(v cue.Value) string {
	b, err := format.Node(v.Syntax(cue.Raw()))
	if err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(string(b))
}

func indent(s, pre string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n")
}
