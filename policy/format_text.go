package policy

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/paved-dev/paved/internal/diag"
)

// FormatText writes findings grouped by app and then by the clusters they
// occur in (a finding identical in several clusters is shown once), the
// waivers, the cost estimate and a summary line.
func FormatText(w io.Writer, r *Report, o FormatOptions) error {
	type group struct {
		clusters []string
		f        Finding
	}
	byApp := map[string][]*group{}
	var apps []string
	for _, f := range r.Findings {
		app := f.Team + "/" + f.App
		switch {
		case f.Team == "":
			app = "(fleet)"
		case f.App == "":
			app = "team " + f.Team
		}
		if _, ok := byApp[app]; !ok {
			apps = append(apps, app)
		}
		key := f
		key.Cluster, key.Environment, key.File = "", "", clusterless(f.File, f.Cluster)
		var g *group
		for _, x := range byApp[app] {
			if x.f.Policy == key.Policy && x.f.Message == key.Message && x.f.Path == key.Path &&
				x.f.File == key.File && x.f.Severity == key.Severity && sameSource(x.f.Source, key.Source) &&
				sameObject(x.f.Object, key.Object) && x.f.Waived() == key.Waived() {
				g = x
				break
			}
		}
		if g == nil {
			g = &group{f: key}
			byApp[app] = append(byApp[app], g)
		}
		if f.Cluster != "" {
			g.clusters = append(g.clusters, f.Cluster)
		}
	}
	for _, app := range apps {
		fmt.Fprintln(w, app)
		groups := byApp[app]
		// Group findings by the cluster list they occur in, in order.
		var lists []string
		seen := map[string]bool{}
		for _, g := range groups {
			l := strings.Join(g.clusters, ", ")
			if !seen[l] {
				seen[l] = true
				lists = append(lists, l)
			}
		}
		for _, l := range lists {
			indent := "  "
			if l != "" {
				fmt.Fprintf(w, "  %s:\n", l)
				indent = "    "
			}
			for _, g := range groups {
				if strings.Join(g.clusters, ", ") != l {
					continue
				}
				f := g.f
				label := strings.ToUpper(string(f.Severity))
				if f.Waived() {
					label = "WAIVED"
				}
				fmt.Fprintf(w, "%s%-6s %s: %s\n", indent, label, f.Policy, f.Message)
				if f.Source != nil {
					fmt.Fprintf(w, "%s       ./%s:%d:%d\n", indent, relPath(o.Cwd, f.Source.Filename), f.Source.Line, f.Source.Column)
				}
				if f.File != "" {
					loc := f.File
					if f.Line > 0 {
						loc += fmt.Sprintf(":%d", f.Line)
					}
					if f.Path != "" {
						loc += " " + f.Path
					}
					if f.Object != nil {
						loc += " (" + f.Object.String() + ")"
					}
					fmt.Fprintf(w, "%s       %s\n", indent, loc)
				}
				if wv := f.Waiver; wv != nil && f.Waived() {
					fmt.Fprintf(w, "%s       waived until %s by %s: %s\n", indent, wv.Expires, wv.Owner, wv.Reason)
				}
			}
		}
	}
	if len(r.Waivers) > 0 {
		fmt.Fprintln(w, "exceptions:")
		for _, x := range r.Waivers {
			scope := ""
			for _, s := range []string{x.Environment, x.Cluster, x.Object} {
				if s != "" {
					scope += " " + s
				}
			}
			owner := x.Owner
			if x.ApprovedBy != "" {
				owner += fmt.Sprintf(", approved by %s (%s)", x.ApprovedBy, x.Approval)
			}
			fmt.Fprintf(w, "  %s/%s %s%s: %s until %s, owner %s, %d %s (%s) ./%s:%d\n", x.Team, x.App, x.Policy, scope, x.Status, x.Expires, owner,
				x.Matched, plural(x.Matched, "finding", "findings"), x.Reason, relPath(o.Cwd, x.Source.Filename), x.Source.Line)
		}
	}
	writeCosts(w, r.Costs)
	deny, warn, waived := r.Count()
	fmt.Fprintf(w, "linted %d %s, %d objects in %d clusters with %d policies: %d denied, %d warned, %d waived\n",
		o.Apps, plural(o.Apps, "app", "apps"), r.Objects, o.Clusters, len(r.Checks), deny, warn, waived)
	return nil
}

// clusterless replaces the cluster element of a rendered path, so the same
// finding in several clusters compares equal.
func clusterless(file, cluster string) string {
	if cluster == "" {
		return file
	}
	parts := strings.Split(file, "/")
	if len(parts) > 1 && parts[1] == cluster {
		parts[1] = "<cluster>"
	}
	return strings.Join(parts, "/")
}

func sameSource(a, b *diag.Position) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func sameObject(a, b *ObjectRef) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// writeCosts prints the monthly cost estimate per app and environment,
// and per team against its budget.
func writeCosts(w io.Writer, c Costs) {
	if len(c.Apps) == 0 {
		return
	}
	var envs []string
	for _, a := range c.Apps {
		for _, e := range a.Environments {
			if !slices.Contains(envs, e.Environment) {
				envs = append(envs, e.Environment)
			}
		}
	}
	slices.Sort(envs)
	fmt.Fprintln(w, "monthly cost ceiling (USD, max replicas × requests, and database instances × requests and storage, × platform prices):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  app\t%s\ttotal\tbudget\n", strings.Join(envs, "\t"))
	for _, a := range c.Apps {
		row := []string{a.Team + "/" + a.App}
		for _, env := range envs {
			v := "-"
			for _, e := range a.Environments {
				if e.Environment == env {
					v = fmt.Sprintf("%.2f", e.MonthlyUSD)
				}
			}
			row = append(row, v)
		}
		budget := "-"
		if a.BudgetUSD != nil {
			budget = fmt.Sprintf("%.2f", *a.BudgetUSD)
		}
		row = append(row, fmt.Sprintf("%.2f", a.MonthlyUSD), budget)
		fmt.Fprintf(tw, "  %s\n", strings.Join(row, "\t"))
	}
	for _, t := range c.Teams {
		fmt.Fprintf(tw, "  team %s\t%s\t%.2f\t%.2f\n", t.Team, strings.Repeat("\t", len(envs)-1), t.MonthlyUSD, t.BudgetUSD)
	}
	tw.Flush()
}
