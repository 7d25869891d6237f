package cli

import (
	"fmt"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/internal/suggest"
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
with a dotted path such as replicas.min, observability.tracing or
exceptions.0.policy it shows that field's documentation, constraint, default
and sub-fields, and, for a field whose values come from the platform (team,
size, image registries, environments, clusters, system, approvals), the
values the platform allows. paved platform explain documents the platform's
own settings.

Exit codes: 0 ok, 2 unknown field.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			p, err := loadCheckedPlatform(e, o.path(e))
			if err != nil {
				return err
			}
			return explain(e, p, strings.Join(args, ""))
		},
	}
	o.register(c)
	return c
}

// explainer is what explain documents: #App (paved explain) or the
// platform (paved platform explain).
type explainer struct {
	command string // the command that explains it
	root    string // the name of the whole
	explain func(path []cue.Selector) (schema.Field, int)
}

func explain(e *env, p *schema.Platform, field string) error {
	x := explainer{command: "paved explain", root: "#App", explain: func(path []cue.Selector) (schema.Field, int) { return p.Explain("", path) }}
	if err := x.print(e, field); err != nil {
		return err
	}
	// The values the platform in force allows, where they come from it:
	// the constraint says only what shape they have (#DNSLabel).
	if field != "" {
		if what, known := p.KnownValues(strings.Split(field, ".")); len(known) > 0 {
			width := 0
			for _, k := range known {
				width = max(width, len(k.Value))
			}
			var rows []string
			for _, k := range known {
				rows = append(rows, strings.TrimRight(fmt.Sprintf("  %-*s  %s", width, k.Value, k.Detail), " "))
			}
			fmt.Fprintf(e.stdout, "\nVALUES (%s):\n%s\n", what, strings.Join(rows, "\n"))
		}
	}
	return nil
}

// selectors are the path of a dotted field: labels, and indexes for a
// list's elements (exceptions.0.policy).
func selectors(field string) []cue.Selector {
	var sels []cue.Selector
	if field == "" {
		return nil
	}
	for _, s := range strings.Split(field, ".") {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			sels = append(sels, cue.Index(n))
			continue
		}
		sels = append(sels, cue.Str(s))
	}
	return sels
}

// print documents field ("" for the whole): its doc, value, default and
// constraint, and its sub-fields; an unknown field is invalid input with
// the nearest name.
func (x explainer) print(e *env, field string) error {
	sels := selectors(field)
	name := x.root
	if field != "" {
		name = field
	}
	f, resolved := x.explain(sels)
	if resolved < len(sels) {
		parts := strings.Split(field, ".")
		hint := ""
		var names []string
		for _, sub := range f.Fields {
			names = append(names, sub.Name)
		}
		if s, ok := suggest.Nearest(parts[resolved], names); ok {
			hint = fmt.Sprintf(" (did you mean %s?)", strings.Join(append(parts[:resolved:resolved], s), "."))
		}
		verb := strings.TrimPrefix(x.command, "paved ")
		return invalid("%s: unknown field %q%s (see `%s %s`)", verb, strings.Join(parts[:resolved+1], "."), hint, x.command, strings.Join(parts[:resolved], "."))
	}
	fmt.Fprintf(e.stdout, "FIELD: %s\n", name)
	if f.Doc != "" {
		fmt.Fprintf(e.stdout, "\n%s\n", indent(f.Doc, "  "))
	}
	if field != "" {
		if strings.Contains(f.Value, "\n") {
			fmt.Fprintf(e.stdout, "\nVALUE:\n%s\n", indent(f.Value, "  "))
		} else if f.Value != "" {
			fmt.Fprintf(e.stdout, "\nVALUE: %s\n", f.Value)
		}
		if f.Default != "" {
			fmt.Fprintf(e.stdout, "\nDEFAULT: %s\n", f.Default)
		}
		if f.Constraint != "" {
			fmt.Fprintf(e.stdout, "\nCONSTRAINT:\n%s\n", indent(f.Constraint, "  "))
		}
	}
	var rows []string
	for _, sub := range f.Fields {
		mark := ""
		switch {
		case sub.Required:
			mark = " (required)"
		case sub.Optional:
			mark = " (optional)"
		}
		rows = append(rows, fmt.Sprintf("  %-16s %s%s", sub.Name, sub.Summary(), mark))
	}
	// A map of structs (databases) documents its entries' fields under
	// <name>: `paved explain databases.<name>` (or any name) shows them.
	if f.Entries {
		rows = append(rows, fmt.Sprintf("  %-16s %s", "<name>", "an entry: its fields are the same for every name ("+x.command+" "+strings.TrimPrefix(name+".<name>", x.root+".")+")"))
	}
	// A list of structs (exceptions) documents its elements' fields
	// under an index.
	if field != "" && len(f.Fields) == 0 {
		if el, n := x.explain(append(sels, cue.Index(0))); n == len(sels)+1 && el.Struct && len(el.Fields) > 0 {
			rows = append(rows, fmt.Sprintf("  %-16s %s", "<index>", "an element: its fields are the same for every element ("+x.command+" "+field+".0)"))
		}
	}
	if len(rows) > 0 {
		fmt.Fprintf(e.stdout, "\nFIELDS:\n%s\n", strings.Join(rows, "\n"))
	}
	return nil
}

func indent(s, pre string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n")
}
