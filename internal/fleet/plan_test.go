package fleet

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// fleetOf builds the checked manifests of a fleet: apps "team/name" of a
// source at a path with dependencies, in the given clusters, and the
// tenants of their teams.
type fleetApp struct {
	id, source, path string
	deps             []string
}

func fleetOf(clusters []string, apps ...fleetApp) *Manifests {
	ms := &Manifests{Apps: map[string]*Manifest{}, Tenants: map[string]*Manifest{}}
	for _, a := range apps {
		team, name, _ := strings.Cut(a.id, "/")
		m := &Manifest{App: name, Team: team, Source: &ManifestSource{ID: a.source, Path: a.path}, DependsOn: a.deps}
		for _, c := range clusters {
			m.Files = append(m.Files, "apps/"+c+"/"+team+"/"+name+"/kustomization.yaml", "clusters/"+c+"/paved/apps/"+team+"-"+name+".yaml")
			t := ms.Tenants[team]
			if t == nil {
				t = &Manifest{Team: team, Files: []string{"catalog/" + team + "/_group.yaml"}}
				ms.Tenants[team] = t
			}
			if f := "clusters/" + c + "/paved/tenants/" + team + ".yaml"; !slices.Contains(t.Files, f) {
				t.Files = append(t.Files, f, "tenants/"+c+"/"+team+"/core_v1_namespace_"+team+".yaml")
			}
		}
		ms.Apps[a.id] = m
	}
	return ms
}

func rendered(source, path, id string, deps ...string) App {
	team, name, _ := strings.Cut(id, "/")
	return App{Team: team, Name: name, Source: source, Path: path, DependsOn: deps, Clusters: []string{"c1", "c2"}}
}

func problems(t *testing.T, err error) []string {
	t.Helper()
	var pe *PlanError
	if !errors.As(err, &pe) {
		t.Fatalf("want a PlanError, got %v", err)
	}
	var out []string
	for _, p := range pe.Problems {
		out = append(out, p.App+" "+p.Field+" "+p.Message)
	}
	return out
}

const (
	indexer = "github.com/acme/indexer"
	ledger  = "github.com/acme/ledger"
	store   = "github.com/acme/storefront"
)

var both = []string{"c1", "c2"}

// TestPlanScope: a run's scope is its own source's apps below its roots
// and the apps it renders; another source's apps are never in it, whatever
// their path.
func TestPlanScope(t *testing.T) {
	fl := fleetOf(both,
		fleetApp{id: "search/reindex", source: indexer, path: "."},
		fleetApp{id: "payments/ledger", source: ledger, path: "."},
		fleetApp{id: "payments/old", source: ledger, path: "svc/old"},
		fleetApp{id: "payments/keep", source: ledger, path: "other/keep"},
	)
	p, err := NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered(ledger, ".", "payments/ledger")}, Roots: []Root{{Source: ledger, Path: "svc"}}})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"payments/ledger": true, "payments/old": true, "payments/keep": false, "search/reindex": false} {
		if p.Owns(id) != want {
			t.Errorf("Owns(%s) = %v, want %v", id, !want, want)
		}
	}
	if !slices.Equal(p.Removed, []string{"payments/old"}) || p.Scope != 2 {
		t.Errorf("removed %v of %d", p.Removed, p.Scope)
	}
	// The whole repository: still only its own source.
	p, err = NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered(ledger, ".", "payments/ledger")}, Roots: []Root{{Source: ledger, Path: "."}}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Owns("search/reindex") || !slices.Equal(p.Removed, []string{"payments/keep", "payments/old"}) {
		t.Errorf("root . owns reindex %v, removes %v", p.Owns("search/reindex"), p.Removed)
	}
	if len(p.DeletedTenants) != 0 {
		t.Errorf("deleted tenants %v while ledger stays", p.DeletedTenants)
	}
}

