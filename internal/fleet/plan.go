package fleet

import (
	"cmp"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/paved-dev/paved/schema"
)

// Root is one PATH of a run, in its source: the source identity, the
// path below the source's root ("." for the whole source) and the
// source's revision ("" outside git).
type Root struct{ Source, Path, Revision string }

// Covers reports whether an app of source at path p lies below the root.
func (r Root) Covers(source, p string) bool {
	return source == r.Source && (r.Path == "." || p == r.Path || strings.HasPrefix(p, r.Path+"/"))
}

// App is what a plan needs of an app the run renders.
type App struct {
	Team, Name string
	Source     string   // source identity
	Path       string   // app directory in its source
	DependsOn  []string // team/app, in the spec's order
	Clusters   []string // clusters it renders into
}

// ID is team/name.
func (a *App) ID() string { return a.Team + "/" + a.Name }

// PlanInput is what a run brings to the fleet.
type PlanInput struct {
	Fleet *Manifests // the fleet revision's ownership manifests
	Apps  []App      // the apps the run renders
	// Keep are apps of the run's PATHs that it does not render because
	// their inputs did not change (--changed): they stay as the fleet
	// holds them, and count as present for dependencies and tenants.
	Keep  []App
	Roots []Root // the run's PATHs
	// Adopt are apps (team/name) the run renders that it may take over
	// from the source that owns them in the fleet.
	Adopt []string
	// TeamSources are, per team, the source identity patterns
	// (path.Match globs) the platform lets write the team's apps: a
	// rendered app of a team whose patterns do not match its source is a
	// problem. nil checks nothing.
	TeamSources map[string][]string
	// Ancestry reports whether revision a of source is b or an ancestor
	// of b (gitsource.Ancestor), or an error when that cannot be
	// established. nil: no revision is compared (a fleet diff of a
	// directory of renders).
	Ancestry func(source, a, b string) (bool, error)
}

// Adoption is an app moving from another source to this run's.
type Adoption struct {
	App  string // team/name
	From string // the source that owned it
	Path string // its path there
}

func (a Adoption) String() string {
	return fmt.Sprintf("%s from %s (%s)", a.App, a.From, orDot(a.Path))
}

// Problem is why a run cannot change the fleet: an app another source
// owns, a dependency the fleet lacks, a dependency cycle through the
// fleet, an app others still depend on.
type Problem struct {
	App     string // team/name of a rendered app the problem is in, or ""
	Field   string // the spec field concerned (name, dependsOn[1]), or ""
	Message string
}

// PlanError lists the problems of a plan (exit code 2: invalid input).
type PlanError struct{ Problems []Problem }

func (e *PlanError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		if p.App != "" {
			b.WriteString(p.App + ": ")
		}
		if p.Field != "" {
			b.WriteString(p.Field + ": ")
		}
		b.WriteString(p.Message)
	}
	return b.String()
}

// TenantRef is one team's tenant in one cluster.
type TenantRef struct{ Team, Cluster string }

// Plan is what a run may do to a fleet revision. A fleet app is in the
// run's scope (Owns) when the run renders it and the fleet records this
// run's source for it (or it is adopted), or when the fleet records this
// run's source and a path below one of its roots. Only apps in scope are
// changed, pruned or shown as deleted; every other app is read, never
// written. Tenants follow the whole fleet after the change: a team keeps
// its tenant in a cluster while any app of the team, from any source, is
// there.
type Plan struct {
	owned map[string]bool
	// Removed are the apps in scope the run does not render: pruned.
	Removed []string
	// Adopted are the apps taken over from another source.
	Adopted []Adoption
	// Scope is how many fleet apps are in scope.
	Scope int
	// Tenants maps each team to the clusters where it has an app after
	// the change.
	Tenants map[string]map[string]bool
	// DeletedTenants are the tenants the fleet holds that no app needs
	// after the change.
	DeletedTenants []TenantRef
	// Stale are the run's sources whose revision is older than one the
	// fleet holds a render of: a run with any writes nothing.
	Stale []Stale
	// Revisions are the run's source revisions to record, by source.
	Revisions map[string]string
}

