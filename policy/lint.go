package policy

import (
	"context"
	"errors"
	"fmt"
	"path"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/paved-dev/paved/internal/cache"
	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/internal/workpool"
	"github.com/paved-dev/paved/render"
	"github.com/paved-dev/paved/schema"
)

// ObjectRef names a rendered object.
type ObjectRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

// String is group/kind namespace/name (the core group is omitted).
func (o ObjectRef) String() string {
	return render.Object{"apiVersion": o.APIVersion, "kind": o.Kind, "metadata": map[string]any{"name": o.Name, "namespace": o.Namespace}}.ID()
}

// Finding is one policy result placed in the fleet.
type Finding struct {
	Policy      string     `json:"policy"`
	Severity    Severity   `json:"severity"`
	Message     string     `json:"message"`
	Team        string     `json:"team,omitempty"`
	App         string     `json:"app,omitempty"`
	Cluster     string     `json:"cluster,omitempty"`
	Environment string     `json:"environment,omitempty"`
	Object      *ObjectRef `json:"object,omitempty"`
	// File and Line locate the finding in the rendered fleet (fleet-relative
	// path; the line of the deepest part of Path the file holds).
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Path is the JSON path in the object, kubectl style.
	Path string `json:"path,omitempty"`
	// Source is the app.cue position of the field that produced the
	// finding, when one does.
	Source *diag.Position `json:"source,omitempty"`
	// Waiver is the exception that waives (or, expired, no longer waives)
	// the finding.
	Waiver *Waiver `json:"waiver,omitempty"`
	// appKind is the app's kind: field, which picked the blueprint: where
	// CI annotations point when no field of the spec produced the finding.
	appKind *diag.Position
}

// anchor is where an annotation for the finding belongs in the source
// tree: the field that produced it, else the app's kind: line, else
// nowhere (tenant and fleet findings).
func (f *Finding) anchor() *diag.Position {
	if f.Source != nil {
		return f.Source
	}
	return f.appKind
}

// Waived reports whether an active waiver covers the finding.
func (f *Finding) Waived() bool { return f.Waiver != nil && f.Waiver.Status == WaiverActive }

// Blocking reports whether the finding fails lint.
func (f *Finding) Blocking() bool { return f.Severity == Deny && !f.Waived() }

// Report is the outcome of a lint run.
type Report struct {
	Findings []Finding `json:"findings"`
	Waivers  []Waiver  `json:"waivers"`
	Costs    Costs     `json:"costs"`
	Checks   []*Check  `json:"-"`
	Objects  int       `json:"-"`
	Units    int       `json:"-"`
	// Distinct is the number of distinct objects the per-object
	// namespaces judged, Cached how many of them had their results in the
	// cache (LintOptions.Cache) and were not evaluated.
	Distinct, Cached int `json:"-"`
}

// Count returns the numbers of blocking denials, warnings and waived
// findings.
func (r *Report) Count() (deny, warn, waived int) {
	for i := range r.Findings {
		f := &r.Findings[i]
		switch {
		case f.Waived():
			waived++
		case f.Severity == Deny:
			deny++
		default:
			warn++
		}
	}
	return deny, warn, waived
}

// LintOptions configure Lint.
type LintOptions struct {
	// Today decides which waivers have expired (a waiver applies through
	// its expiry date) and how late an exception may end
	// (policy.waiverMaxDays).
	Today time.Time
	// Progress, when not nil, is told the number of evaluations once and
	// then called after each one (from the worker goroutines).
	Progress func(total int) func()
	// Consume says the caller reads no object of the tree after Lint, only
	// its files: Lint then drops each object once it holds it as an OPA
	// value (with render.Tree.ReleaseFileObjects), so that the fleet is
	// not held twice, and recovers from those values the few objects
	// findings are placed in.
	Consume bool
	// Cache, when not nil, holds the results of the per-object
	// namespaces by object, policies and data: an object evaluated before
	// with the same policies and data is not evaluated again.
	Cache *cache.Cache
	// Part, when not nil, judges one part of the run (lint --shard):
	// Lint's findings over the parts of a partition of the units, with
	// Fleet set in exactly one of them, are those of the whole run.
	Part *Part
}