// TestPlanClaims: an app another source owns is refused, with the owner
// named, unless adopted; a Flux name another app holds is refused.
func TestPlanClaims(t *testing.T) {
	fl := fleetOf(both, fleetApp{id: "payments/ledger", source: ledger, path: "svc"}, fleetApp{id: "a/b-c", source: ledger, path: "x"})
	in := PlanInput{Fleet: fl, Apps: []App{rendered(store, ".", "payments/ledger")}, Roots: []Root{{Source: store, Path: "."}}}
	_, err := NewPlan(in)
	got := problems(t, err)
	if len(got) != 1 || !strings.Contains(got[0], "payments/ledger name app payments/ledger belongs to source github.com/acme/ledger (path svc)") || !strings.Contains(got[0], "--adopt payments/ledger") {
		t.Fatalf("claim: %q", got)
	}
	in.Adopt = []string{"payments/ledger"}
	p, err := NewPlan(in)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Owns("payments/ledger") || len(p.Adopted) != 1 || p.Adopted[0].String() != "payments/ledger from github.com/acme/ledger (svc)" {
		t.Fatalf("adopted %v", p.Adopted)
	}
	in.Adopt = []string{"payments/nothere"}
	if got := problems(t, func() error { _, err := NewPlan(in); return err }()); !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "--adopt payments/nothere: this run does not render") }) {
		t.Fatalf("adopting an app not rendered: %q", got)
	}
	_, err = NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered(store, ".", "a-b/c")}, Roots: []Root{{Source: store, Path: "."}}})
	if got := problems(t, err); len(got) != 1 || !strings.Contains(got[0], `needs the Flux Kustomization "a-b-c", which app a/b-c of source github.com/acme/ledger holds`) {
		t.Fatalf("flux name: %q", got)
	}
}

// TestPlanDependencies: a dependency must be rendered or in the fleet
// after the change; an app still depended on cannot be removed; a cycle
// through another source's app is refused.
func TestPlanDependencies(t *testing.T) {
	fl := fleetOf(both,
		fleetApp{id: "payments/ledger", source: ledger, path: "."},
		fleetApp{id: "payments/storefront", source: store, path: ".", deps: []string{"payments/ledger", "search/query"}},
		fleetApp{id: "search/query", source: indexer, path: "query"},
		fleetApp{id: "search/loop", source: indexer, path: "loop", deps: []string{"payments/ledger"}},
	)
	_, err := NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered(store, ".", "payments/storefront", "payments/ledger", "search/gone")}, Roots: []Root{{Source: store, Path: "."}}})
	if got := problems(t, err); len(got) != 1 || got[0] != "payments/storefront dependsOn[1] no app search/gone in this run or in the fleet" {
		t.Fatalf("missing: %q", got)
	}
	// indexer drops query (storefront still needs it) and keeps loop.
	_, err = NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered(indexer, "loop", "search/loop", "payments/ledger")}, Roots: []Root{{Source: indexer, Path: "."}}})
	if got := problems(t, err); len(got) != 1 || !strings.Contains(got[0], "removing search/query, which app payments/storefront of source github.com/acme/storefront (path .) still depends on") {
		t.Fatalf("still depended on: %q", got)
	}
	// ledger starts depending on loop, which depends on ledger.
	_, err = NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered(ledger, ".", "payments/ledger", "search/loop")}, Roots: []Root{{Source: ledger, Path: "."}}})
	if got := problems(t, err); len(got) != 1 || got[0] != "payments/ledger dependsOn dependency cycle through the fleet: payments/ledger -> search/loop -> payments/ledger" {
		t.Fatalf("cycle: %q", got)
	}
}

