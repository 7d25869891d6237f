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
	// Full shows every object's whole diff, as --full and the full report
	// (--out-file) do, instead of showing shared edits once.
	Full bool
}

// maxBody caps one object's diff in the budgeted comment.
const maxBody = 8000

// Markdown writes the PR comment: a header naming the sources and the
// fleet; a summary in words per app (what changed of its image,
// scaling, size, env and secret keys, ingress, schedule, rollout,
// databases, objects, policy findings and cost); the danger zone (never
// truncated); a table per cluster and the policy findings; then the
// diffs. Compact (the default): an edit made identically on several
// objects is shown once with where it applies, objects changed only by
// such edits are counted, and each other object shows the hunks of its
// own, once for all the clusters where it changes alike. Full
// (in.Full): every object's whole diff, and the cost table.
//
// Within the byte budget the header, the danger zone, the table and the
// findings are always kept; then the summary, app by app; then shared
// edits; then one line per listed object and its diff, changed objects
// before added ones, each capped; what does not fit is counted.
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
	integrityMarkdown(&head, in.Integrity)
	for _, p := range in.Promotion {
		fmt.Fprintf(&head, "**Environments**: %s\n\n", esc(p))
	}
	if total == 0 && deny+warn == 0 {
		head.WriteString("No rendered changes.\n")
		_, err := io.WriteString(w, head.String())
		return err
	}

	// The parts that are always kept: the danger zone, the table, the
	// findings (and, in full, the cost table).
	var rest strings.Builder
	var danger []string
	for _, c := range r.Changes {
		for _, d := range c.Danger {
			danger = append(danger, fmt.Sprintf("- %s · %s `%s` %s: %s", esc(c.Cluster), c.Action, code(c.Key.String()), c.Action, esc(d)))
		}
	}
	if len(danger) > 0 {
		rest.WriteString("> [!CAUTION]\n> **Danger zone**\n")
		for _, d := range danger {
			rest.WriteString("> " + d + "\n")
		}
		rest.WriteString("\n")
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
	rest.WriteString("| cluster | added | changed | deleted | danger | deny | warn |\n|---|--:|--:|--:|--:|--:|--:|\n")
	for _, s := range sums {
		pc := perCluster[s.Cluster]
		fmt.Fprintf(&rest, "| %s | %d | %d | %d | %d | %d | %d |\n", esc(s.Cluster), s.Added, s.Changed, s.Deleted, s.Danger, pc[0], pc[1])
	}
	rest.WriteString("\n")
	if in.Lint != nil && deny+warn > 0 {
		fmt.Fprintf(&rest, "<details><summary>Policy: %d deny, %d warn</summary>\n\n| result | policy | cluster | object | message |\n|---|---|---|---|---|\n", deny, warn)
		for _, f := range in.Lint.Findings {
			if f.Waived() {
				continue
			}
			// The object, else the app a finding is about (an unused
			// exception has no object): never an empty code span, which
			// Markdown shows as two backticks.
			where := ""
			switch {
			case f.Object != nil:
				where = "`" + code(f.Object.String()) + "`"
			case f.App != "":
				where = "app `" + code(f.Team+"/"+f.App) + "`"
			}
			fmt.Fprintf(&rest, "| %s | `%s` | %s | %s | %s |\n", f.Severity, code(f.Policy), esc(f.Cluster), where, esc(f.Message))
		}
		rest.WriteString("\n</details>\n\n")
	}
	if in.Full {
		rest.WriteString(costDelta(in.Before, in.After))
	}

	var out strings.Builder
	out.WriteString(head.String())
	budget := in.Budget
	fits := func(n int) bool { return budget <= 0 || out.Len()+n <= budget }
	// The summary, app by app, as far as it fits beside what is always
	// kept.
	apps := WithFindings(r.Apps, in.Lint, in.Before, in.After)
	if len(apps) > 0 {
		const reserve = 300 // for the lines that count what is left out
		section := "#### Summary\n\n"
		shown := 0
		names := 10 // a group names its first apps, then counts them
		if in.Full {
			names = 0
		}
		for _, g := range groupSummaries(apps, r.Environments) {
			block := summaryBlock(g, names)
			if !fits(len(section) + len(block) + rest.Len() + reserve) {
				break
			}
			section += block
			shown += len(g.names)
		}
		if shown < len(apps) {
			section += fmt.Sprintf("_%d more %s changed: see the full report._\n\n", len(apps)-shown, plural(len(apps)-shown, "app", "apps"))
		}
		out.WriteString(section)
	}
	out.WriteString(rest.String())

	if in.Full {
		fullMarkdown(&out, r, fits, budget)
	} else {
		compactMarkdown(&out, compact(r), fits, budget)
	}
	if r.Noise > 0 {
		if !strings.HasSuffix(out.String(), "\n\n") {
			out.WriteString("\n")
		}
		fmt.Fprintf(&out, "<sub>%d objects differ only in provenance annotations (not shown).</sub>\n", r.Noise)
	}
	_, err := io.WriteString(w, out.String())
	return err
}

