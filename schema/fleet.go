package schema

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/internal/suggest"
)

// CheckFleet runs the checks that span the run's apps: duplicate
// team/name, Flux object names that collide, dependsOn naming the app
// itself, an app twice or a team the platform does not know, dependency
// cycles, and secret env vars that map to the same ExternalSecret name.
// A dependency outside the run is not an error here (see
// MissingDependencies).
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
		self := a.Base.Team + "/" + a.Base.Name
		listed := map[string]int{}
		for i, d := range a.Base.DependsOn {
			// Positions are looked up only for a problem: an app restored
			// from the cache compiles its CUE to answer them.
			at := fmt.Sprintf("dependsOn[%d]", i)
			id := DependencyID(a.Base.Team, d)
			team, _, _ := strings.Cut(id, "/")
			switch j, twice := listed[id]; {
			case id == self:
				diags.Add(at, "an app cannot depend on itself", a.Pos(at))
			case twice:
				diags.Add(at, fmt.Sprintf("%s is listed twice (dependsOn[%d])", id, j), a.Pos(at))
			case !hasTeam(p, team):
				d := diag.Diagnostic{Path: at, Message: fmt.Sprintf("no team %q in the platform (known: %s)", team, strings.Join(SortedKeys(p.Data.Teams), ", ")), Positions: []diag.Position{a.Pos(at)}}
				if s, ok := suggest.Nearest(team, SortedKeys(p.Data.Teams)); ok {
					_, name, _ := strings.Cut(id, "/")
					d.Message += didYouMeanValue(s)
					d.Fix = &diag.Fix{Kind: diag.ReplaceValue, Text: strconv.Quote(s + "/" + name)}
				}
				diags = append(diags, d)
			}
			listed[id] = i
		}
		diags = append(diags, secretsOutsideTeam(p, a)...)
		diags = append(diags, egressChecks(p, a)...)
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

func hasTeam(p *Platform, team string) bool {
	_, ok := p.Data.Teams[team]
	return ok
}

// MissingDependencies lists, as warnings, each dependsOn entry of apps
// that names no app among apps: offline (vet, lint, render of one
// repository) that is expected when the app lives in another repository;
// diff and commit resolve it against the fleet, where a missing one is an
// error.
func MissingDependencies(apps []*App) diag.List {
	var out diag.List
	have := map[string]bool{}
	for _, a := range apps {
		have[a.Base.Team+"/"+a.Base.Name] = true
	}
	for _, a := range apps {
		out = append(out, MissingDependenciesOf(a, have)...)
	}
	return out.Sanitize()
}

// MissingDependenciesOf is MissingDependencies for one app, the run's
// apps being have (team/name): what paved lsp reports for the app being
// edited, the run being its repository.
func MissingDependenciesOf(a *App, have map[string]bool) diag.List {
	var out diag.List
	for i, id := range a.Base.Dependencies() {
		if !have[id] && id != a.Base.Team+"/"+a.Base.Name {
			at := fmt.Sprintf("dependsOn[%d]", i)
			out.Add(at, fmt.Sprintf("no app %s in this run: diff and commit look for it in the fleet", id), a.Pos(at))
		}
	}
	return out
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
		for _, did := range a.Base.Dependencies() {
			if byID[did] == nil || did == id {
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

// DependencyID is the app (team/name) that the dependsOn entry ref of an
// app of team names: "name" is an app of the same team, "team/name"
// another team's.
func DependencyID(team, ref string) string {
	if strings.Contains(ref, "/") {
		return ref
	}
	return team + "/" + ref
}

// CallIDs are the apps (team/name) the spec calls, in order.
func (s Spec) CallIDs() []string {
	out := make([]string, len(s.Calls))
	for i, d := range s.Calls {
		out[i] = DependencyID(s.Team, d)
	}
	return out
}

// CatalogDependencies are the apps (team/name) the spec's catalog
// Component depends on: what it calls, then what it depends on, once each.
func (s Spec) CatalogDependencies() []string {
	var out []string
	for _, id := range append(s.CallIDs(), s.Dependencies()...) {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// Dependencies are the apps (team/name) the spec depends on, in order.
func (s Spec) Dependencies() []string {
	out := make([]string, len(s.DependsOn))
	for i, d := range s.DependsOn {
		out[i] = DependencyID(s.Team, d)
	}
	return out
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

// egressChecks reports each declared egress that names neither or both of
// host and cidr, and each egress outside the cluster without the
// justification the platform requires (network.internetEgress).
func egressChecks(p *Platform, a *App) diag.List {
	var diags diag.List
	for i, e := range a.Base.Egress {
		at := fmt.Sprintf("egress[%d]", i)
		switch {
		case e.Host == "" && e.CIDR == "":
			diags.Add(at, "an egress names a host (a DNS name) or a cidr (an address range)", a.Pos(at))
		case e.Host != "" && e.CIDR != "":
			diags.Add(at, "an egress names a host or a cidr, not both: make them two", a.Pos(at))
		case e.Internal() && p.Data.ReservedNamespace(strings.Split(e.Host, ".")[1]):
			// The platform's own namespaces (Flux's artifact server, the
			// API's system components, monitoring) are not a team's to
			// call: what an app needs of them paved renders itself.
			diags.Add(at+".host", fmt.Sprintf("egress to %s: namespace %s is the platform's, not a team's: an app reaches what it needs there (DNS, the tracing collector) without declaring it", e.Host, strings.Split(e.Host, ".")[1]), a.Pos(at))
		case !e.Internal() && p.Data.Network.InternetEgress == "justified" && e.Justification == "":
			diags.Add(at+".justification", fmt.Sprintf("egress to %s outside the cluster needs a justification: the platform requires one (network.internetEgress: justified)", e.Host+e.CIDR), a.Pos(at))
		}
	}
	return diags
}

// secretsOutsideTeam reports each secret reference of an app, in its base
// spec or an environment's, that lies outside its team's part of the store
// (<team>/...) and that the platform does not grant the team: one team's
// app must never read another team's secrets through the shared store.
func secretsOutsideTeam(p *Platform, a *App) diag.List {
	var diags diag.List
	team := a.Base.Team
	report := func(at, ref string) {
		pos, ok := a.FieldPos(at)
		if !ok {
			pos = a.Pos("secrets")
		}
		diags.Add(at, fmt.Sprintf("secret reference %q is outside team %s's part of the secret store (%s/...): an app reads only its own team's secrets; ask the platform team for a grant (secretStore.grants.%s) if it must", ref, team, team, team), pos)
	}
	for _, k := range SortedKeys(a.Base.Secrets) {
		if ref := a.Base.Secrets[k]; !p.SecretAllowed(team, ref) {
			report("secrets."+k, ref)
		}
	}
	envs, err := a.Envs()
	if err != nil {
		return diags
	}
	for _, env := range SortedKeys(envs) {
		for _, k := range SortedKeys(envs[env].Secrets) {
			ref := envs[env].Secrets[k]
			if p.SecretAllowed(team, ref) || a.Base.Secrets[k] == ref {
				continue // allowed, or the base's, reported once above
			}
			report("environments."+env+".secrets."+k, ref)
		}
	}
	return diags
}