// TestPlanTenants: a tenant stays while any app of its team, from any
// source, remains in the cluster; the mass-delete guard counts apps in
// scope and tenants.
func TestPlanTenants(t *testing.T) {
	fl := fleetOf(both,
		fleetApp{id: "payments/ledger", source: ledger, path: "."},
		fleetApp{id: "payments/storefront", source: store, path: "."},
		fleetApp{id: "search/a", source: indexer, path: "a"},
		fleetApp{id: "search/b", source: indexer, path: "b"},
		fleetApp{id: "search/c", source: indexer, path: "c"},
	)
	// storefront removes its only app: ledger keeps the tenant.
	p, err := NewPlan(PlanInput{Fleet: fl, Roots: []Root{{Source: store, Path: "."}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.DeletedTenants) != 0 || !p.Tenants["payments"]["c1"] || p.Tenants["search"] == nil {
		t.Fatalf("tenants %v, deleted %v", p.Tenants, p.DeletedTenants)
	}
	if !p.TenantKeeps("payments", "catalog/payments/_group.yaml") || !p.TenantKeeps("payments", "tenants/c2/payments/core_v1_namespace_payments.yaml") {
		t.Fatal("payments' tenant files do not stay while ledger does")
	}
	var md *MassDeleteError
	if !errors.As(p.MassDelete(), &md) || !slices.Equal(md.Removed, []string{"payments/storefront"}) || md.Scope != 1 || len(md.Tenants) != 0 {
		t.Fatalf("1 of 1 removed: %v", p.MassDelete())
	}
	// indexer removes one of three: fine; two of three: stopped.
	p, _ = NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered(indexer, "a", "search/a"), rendered(indexer, "b", "search/b")}, Roots: []Root{{Source: indexer, Path: "."}}})
	if err := p.MassDelete(); err != nil {
		t.Fatalf("1 of 3: %v", err)
	}
	p, _ = NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered(indexer, "a", "search/a")}, Roots: []Root{{Source: indexer, Path: "."}}})
	if err := p.MassDelete(); err == nil || !strings.Contains(err.Error(), "remove 2 of the 3 apps in its scope (search/b, search/c)") {
		t.Fatalf("2 of 3: %v", err)
	}
	// all three: the search tenant goes in both clusters.
	p, _ = NewPlan(PlanInput{Fleet: fl, Roots: []Root{{Source: indexer, Path: "."}}})
	if !slices.Equal(p.DeletedTenants, []TenantRef{{"search", "c1"}, {"search", "c2"}}) {
		t.Fatalf("deleted tenants %v", p.DeletedTenants)
	}
	if err := p.MassDelete(); err == nil || !strings.Contains(err.Error(), "remove 2 tenants (search in c1, search in c2)") {
		t.Fatalf("all: %v", err)
	}
	if p.TenantKeeps("search", "catalog/search/_group.yaml") || !p.TenantKeeps("payments", "catalog/payments/_group.yaml") {
		t.Fatal("the search Group stays without an app of search, or payments' goes")
	}
}

// TestPlanKeep: apps kept unchanged (--changed) are not touched, not
// pruned, count for dependencies and tenants, and may not be declared
// again by a rendered app.
func TestPlanKeep(t *testing.T) {
	fl := fleetOf(both,
		fleetApp{id: "search/a", source: indexer, path: "a"},
		fleetApp{id: "search/b", source: indexer, path: "b"},
		fleetApp{id: "search/gone", source: indexer, path: "gone"},
	)
	keepB := rendered(indexer, "b", "search/b")
	p, err := NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered(indexer, "a", "search/a", "search/b")}, Keep: []App{keepB}, Roots: []Root{{Source: indexer, Path: "."}}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Owns("search/b") || !p.Owns("search/a") || !slices.Equal(p.Removed, []string{"search/gone"}) {
		t.Fatalf("owns b %v, a %v; removed %v", p.Owns("search/b"), p.Owns("search/a"), p.Removed)
	}
	_, err = NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered(indexer, "c", "search/b")}, Keep: []App{keepB}, Roots: []Root{{Source: indexer, Path: "."}}})
	if got := problems(t, err); len(got) != 1 || !strings.Contains(got[0], "declared twice: here and at b") {
		t.Fatalf("twice: %q", got)
	}
}

// TestPlanTeamSources: the platform binds each team to the sources that
// may write its apps; a rendered app of a team that does not list its
// source is a problem at its team field, whatever the fleet holds.
func TestPlanTeamSources(t *testing.T) {
	fl := fleetOf(both)
	bind := map[string][]string{"payments": {"github.com/acme/ledger", "github.com/acme/pay-*"}, "search": {"*"}, "identity": nil}
	in := func(source, id string) PlanInput {
		return PlanInput{Fleet: fl, Apps: []App{rendered(source, ".", id)}, Roots: []Root{{Source: source, Path: "."}}, TeamSources: bind}
	}
	for _, ok := range []PlanInput{
		in(ledger, "payments/ledger"),
		in("github.com/acme/pay-api", "payments/api"),
		in("gitlab.com/anyone/x", "search/x"),
	} {
		if _, err := NewPlan(ok); err != nil {
			t.Errorf("%s of %s: %v", ok.Apps[0].ID(), ok.Apps[0].Source, err)
		}
	}
	for _, bad := range []PlanInput{
		in("github.com/evil/e", "payments/ledger"),
		in("github.com/acme/pay-api/extra", "payments/api"), // * does not cross a /
		in(ledger, "identity/auth"),                         // a team without sources
		in(ledger, "nobody/x"),                              // a team the platform lacks
	} {
		_, err := NewPlan(bad)
		got := problems(t, err)
		if len(got) != 1 || !strings.Contains(got[0], " team source "+bad.Apps[0].Source+" may not write apps of team") {
			t.Errorf("%s of %s: %q", bad.Apps[0].ID(), bad.Apps[0].Source, got)
		}
	}
	// nil bindings check nothing (a plan with no platform behind it).
	if _, err := NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered("github.com/evil/e", ".", "payments/ledger")}}); err != nil {
		t.Fatal(err)
	}
}

