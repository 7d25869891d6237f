package diff

import (
	"fmt"
	"io"
	"strings"

	"github.com/fatih/color"
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

// Terminal writes a header naming the sources and the fleet, a unified
// diff per object, colored when color is on, then a summary per cluster.
func Terminal(w io.Writer, r *Report, m Meta, useColor bool) error {
	paint := func(attr color.Attribute) *color.Color {
		c := color.New(attr)
		if useColor {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
		return c
	}
	red, green, cyan, bold, yellow := paint(color.FgRed), paint(color.FgGreen), paint(color.FgCyan), paint(color.Bold), paint(color.FgYellow)
	sign := map[Action]string{Added: "+", Changed: "~", Deleted: "-"}
	fmt.Fprintf(w, "source %s against fleet %s (%s)\n", strings.Join(m.Sources, ", "), fleetRef(m), m.Ref)
	for _, a := range m.Adopted {
		yellow.Fprintf(w, "adopts %s\n", a)
	}
	for _, c := range r.Changes {
		bold.Fprintf(w, "%s %s %s %s\n", sign[c.Action], c.Key.String(), c.Action, inCluster(c.Cluster))
		if c.APIBefore != "" && c.APIAfter != "" && c.APIBefore != c.APIAfter {
			fmt.Fprintf(w, "  apiVersion %s → %s\n", c.APIBefore, c.APIAfter)
		}
		for _, d := range c.Danger {
			yellow.Fprintf(w, "  DANGER: %s\n", d)
		}
		for _, l := range strings.SplitAfter(c.Diff, "\n") {
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