// summaryBlock is the summary of an app (or of apps that changed
// alike): the names, then a line per kind of change, each led by where
// it applies unless it applies everywhere.
func summaryBlock(g summaryGroup, names int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**\n", md(g.title(names)))
	for _, l := range g.lines {
		b.WriteString("- " + md(l) + "\n")
	}
	b.WriteString("\n")
	return b.String()
}

// compactMarkdown writes the shared edits once, counts the objects they
// explain, then lists the other objects with the hunks of their own.
func compactMarkdown(out *strings.Builder, v view, fits func(int) bool, budget int) {
	const reserve = 200 // for the closing summary lines
	if len(v.shared) > 0 {
		var list, blocks strings.Builder
		omitted := 0
		for _, s := range v.shared {
			where := s.where(codeSpan)
			if text, verb, ok := oneLine(s.edit); ok {
				line := "- " + codeSpan(text)
				if verb != "" {
					line += " " + verb
				}
				line += " " + where + "\n"
				if !fits(len("#### Changes made on several objects, shown once\n") + list.Len() + blocks.Len() + len(line) + reserve) {
					omitted++
					continue
				}
				list.WriteString(line)
				continue
			}
			body := s.lines()
			if budget > 0 && len(body) > maxBody {
				body = body[:strings.LastIndex(body[:maxBody], "\n")+1] + "... (truncated)\n"
			}
			fence := fenceFor(body)
			block := fmt.Sprintf("<details><summary><code>%s</code> %s · +%d −%d</summary>\n\n%sdiff\n%s%s\n\n</details>\n", esc(orTop(s.path)), esc(s.where(func(n string) string { return n })), len(s.added), len(s.removed), fence, body, fence)
			if !fits(len("#### Changes made on several objects, shown once\n") + list.Len() + blocks.Len() + len(block) + reserve) {
				omitted++
				continue
			}
			blocks.WriteString(block)
		}
		out.WriteString("#### Changes made on several objects, shown once\n")
		out.WriteString(list.String())
		if blocks.Len() > 0 {
			if list.Len() > 0 {
				out.WriteString("\n")
			}
			out.WriteString(blocks.String())
		}
		if omitted > 0 {
			fmt.Fprintf(out, "\n_%d more shared %s: see the full report._\n", omitted, plural(omitted, "change", "changes"))
		}
		out.WriteString("\n")
	}
	if v.counted > 0 {
		fmt.Fprintf(out, "%d changed %s no other change: counted, not listed (the full report lists %s).\n\n", v.counted, plural(v.counted, "object has", "objects have"), plural(v.counted, "it", "them"))
	}
	if len(v.listed) == 0 {
		return
	}
	// Bodies: changed objects first, then added, then deleted; an
	// object whose body does not fit is named in a list at the end, as
	// long as the names fit.
	order := make([]int, len(v.listed))
	for i := range order {
		order[i] = i
	}
	rank := map[Action]int{Changed: 0, Added: 1, Deleted: 2}
	slices.SortStableFunc(order, func(a, b int) int { return rank[v.listed[a].Action] - rank[v.listed[b].Action] })
	names := make([]string, len(v.listed))
	namesLen := 0
	for i, l := range v.listed {
		names[i] = fmt.Sprintf("- %s · %s `%s`\n", esc(clusterList(l.clusters)), l.Action, code(l.Key.String()))
		namesLen += len(names[i])
	}
	out.WriteString("#### Object diffs\n")
	shown := make([]bool, len(v.listed))
	for _, i := range order {
		l := v.listed[i]
		body := l.body
		if budget > 0 && len(body) > maxBody {
			body = body[:strings.LastIndex(body[:maxBody], "\n")+1] + "... (truncated)\n"
		}
		added, removed := countLines(l.body)
		note := ""
		if l.sharedHunks > 0 {
			note = fmt.Sprintf(" · %d shared %s above", l.sharedHunks, plural(l.sharedHunks, "hunk", "hunks"))
		}
		fence := fenceFor(body)
		block := fmt.Sprintf("<details><summary>%s <code>%s</code> %s · +%d −%d%s</summary>\n\n%sdiff\n%s%s\n\n</details>\n", esc(clusterList(l.clusters)), esc(l.Key.String()), l.Action, added, removed, note, fence, body, fence)
		if !fits(len(block) + namesLen - len(names[i]) + reserve) {
			continue
		}
		out.WriteString(block)
		shown[i] = true
		namesLen -= len(names[i])
	}
	omitted := 0
	for i := range v.listed {
		if !shown[i] {
			omitted++
		}
	}
	if omitted == 0 {
		return
	}
	if fits(namesLen + reserve) {
		fmt.Fprintf(out, "\nNot shown to stay within the comment size (the full report has them):\n")
		for i := range v.listed {
			if !shown[i] {
				out.WriteString(names[i])
			}
		}
		return
	}
	fmt.Fprintf(out, "\n<sub>%d object diffs not shown to stay within the comment size; the full report has them all.</sub>\n", omitted)
}