// Part is a part of a lint run.
type Part struct {
	// Unit says which units' objects and directories the part judges
	// (their per-object and per-unit namespaces).
	Unit func(u render.Unit) bool
	// Fleet: the part evaluates the namespaces over the whole run
	// (budgets, the rules across apps); the tree must then hold every
	// app.
	Fleet bool
	// App says which apps' exceptions the part reports on (listed,
	// unused, expiring), except those for policies of the namespaces
	// over the whole run, which the Fleet part reports on.
	App func(team, app string) bool
}

// judges reports whether the part reports on waiver w.
func (pt *Part) judges(e *Engine, w *Waiver) bool {
	if c := e.checks[w.Policy]; c != nil && (c.Input == InputAll || c.Input == InputBudget) {
		return pt.Fleet
	}
	return pt.App(w.Team, w.App)
}

// objRef is an object of a built tree: unit and object index.
type objRef struct{ u, o int }

// Lint evaluates every policy over a built tree: each object, each
// kustomization directory and the cost report. Findings are placed (app,
// cluster, object, rendered file and line, app.cue position), waived by
// the apps' exceptions, and sorted. Invalid exceptions are a diag.List.
func (e *Engine) Lint(ctx context.Context, p *schema.Platform, tree *render.Tree, opts LintOptions) (*Report, error) {
	waivers, diags := e.collectWaivers(p, tree, opts.Today)
	if len(diags) > 0 {
		return nil, diags.Sanitize()
	}
	rep := &Report{Checks: e.Checks(), Costs: Estimate(p, tree), Units: len(tree.Units)}

	// Slots: one per object, one per unit, one for the budget.
	var objs []objRef
	for ui, u := range tree.Units {
		if opts.Part != nil && !opts.Part.Unit(u) {
			continue
		}
		for oi := range u.Objects {
			objs = append(objs, objRef{ui, oi})
		}
	}
	rep.Objects = len(objs)
	unitSlot := len(objs)
	budgetSlot := unitSlot + len(tree.Units)
	allSlot := budgetSlot + 1
	// Every object is converted to an OPA value once, identical objects
	// share one value, and every namespace reads those values.
	ids := objectIDs(tree)
	terms, err := objectTerms(tree, opts.Consume)
	if err != nil {
		return nil, err
	}
	built := builtObjects{tree: tree, terms: terms, ids: ids}
	// The result of a per-object namespace depends on the object alone:
	// an object rendered identically into several clusters (most objects
	// of prod-eu-1 and prod-us-1) is evaluated once, and one evaluated by
	// an earlier run with the same policies and data is not evaluated
	// again (resultcache.go).
	var uniq []distinctObject
	first := map[*ast.Term]int{} // shared value -> index in uniq
	for i, r := range objs {
		t := terms[r.u][r.o]
		if j, ok := first[t]; ok {
			uniq[j].slots = append(uniq[j].slots, i)
			continue
		}
		first[t] = len(uniq)
		uniq = append(uniq, distinctObject{term: t, slots: []int{i}})
	}
	var rc *resultCache
	if opts.Cache != nil && e.hasObjectSpaces() {
		rc = &resultCache{c: opts.Cache, e: e}
		workpool.Run(len(uniq), runtime.GOMAXPROCS(0), func(_, i int) {
			d := &uniq[i]
			sum, err := termDigest(d.term.Value)
			if err != nil {
				return // evaluated, not cached
			}
			d.sum, d.digested = sum, true
			d.cached, d.hit = rc.get(sum)
		})
	}
	rep.Distinct = len(uniq)
	for _, d := range uniq {
		if d.hit {
			rep.Cached++
		}
	}
	var jobs []job
	for _, ns := range e.spaces {
		switch ns.input {
		case InputObject:
			for _, d := range uniq {
				if !d.hit {
					jobs = append(jobs, job{ns: ns, input: d.term.Value, slot: d.slots[0], also: d.slots[1:]})
				}
			}
		case InputUnit:
			for ui, u := range tree.Units {
				if opts.Part != nil && !opts.Part.Unit(u) {
					continue
				}
				jobs = append(jobs, job{ns: ns, input: ast.NewObject(
					ast.Item(ast.InternedTerm("cluster"), ast.StringTerm(u.Cluster)),
					ast.Item(ast.InternedTerm("environment"), ast.StringTerm(u.Environment)),
					ast.Item(ast.InternedTerm("objects"), ast.ArrayTerm(terms[ui]...)),
				), slot: unitSlot + ui})
			}
		case InputBudget:
			if opts.Part != nil && !opts.Part.Fleet {
				continue
			}
			jobs = append(jobs, job{ns: ns, input: budgetInput(rep.Costs), slot: budgetSlot})
		case InputAll:
			if opts.Part != nil && !opts.Part.Fleet {
				continue
			}
			jobs = append(jobs, job{ns: ns, input: allInput(tree, terms), slot: allSlot})
		}
	}
	// The once-over-everything jobs (one input holding every object) are
	// the longest: start them first so the per-object jobs fill the other
	// workers meanwhile, instead of one core finishing them alone.
	slices.SortStableFunc(jobs, func(a, b job) int { return cmpLong(b.ns.input) - cmpLong(a.ns.input) })
	var done func()
	if opts.Progress != nil {
		done = opts.Progress(len(jobs))
	}
	results, err := e.runAll(ctx, jobs, allSlot+1, done)
	if err != nil {
		return nil, err
	}
	if rc != nil {
		workpool.Run(len(uniq), runtime.GOMAXPROCS(0), func(_, i int) {
			d := &uniq[i]
			if !d.hit && d.digested {
				// Only per-object namespaces write an object's slot.
				rc.put(d.sum, results[d.slots[0]])
			}
		})
		for _, d := range uniq {
			if d.hit {
				for _, s := range d.slots {
					results[s] = append(results[s], d.cached...)
				}
			}
		}
	}

	lines := lineIndex{tree: tree, nodes: map[string]*kyaml.Node{}}
	for slot, rs := range results {
		for _, r := range rs {
			var f Finding
			switch {
			case slot < unitSlot:
				ref := objs[slot]
				b := built.at(ref.u, ref.o)
				f = placeObject(r, tree.Units[ref.u], &b, &lines)
			case slot < budgetSlot:
				f = placeUnit(r, slot-unitSlot, built, &lines)
			case slot == budgetSlot:
				f = placeBudget(r, tree)
			default:
				f = placeAll(r, built, &lines)
			}
			rep.Findings = append(rep.Findings, f)
		}
	}
	var judge func(*Waiver) bool
	if opts.Part != nil {
		judge = func(w *Waiver) bool { return opts.Part.judges(e, w) }
	}
	rep.Waivers = applyWaivers(rep.Findings, waivers, opts.Today, e.settings.WaiverWarningDays, &rep.Findings, judge)
	sortFindings(rep.Findings)
	return rep, nil
}

