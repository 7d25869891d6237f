package diff

import (
	"fmt"
	"html"
	"io"
	"slices"
	"strings"

	"github.com/paved-dev/paved/policy"
)

// Marker starts the hidden first line of a PR comment written by paved:
// the sticky-comment finder looks for it. The line goes on with the
// source commit the comment was rendered for: `head=<sha> -->`.
const Marker = "<!-- paved:diff v1"

// MarkerLine is the first line of a comment for the given head commit.
func MarkerLine(head string) string {
	if head == "" {
		return Marker + " -->"
	}
	return Marker + " head=" + head + " -->"
}

// HeadOf returns the head commit a comment body was rendered for, and
// whether the body is paved's.
func HeadOf(body string) (string, bool) {
	line, _, _ := strings.Cut(body, "\n")
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), Marker)
	if !ok {
		return "", false
	}
	rest = strings.TrimSuffix(strings.TrimSpace(rest), "-->")
	head, _ := strings.CutPrefix(strings.TrimSpace(rest), "head=")
	return strings.TrimSpace(head), true
}

// DefaultBudget keeps a comment under GitHub's 65,536-byte limit.
const DefaultBudget = 65000

// MarkdownInput is everything the PR comment shows besides the changes.
type MarkdownInput struct {
	Meta
	// Source is the rendered source (repo@revision) and Head its full
	// revision.
	Source, Head string
	// Base is the pull request's base revision, if known.
	Base string
	// Versions of the engines, for the header.
	Versions string
	Lint     *policy.Report
	Before   policy.Costs
	After    policy.Costs
	// Budget is the byte budget (0: unbounded).
	Budget int
}

// maxBody caps one object's diff in the budgeted comment.
const maxBody = 8000

// Markdown writes the PR comment. Within the byte budget it always keeps
// the header, the summary, the whole danger zone and the denials; then one
// line per changed object; then diff bodies, changed objects before added
// ones, each capped; what does not fit is summarized with a count.
func Markdown(w io.Writer, r *Report, in MarkdownInput) error {
	var head strings.Builder
	head.WriteString(MarkerLine(in.Head) + "\n")
	total := len(r.Changes)
	deny, warn := 0, 0
	perCluster := map[string][2]int{}
	if in.Lint != nil {
		for _, f := range in.Lint.Findings {
			if f.Waived() {
				continue
			}
			x := perCluster[f.Cluster]
			if f.Severity == policy.Deny {
				deny++
				x[0]++
			} else {
				warn++
				x[1]++
			}
			perCluster[f.Cluster] = x
		}
	}
	fmt.Fprintf(&head, "### paved: %d rendered %s, %d policy %s\n\n", total, plural(total, "change", "changes"), deny+warn, plural(deny+warn, "finding", "findings"))
	if in.Base != "" {
		fmt.Fprintf(&head, "base `%s` · ", code(in.Base[:min(7, len(in.Base))]))
	}
	if len(in.Sources) > 0 {
		fmt.Fprintf(&head, "source `%s` · ", code(strings.Join(in.Sources, ", ")))
	}
	fmt.Fprintf(&head, "head `%s` · fleet `%s` (%s) · %s\n\n", code(in.Source), code(fleetRef(in.Meta)), code(in.Ref), esc(in.Versions))
	for _, a := range in.Adopted {
		fmt.Fprintf(&head, "**Adopts** `%s`: its files move to this source.\n\n", code(a))
	}
	if total == 0 && deny+warn == 0 {
		head.WriteString("No rendered changes.\n")
		_, err := io.WriteString(w, head.String())
		return err
	}
	sums := r.Summaries()
	clusters := map[string]bool{}
	for _, s := range sums {
		clusters[s.Cluster] = true
	}
	for c := range perCluster {
		if c != "" && !clusters[c] {
			sums = append(sums, Summary{Cluster: c})
		}
	}
	slices.SortFunc(sums, func(a, b Summary) int { return strings.Compare(a.Cluster, b.Cluster) })
	head.WriteString("| cluster | added | changed | deleted | danger | deny | warn |\n|---|--:|--:|--:|--:|--:|--:|\n")
	for _, s := range sums {
		pc := perCluster[s.Cluster]
		fmt.Fprintf(&head, "| %s | %d | %d | %d | %d | %d | %d |\n", esc(s.Cluster), s.Added, s.Changed, s.Deleted, s.Danger, pc[0], pc[1])
	}
	head.WriteString("\n")
	var danger []string
	for _, c := range r.Changes {
		for _, d := range c.Danger {
			danger = append(danger, fmt.Sprintf("- %s · %s `%s` %s: %s", esc(c.Cluster), c.Action, code(c.Key.String()), c.Action, esc(d)))
		}
	}
	if len(danger) > 0 {
		head.WriteString("> [!CAUTION]\n> **Danger zone**\n")
		for _, d := range danger {
			head.WriteString("> " + d + "\n")
		}
		head.WriteString("\n")
	}
	if in.Lint != nil && deny+warn > 0 {
		fmt.Fprintf(&head, "<details><summary>Policy: %d deny, %d warn</summary>\n\n| result | policy | cluster | object | message |\n|---|---|---|---|---|\n", deny, warn)
		for _, f := range in.Lint.Findings {
			if f.Waived() {
				continue
			}
			obj := ""
			if f.Object != nil {
				obj = f.Object.String()
			}
			fmt.Fprintf(&head, "| %s | `%s` | %s | `%s` | %s |\n", f.Severity, code(f.Policy), esc(f.Cluster), code(obj), esc(f.Message))
		}
		head.WriteString("\n</details>\n\n")
	}
	head.WriteString(costDelta(in.Before, in.After))

	var lines strings.Builder
	for _, c := range r.Changes {
		fmt.Fprintf(&lines, "- %s · %s `%s` +%d −%d\n", esc(c.Cluster), c.Action, code(c.Key.String()), c.Added, c.Removed)
	}
	// Bodies: changed objects first, then added, then deleted.
	order := slices.Clone(r.Changes)
	rank := map[Action]int{Changed: 0, Added: 1, Deleted: 2}
	slices.SortStableFunc(order, func(a, b Change) int { return rank[a.Action] - rank[b.Action] })

	var out strings.Builder
	out.WriteString(head.String())
	budget := in.Budget
	fits := func(n int) bool { return budget <= 0 || out.Len()+n <= budget }
	listing := "#### Changes\n" + lines.String() + "\n"
	if fits(len(listing)) {
		out.WriteString(listing)
	} else {
		fmt.Fprintf(&out, "_%d changed objects: the list does not fit in this comment; see the full report._\n\n", total)
	}
	omitted := 0
	for _, c := range order {
		body := c.Diff
		if budget > 0 && len(body) > maxBody {
			body = body[:strings.LastIndex(body[:maxBody], "\n")+1] + "... (truncated)\n"
		}
		fence := fenceFor(body)
		block := fmt.Sprintf("<details><summary>%s <code>%s</code> %s · +%d −%d</summary>\n\n%sdiff\n%s%s\n\n</details>\n", esc(c.Cluster), esc(c.Key.String()), c.Action, c.Added, c.Removed, fence, body, fence)
		const reserve = 200 // for the closing summary line
		if !fits(len(block) + reserve) {
			omitted++
			continue
		}
		out.WriteString(block)
	}
	if omitted > 0 {
		fmt.Fprintf(&out, "\n<sub>%d object diffs not shown to stay within the comment size; the full report has them all.</sub>\n", omitted)
	}
	if r.Noise > 0 {
		fmt.Fprintf(&out, "\n<sub>%d objects differ only in provenance annotations (not shown).</sub>\n", r.Noise)
	}
	_, err := io.WriteString(w, out.String())
	return err
}