// TestPlanRevisions: a run's source revision is placed against every
// revision of that source the fleet records: newer or equal goes on,
// provably older is stale (the run writes nothing), and anything that
// cannot be placed (a shallow clone, a diverged history, no revision) is a
// RevisionError, never a write.
func TestPlanRevisions(t *testing.T) {
	// History: r1 <- r2 <- r3; x diverged from r1; s is beyond a shallow
	// boundary.
	parents := map[string]string{"r2": "r1", "r3": "r2", "x": "r1"}
	anc := func(_, a, b string) (bool, error) {
		if a == "s" || b == "s" || a == "" || b == "" {
			return false, errors.New("unknown: shallow")
		}
		for c := b; c != ""; c = parents[c] {
			if c == a {
				return true, nil
			}
		}
		return false, nil
	}
	fl := fleetOf(both, fleetApp{id: "payments/ledger", source: ledger, path: "."})
	fl.Apps["payments/ledger"].Source.Revision = "r1"
	fl.Sources = map[string]*SourceRecord{ledger: {Source: ledger, Revision: "r2"}}
	run := func(rev string) (*Plan, error) {
		return NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered(ledger, ".", "payments/ledger")}, Roots: []Root{{Source: ledger, Path: ".", Revision: rev}}, Ancestry: anc})
	}
	for _, rev := range []string{"r2", "r3"} {
		p, err := run(rev)
		if err != nil || len(p.Stale) != 0 || p.Revisions[ledger] != rev {
			t.Errorf("%s: %v, stale %v, records %v", rev, err, p.Stale, p.Revisions)
		}
	}
	p, err := run("r1") // the record (r2) is newer, though the app's manifest is r1
	if err != nil || len(p.Stale) != 1 || p.Stale[0] != (Stale{Source: ledger, Fleet: "r2", Ours: "r1"}) {
		t.Errorf("r1: %v, stale %v", err, p)
	}
	for _, rev := range []string{"x", "s", ""} {
		_, err := run(rev)
		var re *RevisionError
		if !errors.As(err, &re) || re.Source != ledger || !strings.Contains(err.Error(), "fetch-depth: 0") {
			t.Errorf("%q: want a RevisionError, got %v", rev, err)
		}
	}
	// Another source's revisions are not compared.
	p, err = NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered(store, "s", "payments/store")}, Roots: []Root{{Source: store, Path: ".", Revision: "s"}}, Ancestry: anc})
	if err != nil || len(p.Stale) != 0 {
		t.Errorf("another source: %v", err)
	}
}

// TestUnrendered: the fleet's apps a run does not render split as NewPlan
// scopes them: another source's apps, its own outside its roots and those
// it keeps stay (their tenants count them); its own below a root go.
func TestUnrendered(t *testing.T) {
	fl := fleetOf(both,
		fleetApp{id: "search/reindex", source: indexer, path: "."},
		fleetApp{id: "payments/ledger", source: ledger, path: "svc/ledger"},
		fleetApp{id: "payments/old", source: ledger, path: "svc/old"},
		fleetApp{id: "payments/kept", source: ledger, path: "svc/kept"},
		fleetApp{id: "payments/other", source: ledger, path: "other"},
	)
	staying, removed := Unrendered(fl, map[string]bool{"payments/ledger": true},
		[]App{rendered(ledger, "svc/kept", "payments/kept")}, []Root{{Source: ledger, Path: "svc"}})
	ids := func(ms []*Manifest) (out []string) {
		for _, m := range ms {
			out = append(out, m.ID())
		}
		return out
	}
	if got := ids(staying); !slices.Equal(got, []string{"payments/kept", "payments/other", "search/reindex"}) {
		t.Errorf("staying %v", got)
	}
	if got := ids(removed); !slices.Equal(got, []string{"payments/old"}) {
		t.Errorf("removed %v", got)
	}
}
