package schema

import (
	"fmt"
	"slices"
	"strings"

	"github.com/paved-dev/paved/internal/diag"
)

// CheckFleet runs the checks that span apps: duplicate team/name, Flux
// object names that collide, dependsOn naming a missing app of the team,
// the app itself or forming a cycle, and secret env vars that map to the
// same ExternalSecret name.
func CheckFleet(p *Platform, apps []*App) diag.List {
	var diags diag.List
	byID := map[string]*App{}
	for _, a := range apps {
		id := a.Base.Team + "/" + a.Base.Name
		if prev, ok := byID[id]; ok {
			diags.Add("name", fmt.Sprintf("app %s is declared twice", id), a.Pos("name"), prev.Pos("name"))
			continue
		}
		byID[id] = a
	}
	// Flux Kustomization names: tenant-<team> and <team>-<app> must be unique.
	flux := map[string]string{}
	for _, t := range SortedKeys(p.Data.Teams) {
		flux[TenantFluxName(t)] = "team " + t
	}
	for _, a := range apps {
		n := AppFluxName(a.Base.Team, a.Base.Name)
		if other, ok := flux[n]; ok && other != "app "+a.Base.Team+"/"+a.Base.Name {
			diags.Add("name", fmt.Sprintf("app %s/%s and %s both need the Flux Kustomization and file name %q: rename the app", a.Base.Team, a.Base.Name, other, n), a.Pos("name"))
			continue
		}
		flux[n] = "app " + a.Base.Team + "/" + a.Base.Name
	}
	for _, a := range apps {
		for i, d := range a.Base.DependsOn {
			// Positions are looked up only for a problem: an app restored
			// from the cache compiles its CUE to answer them.
			at := fmt.Sprintf("dependsOn[%d]", i)
			switch {
			case d == a.Base.Name:
				diags.Add(at, "an app cannot depend on itself", a.Pos(at))
			case byID[a.Base.Team+"/"+d] == nil:
				diags.Add(at, fmt.Sprintf("no app %q in team %s", d, a.Base.Team), a.Pos(at))
			}
		}
		seen := map[string]string{}
		for _, k := range SortedKeys(a.Base.Secrets) {
			n := SecretObjectName(a.Base.Name, k)
			if strings.HasSuffix(n, "-") {
				diags.Add("secrets."+k, fmt.Sprintf("secret %s cannot name an ExternalSecret: use letters or digits in the variable name", k), a.Pos("secrets."+k))
				continue
			}
			if prev, ok := seen[n]; ok {
				diags.Add("secrets."+k, fmt.Sprintf("secrets %s and %s both become ExternalSecret %q: rename one", prev, k, n), a.Pos("secrets."+k))
			}
			seen[n] = k
		}
	}
	diags = append(diags, cycles(byID)...)
	return diags.Sanitize()
}

// cycles reports each dependsOn cycle once, at the app whose ID sorts first.
func cycles(byID map[string]*App) diag.List {
	var diags diag.List
	state := map[string]int{} // 0 new, 1 on stack, 2 done
	var stack []string
	var visit func(id string)
	visit = func(id string) {
		state[id] = 1
		stack = append(stack, id)
		a := byID[id]
		for _, d := range a.Base.DependsOn {
			did := a.Base.Team + "/" + d
			if byID[did] == nil || d == a.Base.Name {
				continue
			}
			switch state[did] {
			case 0:
				visit(did)
			case 1:
				i := slices.Index(stack, did)
				cyc := append(slices.Clone(stack[i:]), did)
				first := byID[did]
				diags.Add("dependsOn", "dependency cycle: "+strings.Join(cyc, " -> "), first.Pos("dependsOn"))
			}
		}
		stack = stack[:len(stack)-1]
		state[id] = 2
	}
	for _, id := range SortedKeys(byID) {
		if state[id] == 0 {
			visit(id)
		}
	}
	return diags
}

// TenantFluxName is the name of the Flux Kustomization of a team's tenant.
func TenantFluxName(team string) string { return "tenant-" + team }

// AppFluxName is the name of the Flux Kustomization of an app, and the base
// name of its file under clusters/<cluster>/paved/apps/.
func AppFluxName(team, app string) string { return team + "-" + app }

// SecretObjectName is the name of the ExternalSecret (and Secret) for the
// secret env var key of app. The blueprint computes the same name.
func SecretObjectName(app, key string) string {
	return app + "-" + strings.Trim(strings.ReplaceAll(strings.ToLower(key), "_", "-"), "-")
}