// Stale is a source the run renders an older revision of than the fleet
// holds.
type Stale struct{ Source, Fleet, Ours string }

func (s Stale) String() string {
	return fmt.Sprintf("the fleet holds a render of %s at %s, which is newer than this run's %s", s.Source, short(s.Fleet), short(s.Ours))
}

// RevisionError is a run whose source revision cannot be placed against
// the one the fleet holds (exit code 4): a shallow clone, a commit the
// clone lacks, or a history that diverged. Nothing is written: an older
// run would roll the fleet back.
type RevisionError struct {
	Source, Fleet, Ours string
	Err                 error
}

func (e *RevisionError) Error() string {
	ours := short(e.Ours)
	if ours == "" {
		ours = "no revision (not a git checkout)"
	}
	return fmt.Sprintf("the fleet holds a render of %s at %s; this run's revision is %s, and whether it is newer cannot be established (%v): "+
		"nothing is written, since an older run would roll the fleet back; check out the full history (actions/checkout with fetch-depth: 0, GIT_DEPTH: 0 in GitLab, or git fetch --unshallow) and re-run",
		e.Source, short(e.Fleet), ours, e.Err)
}

func (e *RevisionError) Unwrap() error { return e.Err }

func short(rev string) string { return rev[:min(len(rev), 12)] }

// Owns reports whether the fleet app team/name is in the run's scope.
func (p *Plan) Owns(id string) bool { return p.owned[id] }

// TenantKeeps reports whether a file of a team's tenant stays after the
// change: its cluster's while the team has an app there, the team's
// catalog Group while it has an app anywhere.
func (p *Plan) TenantKeeps(team, f string) bool {
	if c := TenantCluster(f); c != "" {
		return p.Tenants[team][c]
	}
	return len(p.Tenants[team]) > 0
}

