package schema

import (
	"fmt"
	"strconv"
	"strings"
)

// Known is a value the platform in force allows in a field of #App whose
// values come from the platform (a team, a size, a registry), and what
// the platform says of it.
type Known struct {
	// Value is the value as an app writes it, unquoted; an image
	// registry is a prefix of the image.
	Value string
	// Detail says what the value stands for ("250m CPU, 256Mi memory").
	Detail string
}

// KnownValues are the values the platform in force allows in the #App
// field at path (labels; "*" or any name for an environment, a database
// or a list element), and what they are called ("teams", "sizes"). It
// returns nil for a field whose values do not come from the platform:
// the schema's constraint says everything about those.
//
// `paved explain` lists them; `paved lsp` shows them on hover.
func (p *Platform) KnownValues(path []string) (what string, values []Known) {
	d := &p.Data
	// The path with an environment's, a database's and a list element's
	// own name made "*".
	var norm []string
	for i, s := range path {
		if i > 0 && (path[i-1] == "environments" || path[i-1] == "databases" || path[i-1] == "exceptions") {
			s = "*"
		}
		norm = append(norm, s)
	}
	switch key := strings.Join(norm, "."); key {
	case "team":
		for _, t := range SortedKeys(d.Teams) {
			team := d.Teams[t]
			detail := fmt.Sprintf("budget $%s a month", money(team.MonthlyBudgetUSD))
			if len(team.Owners) > 0 {
				detail += "; owners " + strings.Join(team.Owners, ", ")
			}
			values = append(values, Known{t, detail})
		}
		return "the platform's teams", values
	case "size", "environments.*.size", "databases.*.size", "environments.*.databases.*.size":
		for _, k := range SortedKeys(d.Sizes) {
			sz := d.Sizes[k]
			cost := float64(sz.CPUMillicores)/1000*d.Prices.CPUCoreMonth + float64(sz.MemoryMiB)/1024*d.Prices.MemoryGiBMonth
			values = append(values, Known{k, fmt.Sprintf("requests %dm CPU and %dMi memory (limits %dm, %dMi); $%s a month per replica",
				sz.CPUMillicores, sz.MemoryMiB, 2*sz.CPUMillicores, sz.MemoryMiB, money(cost))})
		}
		return "the platform's sizes", values
	case "image", "environments.*.image":
		for _, r := range d.Registries {
			values = append(values, Known{r, "an image starts with an allowed registry (policy allowed-registry)"})
		}
		return "the platform's allowed registries", values
	case "kind":
		for _, k := range Kinds {
			values = append(values, Known{k, kindDetail[k]})
		}
		return "the platform's blueprints", values
	case "environments", "exceptions.*.environment":
		for _, e := range SortedKeys(d.Environments) {
			values = append(values, Known{e, "clusters " + strings.Join(SortedKeys(d.Environments[e].Clusters), ", ")})
		}
		return "the platform's environments", values
	case "exceptions.*.cluster":
		for _, e := range SortedKeys(d.Environments) {
			for _, c := range SortedKeys(d.Environments[e].Clusters) {
				values = append(values, Known{c, "environment " + e})
			}
		}
		return "the platform's clusters", values
	case "system":
		for _, s := range SortedKeys(d.Catalog.Systems) {
			values = append(values, Known{s, d.Catalog.Systems[s].Description})
		}
		return "the platform's systems", values
	case "exceptions.*.approval":
		for _, id := range SortedKeys(d.Policy.Approvals) {
			a := d.Policy.Approvals[id]
			values = append(values, Known{id, fmt.Sprintf("%s/%s, policy %s, until %s, approved by %s", a.Team, a.App, a.Policy, a.Expires, a.ApprovedBy)})
		}
		return "the platform's approvals", values
	}
	return "", nil
}

var kindDetail = map[string]string{
	"web":    "an HTTP service: Deployment, Service, Ingress when asked, HPA, PDB",
	"worker": "a long-running consumer: Deployment, HPA, PDB; no Service but for its metrics",
	"cron":   "a scheduled job: CronJob",
}

// money writes an amount of dollars without a needless fraction.
func money(v float64) string {
	if v == float64(int64(v)) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
