// Package diff compares two built fleets object by object: what the fleet
// repository holds and what paved renders now. Changes are typed values
// (added, changed, deleted) with a danger classification and Secret values
// masked; each output format is one file (terminal, markdown, json).
package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"reflect"
	"slices"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"

	"github.com/paved-dev/paved/render"
	"github.com/paved-dev/paved/schema"
)

// Action is what happens to an object.
type Action string

const (
	Added   Action = "added"
	Changed Action = "changed"
	Deleted Action = "deleted"
)

// Key identifies an object in the fleet: the apiVersion is not part of
// it, so a version change is a change, not a deletion and an addition.
type Key struct {
	Cluster   string `json:"cluster"`
	Group     string `json:"group"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// String is group/Kind namespace/name.
func (k Key) String() string {
	gk := k.Kind
	if k.Group != "" {
		gk = k.Group + "/" + k.Kind
	}
	if k.Namespace != "" {
		return gk + " " + k.Namespace + "/" + k.Name
	}
	return gk + " " + k.Name
}

// Change is one object that differs.
type Change struct {
	Key
	Action Action `json:"action"`
	// APIVersion before and after ("" on the side the object is missing).
	APIBefore string `json:"apiVersionBefore,omitempty"`
	APIAfter  string `json:"apiVersionAfter,omitempty"`
	Team      string `json:"team,omitempty"`
	App       string `json:"app,omitempty"`
	File      string `json:"file"`
	// Danger lists why the change needs a human's attention: a deletion
	// that loses data or a whole tenant, an immutable field that forces a
	// replace.
	Danger []string `json:"danger,omitempty"`
	// Diff is the unified diff of the canonical YAML (Secret values
	// masked), each hunk header naming the YAML path it starts at.
	Diff           string `json:"diff"`
	Added, Removed int    `json:"-"`
	// hunks are Diff's hunks, each with its edits: what the compact
	// formats compare across objects to show an identical change once.
	hunks []hunk
	// owner is the app (or team, for a tenant) the object belongs to,
	// for the summary: a Flux Kustomization or catalog entry belongs to
	// its app even though no app directory holds it.
	owner owner
}

// owner names what a changed object belongs to: an app (team and app),
// a team's tenant (app ""), or the fleet (both "").
type owner struct{ team, app string }

// edit is one run of changed lines of a diff: the lines it removes and
// adds (without their -/+ marks or newlines), named by the YAML path of
// its first line.
type edit struct {
	path           string
	removed, added []string
}

// hunk is one hunk of a diff: where its text (header and lines) lies in
// the change's Diff, and its edits.
type hunk struct {
	start, end int
	edits      []edit
}

// text is the hunk's header and lines.
func (h hunk) text(c *Change) string { return c.Diff[h.start:h.end] }

// Report is every change between two fleets, sorted by cluster, then
// action-independent identity.
type Report struct {
	Changes []Change `json:"changes"`
	// Noise counts the objects of the apps (and tenants) that changed
	// whose only difference is provenance annotations
	// (paved.dev/source-revision, source-path), not shown. An app that
	// differs only in provenance (a new source revision alone) is not
	// counted: commit leaves it as it is, and --changed does not render
	// it, so a full diff and a --changed one say the same.
	Noise int `json:"noise"`
	// Apps says what changed in each app (or team's tenant) in words,
	// from the objects of both sides: the summary the comment and the
	// terminal start with. Policy findings and costs are added by the
	// formats, which have them.
	Apps []AppSummary `json:"-"`
	// Environments maps each cluster of either side to its environment.
	Environments map[string]string `json:"-"`
}

// Options tune Compute.
type Options struct {
	// Sizes are the platform's size classes, so that the summary names a
	// change of requests by its classes (size small → medium).
	Sizes map[string]schema.Size
}

// noiseAnnotations change on every render and say nothing about what Flux
// applies differently.
var noiseAnnotations = []string{"paved.dev/source-revision", "paved.dev/source-path"}

type entry struct {
	obj       render.Object
	file      string
	team, app string
	unit      render.UnitKind
}

// index lists every object of the units by key.
func index(units []render.Unit) map[Key]entry {
	out := map[Key]entry{}
	for _, u := range units {
		for _, b := range u.Objects {
			g, _ := b.Object.GroupVersion()
			k := Key{Cluster: u.Cluster, Group: g, Kind: b.Object.Kind(), Namespace: b.Object.Namespace(), Name: b.Object.Name()}
			e := entry{obj: b.Object, file: b.File, team: u.Team, unit: u.Kind}
			if u.Kind == render.UnitApp {
				e.app = path.Base(u.Dir)
			}
			if e.file == "" {
				e.file = u.Dir + "/kustomization.yaml"
			}
			out[k] = e
		}
	}
	return out
}

// Compute compares the built units of the fleet (before) with a render
// (after).
func Compute(before, after []render.Unit) (*Report, error) {
	return ComputeWith(before, after, Options{})
}

// ComputeWith is Compute with options.
func ComputeWith(before, after []render.Unit, opt Options) (*Report, error) {
	b, a := index(before), index(after)
	keys := map[Key]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range a {
		keys[k] = true
	}
	rep := &Report{Changes: []Change{}}
	noise := map[[2]string]int{} // team, app -> provenance-only objects
	for k := range keys {
		eb, inB := b[k]
		ea, inA := a[k]
		if inB && inA && reflect.DeepEqual(eb.obj, ea.obj) {
			continue // identical, noise included: nothing to render
		}
		var yb, ya string
		var err error
		if inB {
			if yb, err = canonical(eb.obj, nil); err != nil {
				return nil, fmt.Errorf("%s: %w", eb.file, err)
			}
		}
		if inA {
			var other render.Object
			if inB {
				other = eb.obj
			}
			if ya, err = canonical(ea.obj, other); err != nil {
				return nil, fmt.Errorf("%s: %w", ea.file, err)
			}
			if inB {
				// Mask the before side against the after side too, so an
				// unchanged Secret value reads the same on both.
				if yb, err = canonical(eb.obj, ea.obj); err != nil {
					return nil, err
				}
				yb = strings.ReplaceAll(yb, maskChanged, maskSame)
			}
		}
		c := Change{Key: k}
		if inA {
			c.owner = ownerOf(k, ea)
		} else {
			c.owner = ownerOf(k, eb)
		}
		switch {
		case inB && inA:
			if yb == ya {
				if !sameRaw(eb.obj, ea.obj) {
					noise[[2]string{ea.team, ea.app}]++
				}
				continue
			}
			c.Action, c.APIBefore, c.APIAfter = Changed, eb.obj.APIVersion(), ea.obj.APIVersion()
			c.Team, c.App, c.File = ea.team, ea.app, ea.file
			c.Danger = immutableChanges(k, eb.obj, ea.obj)
		case inA:
			c.Action, c.APIAfter = Added, ea.obj.APIVersion()
			c.Team, c.App, c.File = ea.team, ea.app, ea.file
		default:
			c.Action, c.APIBefore = Deleted, eb.obj.APIVersion()
			c.Team, c.App, c.File = eb.team, eb.app, eb.file
			c.Danger = deletionDanger(k)
		}
		c.Diff, c.hunks, c.Added, c.Removed = unified(c.File, yb, ya)
		rep.Changes = append(rep.Changes, c)
	}
	counted := map[[2]string]bool{}
	for _, c := range rep.Changes {
		if k := [2]string{c.Team, c.App}; !counted[k] {
			counted[k] = true
			rep.Noise += noise[k]
		}
	}
	slices.SortFunc(rep.Changes, func(x, y Change) int {
		for _, p := range [][2]string{{x.Cluster, y.Cluster}, {x.Team, y.Team}, {x.App, y.App}, {x.Group, y.Group}, {x.Kind, y.Kind}, {x.Namespace, y.Namespace}, {x.Name, y.Name}} {
			if c := strings.Compare(p[0], p[1]); c != 0 {
				return c
			}
		}
		return 0
	})
	rep.Environments = environments(before, after)
	rep.Apps = summarize(rep, b, a, opt)
	return rep, nil
}

// environments maps the clusters of the units to their environments.
func environments(sides ...[]render.Unit) map[string]string {
	out := map[string]string{}
	for _, units := range sides {
		for _, u := range units {
			if u.Environment != "" {
				out[u.Cluster] = u.Environment
			}
		}
	}
	return out
}

// ownerOf says what an object belongs to: the app whose directory holds
// it; else the app its paved.dev/team and paved.dev/app labels name (a
// Flux Kustomization in a cluster's entry point); else, in the catalog,
// the app of a Component and the team of a Group; else its unit's team.
func ownerOf(k Key, e entry) owner {
	if e.app != "" {
		return owner{e.team, e.app}
	}
	labels, _ := dig(e.obj, "metadata", "labels").(map[string]any)
	team, _ := labels["paved.dev/team"].(string)
	if app, _ := labels["paved.dev/app"].(string); team != "" && app != "" {
		return owner{team, app}
	}
	if e.unit == render.UnitCatalog && k.Group == "backstage.io" {
		switch k.Kind {
		case "Component":
			return owner{k.Namespace, k.Name}
		case "Group":
			return owner{k.Name, ""}
		}
	}
	if e.team != "" {
		return owner{e.team, ""}
	}
	return owner{team, ""}
}

// sameRaw reports whether two objects are identical including noise.
func sameRaw(a, b render.Object) bool {
	ya, err1 := yaml.Marshal(a)
	yb, err2 := yaml.Marshal(b)
	return err1 == nil && err2 == nil && string(ya) == string(yb)
}

const (
	maskSame    = "*** (masked)"
	maskChanged = "*** (masked, changed)"
)

// canonical is the object as sorted YAML without noise annotations and
// with every Secret value masked: a value that differs from other's is
// marked changed, so the diff shows which keys changed and never a value.
func canonical(o, other render.Object) (string, error) {
	cp := deepCopy(o)
	if md, ok := cp["metadata"].(map[string]any); ok {
		if ann, ok := md["annotations"].(map[string]any); ok {
			for _, n := range noiseAnnotations {
				delete(ann, n)
			}
			if len(ann) == 0 {
				delete(md, "annotations")
			}
		}
	}
	if o.Kind() == "Secret" && (o.APIVersion() == "v1") {
		for _, field := range []string{"data", "stringData"} {
			vals, _ := cp[field].(map[string]any)
			var prev map[string]any
			if other != nil {
				prev, _ = other[field].(map[string]any)
			}
			for k, v := range vals {
				if prev != nil && fmt.Sprint(prev[k]) != fmt.Sprint(v) {
					vals[k] = maskChanged
				} else {
					vals[k] = maskSame
				}
			}
		}
	}
	if o.Kind() == "ConfigMap" && o.APIVersion() == "v1" {
		// JSON documents (a dashboard) are shown indented, so that a
		// change diffs line by line rather than as one long line.
		vals, _ := cp["data"].(map[string]any)
		for k, v := range vals {
			if str, ok := v.(string); ok {
				vals[k] = indentJSON(str)
			}
		}
	}
	b, err := yaml.Marshal(cp)
	return string(b), err
}

// indentJSON returns s indented when it is a JSON object or array, else s.
func indentJSON(s string) string {
	t := strings.TrimSpace(s)
	if t == "" || t[0] != '{' && t[0] != '[' || !json.Valid([]byte(t)) {
		return s
	}
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(t), "", "  "); err != nil {
		return s
	}
	b.WriteByte('\n')
	return b.String()
}

func deepCopy(v render.Object) render.Object {
	var cp func(any) any
	cp = func(x any) any {
		switch t := x.(type) {
		case map[string]any:
			m := make(map[string]any, len(t))
			for k, v := range t {
				m[k] = cp(v)
			}
			return m
		case render.Object:
			return render.Object(cp(map[string]any(t)).(map[string]any))
		case []any:
			l := make([]any, len(t))
			for i, v := range t {
				l[i] = cp(v)
			}
			return l
		}
		return x
	}
	return render.Object(cp(map[string]any(v)).(map[string]any))
}

// deletionDanger flags deletions that lose data (a volume, a database),
// take a tenant with them, or hand a progressive rollout back to the
// Deployment.
func deletionDanger(k Key) []string {
	switch k.Kind {
	case "Namespace":
		return []string{"deleting a Namespace deletes everything in it"}
	case "PersistentVolumeClaim":
		return []string{"deleting a PersistentVolumeClaim may delete its volume and data"}
	case "StatefulSet":
		return []string{"deleting a StatefulSet stops its pods; its volume claims stay behind"}
	case "CustomResourceDefinition":
		return []string{"deleting a CustomResourceDefinition deletes every object of its kind"}
	case "Cluster":
		if k.Group == "postgresql.cnpg.io" {
			return []string{"deleting a CloudNativePG Cluster deletes the instances and volumes of the database: its data is gone but for the backups in the object store (commit needs --allow-database-delete)"}
		}
	case "Canary":
		if k.Group == "flagger.app" {
			return []string{"deleting a Flagger Canary (back to rolling) hands the Deployment and Service back to the app (revertOnDeletion), then deletes the primary Deployment and the Services Flagger generated: the app's pods are replaced and its Service is recreated on the next reconciliation"}
		}
	}
	return nil
}

// immutableChanges lists changes to fields the API server will not update
// in place: Flux must replace the object (force) or the apply fails.
func immutableChanges(k Key, before, after render.Object) []string {
	var out []string
	field := func(p ...string) bool {
		return fmt.Sprint(dig(before, p...)) != fmt.Sprint(dig(after, p...))
	}
	switch k.Kind {
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet":
		if field("spec", "selector") {
			out = append(out, "spec.selector is immutable: the "+k.Kind+" must be replaced")
		}
		if k.Kind == "StatefulSet" && field("spec", "volumeClaimTemplates") {
			out = append(out, "spec.volumeClaimTemplates is immutable: the StatefulSet must be replaced")
		}
	case "Service":
		if field("spec", "clusterIP") && dig(before, "spec", "clusterIP") != nil {
			out = append(out, "spec.clusterIP is immutable: the Service must be replaced")
		}
		if field("spec", "type") && (dig(before, "spec", "type") == "ExternalName" || dig(after, "spec", "type") == "ExternalName") {
			out = append(out, "changing spec.type to or from ExternalName replaces the Service")
		}
	case "Job":
		if field("spec", "template") {
			out = append(out, "a Job's spec.template is immutable: the Job must be replaced")
		}
	case "PersistentVolumeClaim":
		if field("spec", "storageClassName") {
			out = append(out, "spec.storageClassName is immutable: the claim must be replaced")
		}
	}
	return out
}

func dig(o render.Object, keys ...string) any {
	var cur any = map[string]any(o)
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

// unified returns the unified diff of two YAML documents, with each hunk
// header naming the YAML path of its first changed line, its hunks with
// their edits, and the numbers of added and removed lines. The hunks are
// go-difflib's (its matcher and grouping); the text is written as its
// WriteUnifiedDiff writes it (TestUnifiedMatchesDifflib), so that each
// hunk keeps its edits.
func unified(file, before, after string) (string, []hunk, int, int) {
	a, b := difflib.SplitLines(before), difflib.SplitLines(after)
	from, to := "a/"+file, "b/"+file
	if before == "" {
		a, from = nil, "/dev/null"
	}
	if after == "" {
		b, to = nil, "/dev/null"
	}
	groups := difflib.NewMatcher(a, b).GetGroupedOpCodes(3)
	if len(groups) == 0 {
		return "", nil, 0, 0
	}
	pathsA, pathsB := linePaths(before), linePaths(after)
	var out strings.Builder
	out.WriteString("--- " + from + "\n+++ " + to + "\n")
	var hunks []hunk
	added, removed := 0, 0
	for _, g := range groups {
		var h strings.Builder
		first, last := g[0], g[len(g)-1]
		fmt.Fprintf(&h, "@@ -%s +%s @@", rangeUnified(first.I1, last.I2), rangeUnified(first.J1, last.J2))
		var edits []edit
		for _, c := range g {
			if c.Tag == 'e' {
				continue
			}
			removedLines, addedLines := chomp(a[c.I1:c.I2]), chomp(b[c.J1:c.J2])
			if pairwise(removedLines, addedLines) {
				// Line by line (adjacent values that change alike):
				// an edit per line, so that each can be found on
				// other objects.
				for i := range removedLines {
					edits = append(edits, edit{path: pathAt(pathsA, c.I1+i+1), removed: removedLines[i : i+1], added: addedLines[i : i+1]})
				}
				continue
			}
			edits = append(edits, nodeEdits(removedLines, addedLines, pathsA, pathsB, c.I1, c.J1)...)
		}
		if len(edits) > 0 && edits[0].path != "" {
			h.WriteString(" " + edits[0].path)
		}
		h.WriteString("\n")
		for _, c := range g {
			if c.Tag == 'e' {
				for _, l := range a[c.I1:c.I2] {
					h.WriteString(" " + l)
				}
				continue
			}
			for _, l := range a[c.I1:c.I2] {
				h.WriteString("-" + l)
				removed++
			}
			for _, l := range b[c.J1:c.J2] {
				h.WriteString("+" + l)
				added++
			}
		}
		hunks = append(hunks, hunk{start: out.Len(), end: out.Len() + h.Len(), edits: edits})
		out.WriteString(h.String())
	}
	return out.String(), hunks, added, removed
}

// nodeEdits splits a run of changed lines (removed from line i1 on, 0-based,
// of the old document, added from line j1 on of the new one) into the
// edits of the YAML nodes it touches: each side's lines grouped by the
// node that starts on a group's first line (the lines after it lie inside
// that node), a removed and an added group of the same node paired as one
// edit, each other group an edit of its own. go-difflib reports an env
// entry added just before a changed image as one run; they are two edits,
// each under its own path (issue 28: the env entry was filed under the
// image's).
func nodeEdits(removed, added, pathsA, pathsB []string, i1, j1 int) []edit {
	type group struct {
		path  string
		lines []string
	}
	groups := func(lines, paths []string, start int) []group {
		var out []group
		for i, l := range lines {
			p := pathAt(paths, start+i+1)
			if n := len(out); n > 0 && within(p, out[n-1].path) {
				out[n-1].lines = append(out[n-1].lines, l)
				continue
			}
			out = append(out, group{path: p, lines: []string{l}})
		}
		return out
	}
	rg, ag := groups(removed, pathsA, i1), groups(added, pathsB, j1)
	if len(rg)+len(ag) <= 1 || len(rg) == 1 && len(ag) == 1 && rg[0].path == ag[0].path {
		e := edit{removed: removed, added: added}
		if len(rg) > 0 {
			e.path = rg[0].path
		} else if len(ag) > 0 {
			e.path = ag[0].path
		}
		return []edit{e}
	}
	// Pair the groups of one node in order; the others are removals and
	// additions where they stand.
	var out []edit
	ri := 0
	for _, g := range ag {
		k := slices.IndexFunc(rg[ri:], func(r group) bool { return r.path == g.path })
		if k < 0 {
			out = append(out, edit{path: g.path, added: g.lines})
			continue
		}
		for _, r := range rg[ri : ri+k] {
			out = append(out, edit{path: r.path, removed: r.lines})
		}
		out = append(out, edit{path: g.path, removed: rg[ri+k].lines, added: g.lines})
		ri += k + 1
	}
	for _, r := range rg[ri:] {
		out = append(out, edit{path: r.path, removed: r.lines})
	}
	return out
}

// within reports whether YAML path p is the node at path or inside it.
func within(p, node string) bool {
	if p == node {
		return true
	}
	return strings.HasPrefix(p, node) && len(p) > len(node) && (p[len(node)] == '.' || p[len(node)] == '[')
}

// pairwise reports whether a run of changed lines replaces its lines one
// for one: as many lines, each a scalar of the same key at the same
// indentation as the line it replaces.
func pairwise(removed, added []string) bool {
	if len(removed) < 2 || len(removed) != len(added) {
		return false
	}
	for i := range removed {
		k1, _, ok1 := splitLine(removed[i])
		k2, _, ok2 := splitLine(added[i])
		indent := func(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }
		if !ok1 || !ok2 || k1 != k2 || indent(removed[i]) != indent(added[i]) {
			return false
		}
	}
	return true
}

// rangeUnified is a hunk header's range, as difflib writes it.
func rangeUnified(start, stop int) string {
	beginning, length := start+1, stop-start
	if length == 1 {
		return fmt.Sprint(beginning)
	}
	if length == 0 {
		beginning--
	}
	return fmt.Sprintf("%d,%d", beginning, length)
}

// chomp returns copies of the lines without their trailing newline
// (copies: an edit outlives the document it comes from).
func chomp(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.Clone(strings.TrimSuffix(l, "\n"))
	}
	return out
}

// pathAt is the YAML path of a line (1-based): the node that starts on
// it, else the last node that starts before it (a line inside a block
// scalar belongs to the scalar's key).
func pathAt(paths []string, line int) string {
	if line >= len(paths) {
		line = len(paths) - 1
	}
	if line < 0 {
		return ""
	}
	return paths[line]
}

// linePaths maps each line (1-based) of a YAML document to the path of
// the node that starts on it, or on the closest line above that starts
// one. A list item that is a mapping with a name is named by it
// (spec.template.spec.containers[name=app].image), else by its index.
func linePaths(doc string) []string {
	if doc == "" {
		return nil
	}
	starts := map[int]string{}
	rn, err := kyaml.Parse(doc)
	if err == nil {
		var walk func(n *kyaml.Node, p string)
		walk = func(n *kyaml.Node, p string) {
			switch n.Kind {
			case kyaml.MappingNode:
				for i := 0; i+1 < len(n.Content); i += 2 {
					k, v := n.Content[i], n.Content[i+1]
					kp := k.Value
					if p != "" {
						kp = p + "." + k.Value
					}
					if _, ok := starts[k.Line]; !ok {
						starts[k.Line] = kp
					}
					walk(v, kp)
				}
			case kyaml.SequenceNode:
				for i, v := range n.Content {
					ip := fmt.Sprintf("%s[%d]", p, i)
					if name := itemName(v); name != "" {
						ip = p + "[name=" + name + "]"
					}
					if _, ok := starts[v.Line]; !ok {
						starts[v.Line] = ip
					}
					walk(v, ip)
				}
			}
		}
		walk(rn.YNode(), "")
	}
	n := strings.Count(doc, "\n") + 2
	out := make([]string, n)
	for i := 1; i < n; i++ {
		if p, ok := starts[i]; ok {
			out[i] = p
		} else {
			out[i] = out[i-1]
		}
	}
	return out
}

// itemName is the name of a list item that is a mapping with a scalar
// name (a container, an env var, a port), else "".
func itemName(n *kyaml.Node) string {
	if n.Kind != kyaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "name" && n.Content[i+1].Kind == kyaml.ScalarNode {
			return n.Content[i+1].Value
		}
	}
	return ""
}