// NewPlan decides what the run may change. Problems (claims, missing
// dependencies, cycles, apps still depended on) are a *PlanError.
func NewPlan(in PlanInput) (*Plan, error) {
	p := &Plan{owned: map[string]bool{}, Tenants: map[string]map[string]bool{}}
	if err := p.checkRevisions(in); err != nil {
		return nil, err
	}
	var problems []Problem
	rendered := map[string]*App{}
	for i := range in.Apps {
		rendered[in.Apps[i].ID()] = &in.Apps[i]
	}
	problems = append(problems, teamSources(in)...)
	adopt := map[string]bool{}
	for _, id := range in.Adopt {
		adopt[id] = true
		if rendered[id] == nil {
			problems = append(problems, Problem{Message: fmt.Sprintf("--adopt %s: this run does not render %s", id, id)})
		}
	}
	kept := map[string]*App{}
	for i := range in.Keep {
		k := &in.Keep[i]
		kept[k.ID()] = k
		if r := rendered[k.ID()]; r != nil {
			problems = append(problems, Problem{App: k.ID(), Field: "name", Message: fmt.Sprintf(
				"app %s is declared twice: here and at %s (unchanged, as the fleet holds it)", k.ID(), orDot(k.Path))})
		}
	}
	fleetIDs := sortedKeys(in.Fleet.Apps)
	for _, id := range fleetIDs {
		m := in.Fleet.Apps[id]
		src, at := m.SourceID(), m.SourcePath()
		if kept[id] != nil {
			continue // present and unchanged: not touched
		}
		if r := rendered[id]; r != nil {
			switch {
			case src == r.Source:
				p.owned[id] = true
			case adopt[id]:
				p.owned[id] = true
				p.Adopted = append(p.Adopted, Adoption{App: id, From: src, Path: at})
			default:
				problems = append(problems, Problem{App: id, Field: "name", Message: fmt.Sprintf(
					"app %s belongs to source %s (path %s) in the fleet: another source cannot write it; to move it here, pass --adopt %s",
					id, src, orDot(at), id)})
			}
			continue
		}
		for _, root := range in.Roots {
			if root.Covers(src, at) {
				p.owned[id] = true
				p.Removed = append(p.Removed, id)
				break
			}
		}
	}
	p.Scope = len(p.owned)

	// Flux Kustomization names are team-app: two apps of different teams
	// can need the same one (a/b-c, a-b/c).
	fluxOwner := map[string]string{}
	for _, id := range fleetIDs {
		m := in.Fleet.Apps[id]
		fluxOwner[schema.AppFluxName(m.Team, m.App)] = id
	}
	for _, id := range sortedKeys(rendered) {
		r := rendered[id]
		if other, ok := fluxOwner[schema.AppFluxName(r.Team, r.Name)]; ok && other != id && !p.owned[other] {
			problems = append(problems, Problem{App: id, Field: "name", Message: fmt.Sprintf(
				"app %s needs the Flux Kustomization %q, which app %s of source %s holds in the fleet: rename the app",
				id, schema.AppFluxName(r.Team, r.Name), other, in.Fleet.Apps[other].SourceID())})
		}
	}

	// The apps of the fleet after the change, with their dependencies.
	deps := map[string][]string{}
	for _, id := range fleetIDs {
		if !p.owned[id] {
			deps[id] = in.Fleet.Apps[id].DependsOn
		}
	}
	for id, r := range kept {
		deps[id] = r.DependsOn
	}
	for id, r := range rendered {
		deps[id] = r.DependsOn
	}
	for _, id := range sortedKeys(rendered) {
		for i, d := range rendered[id].DependsOn {
			if _, ok := deps[d]; !ok {
				problems = append(problems, Problem{App: id, Field: fmt.Sprintf("dependsOn[%d]", i), Message: fmt.Sprintf(
					"no app %s in this run or in the fleet", d)})
			}
		}
	}
	for _, removed := range p.Removed {
		for _, id := range fleetIDs {
			if _, after := deps[id]; !after || rendered[id] != nil {
				continue
			}
			if slices.Contains(deps[id], removed) {
				m := in.Fleet.Apps[id]
				problems = append(problems, Problem{Message: fmt.Sprintf(
					"removing %s, which app %s of source %s (path %s) still depends on: remove that dependency first",
					removed, id, m.SourceID(), orDot(m.SourcePath()))})
			}
		}
	}
	problems = append(problems, fleetCycles(deps, rendered)...)

	// Tenants, from every app of the fleet after the change.
	for _, r := range kept {
		for _, c := range r.Clusters {
			p.addTenant(r.Team, c)
		}
	}
	for _, r := range rendered {
		for _, c := range r.Clusters {
			p.addTenant(r.Team, c)
		}
	}
	for _, id := range fleetIDs {
		if p.owned[id] {
			continue
		}
		m := in.Fleet.Apps[id]
		for _, f := range m.Files {
			if parts := strings.Split(f, "/"); parts[0] == "apps" {
				p.addTenant(parts[2], parts[1])
			}
		}
		// Where its release waits for promotion, its tenant is ready.
		for _, c := range m.Clusters {
			p.addTenant(m.Team, c)
		}
	}
	for _, team := range sortedKeys(in.Fleet.Tenants) {
		seen := map[string]bool{}
		for _, f := range in.Fleet.Tenants[team].Files {
			c := TenantCluster(f)
			if c == "" {
				continue // the Group goes with the team's last tenant
			}
			if !seen[c] && !p.Tenants[team][c] {
				p.DeletedTenants = append(p.DeletedTenants, TenantRef{Team: team, Cluster: c})
			}
			seen[c] = true
		}
	}
	slices.SortFunc(p.DeletedTenants, func(a, b TenantRef) int {
		return strings.Compare(a.Team+"/"+a.Cluster, b.Team+"/"+b.Cluster)
	})
	if len(problems) > 0 {
		return nil, &PlanError{Problems: problems}
	}
	return p, nil
}