// fullMarkdown writes one line per changed object, then every object's
// whole diff (as far as the budget goes).
func fullMarkdown(out *strings.Builder, r *Report, fits func(int) bool, budget int) {
	total := len(r.Changes)
	var lines strings.Builder
	for _, c := range r.Changes {
		fmt.Fprintf(&lines, "- %s · %s `%s` +%d −%d\n", esc(c.Cluster), c.Action, code(c.Key.String()), c.Added, c.Removed)
	}
	// Bodies: changed objects first, then added, then deleted.
	order := slices.Clone(r.Changes)
	rank := map[Action]int{Changed: 0, Added: 1, Deleted: 2}
	slices.SortStableFunc(order, func(a, b Change) int { return rank[a.Action] - rank[b.Action] })
	listing := "#### Changes\n" + lines.String() + "\n"
	if fits(len(listing)) {
		out.WriteString(listing)
	} else {
		fmt.Fprintf(out, "_%d changed objects: the list does not fit in this comment; see the full report._\n\n", total)
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
		fmt.Fprintf(out, "\n<sub>%d object diffs not shown to stay within the comment size; the full report has them all.</sub>\n", omitted)
	}
}

// clusterList names up to three clusters, else counts them.
func clusterList(cs []string) string {
	if len(cs) > 3 {
		return fmt.Sprintf("%d clusters", len(cs))
	}
	return strings.Join(cs, ", ")
}

// orTop names the top of a document for an edit without a path.
func orTop(p string) string {
	if p == "" {
		return "(top)"
	}
	return p
}

// countLines counts the added and removed lines of a diff body.
func countLines(body string) (int, int) {
	added, removed := 0, 0
	for _, l := range strings.Split(body, "\n") {
		switch {
		case strings.HasPrefix(l, "+"):
			added++
		case strings.HasPrefix(l, "-"):
			removed++
		}
	}
	return added, removed
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
	return strings.Repeat("`", max(3, longestBackticks(s)+1))
}

// longestBackticks is the length of the longest run of backticks in s.
func longestBackticks(s string) int {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

// esc escapes text for Markdown tables and HTML blocks.
func esc(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(html.EscapeString(s))
}

// md escapes text for Markdown prose: HTML's <, > and &, and the
// characters that would start emphasis, code, a link, a table cell,
// strikethrough or a mention.
func md(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r':
			b.WriteByte(' ')
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case strings.ContainsRune("\\`*_[]|~@", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// codeSpan makes s an inline code span, whatever backticks it holds
// (content of a code span is never HTML nor Markdown).
func codeSpan(s string) string {
	s = strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
	fence := strings.Repeat("`", longestBackticks(s)+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
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
