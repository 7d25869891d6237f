package diff

import (
	"fmt"
	"io"
	"strings"

	"github.com/fatih/color"

	"github.com/paved-dev/paved/policy"
)

// Summary counts the changes of one cluster.
type Summary struct {
	Cluster                         string
	Added, Changed, Deleted, Danger int
}

// Summaries counts changes per cluster, in cluster order.
func (r *Report) Summaries() []Summary {
	var out []Summary
	for _, c := range r.Changes {
		if len(out) == 0 || out[len(out)-1].Cluster != c.Cluster {
			out = append(out, Summary{Cluster: c.Cluster})
		}
		s := &out[len(out)-1]
		switch c.Action {
		case Added:
			s.Added++
		case Changed:
			s.Changed++
		case Deleted:
			s.Deleted++
		}
		if len(c.Danger) > 0 {
			s.Danger++
		}
	}
	return out
}

// inCluster shows where a change applies: (cluster), or the catalog's
// pseudo-cluster, which brings its own parentheses.
func inCluster(c string) string {
	if strings.HasPrefix(c, "(") {
		return c
	}
	return "(" + c + ")"
}

// TerminalInput is what the terminal report shows besides the changes.
type TerminalInput struct {
	Meta
	// Color paints the report with ANSI colors.
	Color bool
	// Full prints every object's whole diff instead of showing shared
	// edits once.
	Full bool
	// Lint (optional) and the costs on both sides feed the summary.
	Lint          *policy.Report
	Before, After policy.Costs
}

// Terminal writes a header naming the sources and the fleet, the summary
// per app in words, the danger zone, then the diffs, colored when color
// is on, and a count per cluster. As in the PR comment, an edit made
// identically on several objects is printed once with where it applies,
// objects changed only by such edits are counted, and each other object
// prints the hunks of its own, once for the clusters where it changes
// alike; in.Full prints every object's whole diff instead.
func Terminal(w io.Writer, r *Report, in TerminalInput) error {
	paint := func(attr color.Attribute) *color.Color {
		c := color.New(attr)
		if in.Color {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
		return c
	}
	red, green, cyan, bold, yellow := paint(color.FgRed), paint(color.FgGreen), paint(color.FgCyan), paint(color.Bold), paint(color.FgYellow)
	sign := map[Action]string{Added: "+", Changed: "~", Deleted: "-"}
	m := in.Meta
	fmt.Fprintf(w, "source %s against fleet %s (%s)\n", strings.Join(m.Sources, ", "), fleetRef(m), m.Ref)
	for _, a := range m.Adopted {
		yellow.Fprintf(w, "adopts %s\n", a)
	}
	integrityTerminal(m.Integrity, func(format string, args ...any) { yellow.Fprintf(w, format, args...) })
	for _, p := range m.Promotion {
		cyan.Fprintf(w, "environments: %s\n", p)
	}
	for _, g := range groupSummaries(WithFindings(r.Apps, in.Lint, in.Before, in.After), r.Environments) {
		fmt.Fprintln(w)
		bold.Fprintln(w, g.title(0))
		for _, l := range g.lines {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	var danger []string
	for _, c := range r.Changes {
		for _, d := range c.Danger {
			danger = append(danger, fmt.Sprintf("  %s %s %s: %s\n", c.Key.String(), c.Action, inCluster(c.Cluster), d))
		}
	}
	if len(danger) > 0 {
		fmt.Fprintln(w)
		yellow.Fprintln(w, "danger zone:")
		for _, d := range danger {
			yellow.Fprint(w, d)
		}
	}
	if len(r.Apps) > 0 || len(danger) > 0 {
		fmt.Fprintln(w)
	}
	printDiff := func(diff, indent string) {
		for _, l := range strings.SplitAfter(diff, "\n") {
			if l != "" {
				fmt.Fprint(w, indent)
			}
			switch {
			case l == "":
			case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
				bold.Fprint(w, l)
			case strings.HasPrefix(l, "@@"):
				cyan.Fprint(w, l)
			case strings.HasPrefix(l, "+"):
				green.Fprint(w, l)
			case strings.HasPrefix(l, "-"):
				red.Fprint(w, l)
			default:
				fmt.Fprint(w, l)
			}
		}
	}
	header := func(c Change, clusters []string) {
		where := inCluster(c.Cluster)
		if len(clusters) > 1 {
			where = "(" + strings.Join(clusters, ", ") + ")"
		}
		bold.Fprintf(w, "%s %s %s %s\n", sign[c.Action], c.Key.String(), c.Action, where)
		if c.APIBefore != "" && c.APIAfter != "" && c.APIBefore != c.APIAfter {
			fmt.Fprintf(w, "  apiVersion %s → %s\n", c.APIBefore, c.APIAfter)
		}
		for _, d := range c.Danger {
			yellow.Fprintf(w, "  DANGER: %s\n", d)
		}
	}
	if in.Full {
		for _, c := range r.Changes {
			header(c, nil)
			printDiff(c.Diff, "")
		}
	} else {
		v := compact(r)
		if len(v.shared) > 0 {
			bold.Fprintln(w, "changes made on several objects, shown once:")
			for _, s := range v.shared {
				where := s.where(func(n string) string { return n })
				if text, verb, ok := oneLine(s.edit); ok {
					if verb != "" {
						verb += " "
					}
					fmt.Fprintf(w, "  %s\n    %s%s\n", text, verb, where)
					continue
				}
				fmt.Fprintf(w, "  %s %s:\n", orTop(s.path), where)
				printDiff(s.lines(), "    ")
			}
		}
		if v.counted > 0 {
			fmt.Fprintf(w, "%d changed %s no other change (not listed; --full lists %s)\n", v.counted, plural(v.counted, "object has", "objects have"), plural(v.counted, "it", "them"))
		}
		if len(v.shared) > 0 || v.counted > 0 {
			fmt.Fprintln(w)
		}
		for _, l := range v.listed {
			header(l.Change, l.clusters)
			if l.sharedHunks > 0 {
				fmt.Fprintf(w, "  (and %d shared %s above)\n", l.sharedHunks, plural(l.sharedHunks, "hunk", "hunks"))
			}
			printDiff(l.body, "")
		}
	}
	sums := r.Summaries()
	if len(sums) == 0 {
		fmt.Fprintln(w, "no changes")
	}
	for _, s := range sums {
		fmt.Fprintf(w, "%s: %d added, %d changed, %d deleted", s.Cluster, s.Added, s.Changed, s.Deleted)
		if s.Danger > 0 {
			yellow.Fprintf(w, ", %d in the danger zone", s.Danger)
		}
		fmt.Fprintln(w)
	}
	if r.Noise > 0 {
		fmt.Fprintf(w, "%d objects differ only in provenance annotations (paved.dev/source-revision, source-path), not shown\n", r.Noise)
	}
	return nil
}