// Unrendered splits the fleet's apps a run does not render, as NewPlan
// judges them: those that stay after it (another source's apps, its own
// outside its PATHs, those it keeps unchanged) and those it removes (its
// source's apps below a PATH). A render counts the staying apps of the
// teams it touches in their tenants (render.Input.Fleet); the teams of the
// removed ones are touched too.
func Unrendered(ms *Manifests, rendered map[string]bool, keep []App, roots []Root) (staying, removed []*Manifest) {
	kept := map[string]bool{}
	for _, k := range keep {
		kept[k.ID()] = true
	}
	for _, id := range sortedKeys(ms.Apps) {
		m := ms.Apps[id]
		switch {
		case rendered[id]:
		case kept[id]:
			staying = append(staying, m)
		case slices.ContainsFunc(roots, func(r Root) bool { return r.Covers(m.SourceID(), m.SourcePath()) }):
			removed = append(removed, m)
		default:
			staying = append(staying, m)
		}
	}
	return staying, removed
}

// checkRevisions places each source revision of the run against every
// revision of that source the fleet records (its source record and its
// apps' manifests): older is Stale, unknown or diverged a
// *RevisionError. Revisions is what the run records after it.
func (p *Plan) checkRevisions(in PlanInput) error {
	p.Revisions = map[string]string{}
	for _, r := range in.Roots {
		if r.Revision != "" {
			p.Revisions[r.Source] = r.Revision
		}
	}
	if in.Ancestry == nil {
		return nil
	}
	held := map[string]map[string]bool{} // source -> fleet revisions
	hold := func(src, rev string) {
		if rev == "" {
			return
		}
		if held[src] == nil {
			held[src] = map[string]bool{}
		}
		held[src][rev] = true
	}
	for _, r := range in.Fleet.Sources {
		hold(r.Source, r.Revision)
	}
	for _, m := range in.Fleet.Apps {
		if m.Source != nil {
			hold(m.SourceID(), m.Source.Revision)
		}
	}
	seen := map[string]bool{}
	for _, root := range in.Roots {
		if seen[root.Source] {
			continue
		}
		seen[root.Source] = true
		for _, theirs := range sortedKeys(held[root.Source]) {
			ours := root.Revision
			if ours == theirs {
				continue
			}
			newer, err := in.Ancestry(root.Source, theirs, ours)
			if err == nil && newer {
				continue
			}
			older, err2 := in.Ancestry(root.Source, ours, theirs)
			if err2 == nil && older {
				p.Stale = append(p.Stale, Stale{Source: root.Source, Fleet: theirs, Ours: ours})
				break
			}
			cause := cmp.Or(err, err2)
			if cause == nil {
				cause = errors.New("the two revisions diverged: a rewritten history, or a run from another branch")
			}
			return &RevisionError{Source: root.Source, Fleet: theirs, Ours: ours, Err: cause}
		}
	}
	return nil
}

// teamSources are the problems of rendered apps whose team the platform
// does not let their source write.
func teamSources(in PlanInput) []Problem {
	if in.TeamSources == nil {
		return nil
	}
	var out []Problem
	for _, a := range in.Apps {
		pats := in.TeamSources[a.Team]
		if MatchSource(pats, a.Source) {
			continue
		}
		allowed := "none"
		if len(pats) > 0 {
			allowed = strings.Join(pats, ", ")
		}
		out = append(out, Problem{App: a.ID(), Field: "team", Message: fmt.Sprintf(
			"source %s may not write apps of team %s: the fleet's platform lets %s write them (teams.%s.sources); ask the platform team to add this source",
			a.Source, a.Team, allowed, a.Team)})
	}
	return out
}

