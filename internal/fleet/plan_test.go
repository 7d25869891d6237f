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
	p, err := NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered(ledger, ".", "payments/ledger")}, Roots: []Root{{ledger, "svc"}}})
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
	p, err = NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered(ledger, ".", "payments/ledger")}, Roots: []Root{{ledger, "."}}})
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
	in := PlanInput{Fleet: fl, Apps: []App{rendered(store, ".", "payments/ledger")}, Roots: []Root{{store, "."}}}
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
	_, err = NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered(store, ".", "a-b/c")}, Roots: []Root{{store, "."}}})
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
	_, err := NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered(store, ".", "payments/storefront", "payments/ledger", "search/gone")}, Roots: []Root{{store, "."}}})
	if got := problems(t, err); len(got) != 1 || got[0] != "payments/storefront dependsOn[1] no app search/gone in this run or in the fleet" {
		t.Fatalf("missing: %q", got)
	}
	// indexer drops query (storefront still needs it) and keeps loop.
	_, err = NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered(indexer, "loop", "search/loop", "payments/ledger")}, Roots: []Root{{indexer, "."}}})
	if got := problems(t, err); len(got) != 1 || !strings.Contains(got[0], "removing search/query, which app payments/storefront of source github.com/acme/storefront (path .) still depends on") {
		t.Fatalf("still depended on: %q", got)
	}
	// ledger starts depending on loop, which depends on ledger.
	_, err = NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered(ledger, ".", "payments/ledger", "search/loop")}, Roots: []Root{{ledger, "."}}})
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
	p, err := NewPlan(PlanInput{Fleet: fl, Roots: []Root{{store, "."}}})
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
	p, _ = NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered(indexer, "a", "search/a"), rendered(indexer, "b", "search/b")}, Roots: []Root{{indexer, "."}}})
	if err := p.MassDelete(); err != nil {
		t.Fatalf("1 of 3: %v", err)
	}
	p, _ = NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered(indexer, "a", "search/a")}, Roots: []Root{{indexer, "."}}})
	if err := p.MassDelete(); err == nil || !strings.Contains(err.Error(), "remove 2 of the 3 apps in its scope (search/b, search/c)") {
		t.Fatalf("2 of 3: %v", err)
	}
	// all three: the search tenant goes in both clusters.
	p, _ = NewPlan(PlanInput{Fleet: fl, Roots: []Root{{indexer, "."}}})
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
	p, err := NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered(indexer, "a", "search/a", "search/b")}, Keep: []App{keepB}, Roots: []Root{{indexer, "."}}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Owns("search/b") || !p.Owns("search/a") || !slices.Equal(p.Removed, []string{"search/gone"}) {
		t.Fatalf("owns b %v, a %v; removed %v", p.Owns("search/b"), p.Owns("search/a"), p.Removed)
	}
	_, err = NewPlan(PlanInput{Fleet: fl, Apps: []App{rendered(indexer, "c", "search/b")}, Keep: []App{keepB}, Roots: []Root{{indexer, "."}}})
	if got := problems(t, err); len(got) != 1 || !strings.Contains(got[0], "declared twice: here and at b") {
		t.Fatalf("twice: %q", got)
	}
}