// distinctObject is an object value and the object slots that hold it,
// with its digest and cached results when lint reads the cache.
type distinctObject struct {
	term     *ast.Term
	slots    []int
	sum      [32]byte
	digested bool
	cached   []result
	hit      bool
}

// hasObjectSpaces reports whether any namespace is evaluated per object.
func (e *Engine) hasObjectSpaces() bool {
	return slices.ContainsFunc(e.spaces, func(ns *namespace) bool { return ns.input == InputObject })
}

// cmpLong ranks inputs by how long one evaluation takes.
func cmpLong(in Input) int {
	switch in {
	case InputAll:
		return 2
	case InputBudget, InputUnit:
		return 1
	}
	return 0
}

// objectTerms converts every object of the tree to an OPA value, sharing
// equal parts (interner): equal objects are one term. The conversions run
// in parallel; the result is indexed by unit and object. With consume,
// each object is dropped from the tree once it is converted
// (LintOptions.Consume).
func objectTerms(tree *render.Tree, consume bool) ([][]*ast.Term, error) {
	if consume {
		tree.ReleaseFileObjects()
	}
	var refs []objRef
	terms := make([][]*ast.Term, len(tree.Units))
	for ui, u := range tree.Units {
		terms[ui] = make([]*ast.Term, len(u.Objects))
		for oi := range u.Objects {
			refs = append(refs, objRef{ui, oi})
		}
	}
	in := newInterner()
	errs := make([]error, len(refs))
	workpool.Run(len(refs), runtime.GOMAXPROCS(0), func(_, i int) {
		r := refs[i]
		b := &tree.Units[r.u].Objects[r.o]
		t, err := in.object(b.Object)
		if err != nil {
			errs[i] = fmt.Errorf("%s: object %d: %w", tree.Units[r.u].Dir, r.o, err)
			return
		}
		terms[r.u][r.o] = t
		if consume {
			b.Object = nil
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return terms, nil
}

// builtObjects gives placement the objects of the built tree, recovering
// those the tree released (LintOptions.Consume) from their OPA values.
type builtObjects struct {
	tree  *render.Tree
	terms [][]*ast.Term
	ids   [][]ObjectRef // each object's identity, for results that name one
}

// at returns the object oi of unit ui.
func (s builtObjects) at(ui, oi int) render.Built {
	b := s.tree.Units[ui].Objects[oi]
	if b.Object == nil {
		if v, err := ast.JSON(s.terms[ui][oi].Value); err == nil {
			m, _ := v.(map[string]any)
			b.Object = render.Object(m)
		}
	}
	return b
}

// objectIDs is the identity of every object of the tree, by unit and
// object index.
func objectIDs(tree *render.Tree) [][]ObjectRef {
	ids := make([][]ObjectRef, len(tree.Units))
	for ui, u := range tree.Units {
		ids[ui] = make([]ObjectRef, len(u.Objects))
		for oi, b := range u.Objects {
			ids[ui][oi] = *ref(b.Object)
		}
	}
	return ids
}

func base(r result, u render.Unit) Finding {
	f := Finding{Policy: r.check.ID, Severity: r.check.Severity, Message: r.msg, Team: u.Team, Cluster: u.Cluster, Environment: u.Environment}
	if u.App != nil {
		f.App = u.App.Base.Name
		pos := u.App.Pos("kind")
		f.appKind = &pos
	}
	return f
}

func ref(o render.Object) *ObjectRef {
	return &ObjectRef{APIVersion: o.APIVersion(), Kind: o.Kind(), Namespace: o.Namespace(), Name: o.Name()}
}

func placeObject(r result, u render.Unit, b *render.Built, lines *lineIndex) Finding {
	f := base(r, u)
	f.Object = ref(b.Object)
	f.Path = pathString(r.path)
	f.File = b.File
	if b.File == "" {
		f.File = u.Dir + "/kustomization.yaml"
	} else {
		f.Line = lines.line(b, r.path)
	}
	if pos, ok := sourcePos(u, b, r.path); ok {
		f.Source = &pos
	}
	return f
}

func placeUnit(r result, ui int, objs builtObjects, lines *lineIndex) Finding {
	u := objs.tree.Units[ui]
	if r.object != nil {
		for i, id := range objs.ids[ui] {
			if matchRef(id, r.object) {
				b := objs.at(ui, i)
				return placeObject(r, u, &b, lines)
			}
		}
	}
	f := base(r, u)
	f.File = u.Dir + "/kustomization.yaml"
	f.Path = pathString(r.path)
	return f
}

// placeAll places a result over the whole set by the cluster and object
// it names.
func placeAll(r result, objs builtObjects, lines *lineIndex) Finding {
	for ui, u := range objs.tree.Units {
		if u.Cluster != r.cluster || r.object == nil {
			continue
		}
		for i, id := range objs.ids[ui] {
			if matchRef(id, r.object) {
				b := objs.at(ui, i)
				return placeObject(r, u, &b, lines)
			}
		}
	}
	return Finding{Policy: r.check.ID, Severity: r.check.Severity, Message: r.msg, Cluster: r.cluster, Path: pathString(r.path)}
}

// allInput is the input of namespaces evaluated once over every object:
// {"units": [{"dir", "kind", "cluster", "environment", "team", "app",
// "objects"}]}, the objects being the shared terms.
func allInput(tree *render.Tree, terms [][]*ast.Term) ast.Value {
	units := make([]*ast.Term, len(tree.Units))
	for ui, u := range tree.Units {
		app := ""
		if u.Kind == render.UnitApp {
			app = path.Base(u.Dir)
			if u.App != nil {
				app = u.App.Base.Name // a preview's directory is not named after its app
			}
		}
		units[ui] = ast.ObjectTerm(
			ast.Item(ast.InternedTerm("dir"), ast.StringTerm(u.Dir)),
			ast.Item(ast.InternedTerm("kind"), ast.StringTerm(string(u.Kind))),
			ast.Item(ast.InternedTerm("cluster"), ast.StringTerm(u.Cluster)),
			ast.Item(ast.InternedTerm("environment"), ast.StringTerm(u.Environment)),
			ast.Item(ast.InternedTerm("team"), ast.StringTerm(u.Team)),
			ast.Item(ast.InternedTerm("app"), ast.StringTerm(app)),
			ast.Item(ast.InternedTerm("objects"), ast.ArrayTerm(terms[ui]...)),
		)
	}
	return ast.NewObject(ast.Item(ast.InternedTerm("units"), ast.ArrayTerm(units...)))
}

func matchRef(o ObjectRef, want map[string]any) bool {
	s := func(k string) string { v, _ := want[k].(string); return v }
	return o.Kind == s("kind") && o.Name == s("name") && o.Namespace == s("namespace") &&
		(s("apiVersion") == "" || s("apiVersion") == o.APIVersion)
}

func placeBudget(r result, tree *render.Tree) Finding {
	f := Finding{Policy: r.check.ID, Severity: r.check.Severity, Message: r.msg, Team: r.team, App: r.app}
	if r.app == "" {
		return f
	}
	for _, u := range tree.Units {
		if u.App != nil && u.Team == r.team && u.App.Base.Name == r.app {
			if pos, ok := u.App.FieldPos("budget.monthlyUSD"); ok {
				f.Source = &pos
			} else {
				pos := u.App.Pos("budget")
				f.Source = &pos
			}
			break
		}
	}
	return f
}

// SortFindings orders findings as a report does (sortFindings).
func SortFindings(fs []Finding) { sortFindings(fs) }

// sortFindings orders findings by app, cluster, source position, rendered
// file and line, then policy: never by evaluation order.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if c := strings.Compare(a.Team, b.Team); c != 0 {
			return c
		}
		if c := strings.Compare(a.App, b.App); c != 0 {
			return c
		}
		if c := strings.Compare(a.Cluster, b.Cluster); c != 0 {
			return c
		}
		as, bs := a.Source, b.Source
		switch {
		case as != nil && bs == nil:
			return -1
		case as == nil && bs != nil:
			return 1
		case as != nil:
			if c := strings.Compare(as.Filename, bs.Filename); c != 0 {
				return c
			}
			if c := as.Line - bs.Line; c != 0 {
				return c
			}
		}
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		if c := a.Line - b.Line; c != 0 {
			return c
		}
		if c := strings.Compare(a.Policy, b.Policy); c != 0 {
			return c
		}
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
}

// lineIndex finds lines in rendered files, parsing each file once.
type lineIndex struct {
	tree  *render.Tree
	nodes map[string]*kyaml.Node
}

// line is the line of the deepest part of p that the object's rendered
// file holds.
func (l *lineIndex) line(b *render.Built, p []any) int {
	file := b.File
	n, ok := l.nodes[file]
	if !ok {
		data, ok := l.tree.File(file)
		if !ok {
			// A file of a released read-only tree: the object's own
			// (render.Tree.ReleaseFileObjects).
			data, _ = render.EncodeObject(b.Object)
		}
		rn, err := kyaml.Parse(string(data))
		if err == nil {
			n = rn.YNode()
		}
		l.nodes[file] = n
	}
	if n == nil {
		return 1
	}
	line := max(n.Line, 1)
	for _, el := range p {
		var next *kyaml.Node
		switch n.Kind {
		case kyaml.MappingNode:
			k := fmt.Sprint(el)
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == k {
					line = n.Content[i].Line
					next = n.Content[i+1]
					break
				}
			}
		case kyaml.SequenceNode:
			if i, ok := pathIndex(el); ok && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
				line = next.Line
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return line
}

// Keep narrows the report to the given apps' findings, exceptions and
// costs (lint --changed).
func (r *Report) Keep(apps []*schema.App) {
	keep := map[string]bool{}
	for _, a := range apps {
		keep[a.Base.Team+"/"+a.Base.Name] = true
	}
	r.Findings = slices.DeleteFunc(r.Findings, func(f Finding) bool { return !keep[f.Team+"/"+f.App] })
	r.Waivers = slices.DeleteFunc(r.Waivers, func(w Waiver) bool { return !keep[w.Team+"/"+w.App] })
	r.Costs.Apps = slices.DeleteFunc(r.Costs.Apps, func(a AppCost) bool { return !keep[a.Team+"/"+a.App] })
	r.Costs.Teams = nil
}