// MatchSource reports whether a source identity matches one of the
// patterns: path.Match globs (* does not cross a /, so
// github.com/acme/* is the acme organisation's repositories), and "*"
// alone, any source (as Argo CD's sourceRepos).
func MatchSource(patterns []string, source string) bool {
	for _, pat := range patterns {
		if pat == "*" {
			return true
		}
		if ok, err := path.Match(pat, source); err == nil && ok {
			return true
		}
	}
	return false
}

func (p *Plan) addTenant(team, cluster string) {
	if p.Tenants[team] == nil {
		p.Tenants[team] = map[string]bool{}
	}
	p.Tenants[team][cluster] = true
}

// fleetCycles reports each dependency cycle through a rendered app once,
// at the first rendered app on it. Cycles among the run's own apps are
// found by vet (schema.CheckFleet) before a plan is made; these go
// through apps of other sources.
func fleetCycles(deps map[string][]string, rendered map[string]*App) []Problem {
	var out []Problem
	reported := map[string]bool{}
	state := map[string]int{}
	var stack []string
	var visit func(id string)
	visit = func(id string) {
		state[id] = 1
		stack = append(stack, id)
		for _, d := range deps[id] {
			if _, ok := deps[d]; !ok {
				continue
			}
			switch state[d] {
			case 0:
				visit(d)
			case 1:
				cyc := slices.Clone(stack[slices.Index(stack, d):])
				key := slices.Sorted(slices.Values(cyc))
				if reported[strings.Join(key, " ")] {
					continue
				}
				reported[strings.Join(key, " ")] = true
				at := ""
				for _, c := range key {
					if rendered[c] != nil {
						at = c
						break
					}
				}
				out = append(out, Problem{App: at, Field: "dependsOn", Message: "dependency cycle through the fleet: " + strings.Join(append(cyc, d), " -> ")})
			}
		}
		stack = stack[:len(stack)-1]
		state[id] = 2
	}
	for _, id := range sortedKeys(rendered) {
		if state[id] == 0 {
			visit(id)
		}
	}
	return out
}

// MassDeleteError stops a commit that would remove more than half of the
// apps in its scope, or any tenant, unless --allow-mass-delete.
type MassDeleteError struct {
	Removed []string
	Scope   int
	Tenants []TenantRef
	// Objects of the ScopeObjects objects the apps that stay in scope
	// apply would go (as Flux builds them: a patch that deletes objects
	// counts).
	Objects, ScopeObjects int
}

func (e *MassDeleteError) Error() string {
	var what []string
	if len(e.Removed) > 0 {
		what = append(what, fmt.Sprintf("remove %d of the %d apps in its scope (%s)", len(e.Removed), e.Scope, list(e.Removed)))
	}
	if len(e.Tenants) > 0 {
		var ts []string
		for _, t := range e.Tenants {
			ts = append(ts, t.Team+" in "+t.Cluster)
		}
		what = append(what, fmt.Sprintf("remove %d %s (%s)", len(e.Tenants), plural(len(e.Tenants), "tenant", "tenants"), list(ts)))
	}
	if e.Objects > 0 {
		what = append(what, fmt.Sprintf("delete %d of the %d objects the apps that stay in its scope apply, as Flux builds them (patches included)", e.Objects, e.ScopeObjects))
	}
	return "this commit would " + strings.Join(what, " and ") +
		": a wrong PATH or an empty checkout must not empty the fleet; if this is intended, re-run with --allow-mass-delete"
}

// MassDelete returns a *MassDeleteError when the plan removes more than
// half of the apps in its scope or any tenant, else nil.
func (p *Plan) MassDelete() error {
	if 2*len(p.Removed) <= p.Scope && len(p.DeletedTenants) == 0 {
		return nil
	}
	e := &MassDeleteError{Scope: p.Scope, Tenants: p.DeletedTenants}
	if 2*len(p.Removed) > p.Scope {
		e.Removed = p.Removed
	}
	return e
}

func list(s []string) string { return strings.Join(s, ", ") }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func orDot(p string) string {
	if p == "" {
		return "."
	}
	return p
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
}