func fleetRef(m Meta) string {
	if m.FleetRevision != "" {
		return m.Fleet + "@" + m.FleetRevision[:min(7, len(m.FleetRevision))]
	}
	return m.Fleet
}

// costDelta renders the monthly cost ceiling per app and environment,
// before → after, for apps whose cost changed.
func costDelta(before, after policy.Costs) string {
	type row struct{ app, env string }
	vals := map[row][2]float64{}
	var rows []row
	add := func(c policy.Costs, side int) {
		for _, a := range c.Apps {
			for _, e := range a.Environments {
				k := row{a.Team + "/" + a.App, e.Environment}
				if _, ok := vals[k]; !ok {
					rows = append(rows, k)
				}
				v := vals[k]
				v[side] = e.MonthlyUSD
				vals[k] = v
			}
		}
	}
	add(before, 0)
	add(after, 1)
	slices.SortFunc(rows, func(a, b row) int {
		if c := strings.Compare(a.app, b.app); c != 0 {
			return c
		}
		return strings.Compare(a.env, b.env)
	})
	var b strings.Builder
	for _, k := range rows {
		v := vals[k]
		if v[0] == v[1] {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("**Monthly cost ceiling** (USD)\n\n| app | environment | before | after | delta |\n|---|---|--:|--:|--:|\n")
		}
		fmt.Fprintf(&b, "| %s | %s | %.2f | %.2f | %+.2f |\n", esc(k.app), esc(k.env), v[0], v[1], v[1]-v[0])
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	return b.String()
}

// fenceFor returns a code fence longer than any run of backticks in s.
func fenceFor(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

// esc escapes text for Markdown tables and HTML blocks.
func esc(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(html.EscapeString(s))
}

// code makes s safe inside an inline code span in a table: no backticks,
// no pipes, no newlines, HTML escaped.
func code(s string) string {
	return strings.NewReplacer("`", "'", "|", `\|`, "\n", " ").Replace(html.EscapeString(s))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
