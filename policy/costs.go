package policy

import (
	"maps"
	"math"
	"path"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/paved-dev/paved/render"
	"github.com/paved-dev/paved/schema"
)

// Costs is the monthly cost estimate of a rendered fleet: for each
// workload, its pod's requests × its replica ceiling (the HPA's
// maxReplicas, else spec.replicas; a Job's or CronJob's parallelism) ×
// the platform's prices, and for each database (a CloudNativePG Cluster)
// its instances × (an instance's requests × the prices + its volume ×
// the storage price), summed per app, environment, cluster and team.
// It is a ceiling: an app at its maximum scale all month.
type Costs struct {
	Apps  []AppCost  `json:"apps"`
	Teams []TeamCost `json:"teams"`
}

// AppCost is one app's estimate.
type AppCost struct {
	Team         string    `json:"team"`
	App          string    `json:"app"`
	MonthlyUSD   float64   `json:"monthlyUSD"`
	BudgetUSD    *float64  `json:"budgetUSD"`
	Environments []EnvCost `json:"environments"`
}

// EnvCost is an app's estimate in one environment.
type EnvCost struct {
	Environment string        `json:"environment"`
	MonthlyUSD  float64       `json:"monthlyUSD"`
	Clusters    []ClusterCost `json:"clusters"`
}

// ClusterCost is an estimate in one cluster.
type ClusterCost struct {
	Cluster    string  `json:"cluster"`
	MonthlyUSD float64 `json:"monthlyUSD"`
}

// TeamCost is a team's estimate against its platform budget.
type TeamCost struct {
	Team       string        `json:"team"`
	MonthlyUSD float64       `json:"monthlyUSD"`
	BudgetUSD  float64       `json:"budgetUSD"`
	Clusters   []ClusterCost `json:"clusters"`
}

// Estimate computes the cost report of a built tree.
func Estimate(p *schema.Platform, tree *render.Tree) Costs {
	var c Costs
	apps := map[string]*AppCost{}
	teams := map[string]map[string]float64{} // team -> cluster -> usd
	for _, u := range tree.Units {
		if u.Kind != render.UnitApp {
			continue
		}
		usd := unitCost(p, u)
		name := path.Base(u.Dir)
		if u.App != nil {
			name = u.App.Base.Name // a preview's directory is not named after its app
		}
		key := u.Team + "/" + name
		a := apps[key]
		if a == nil {
			a = &AppCost{Team: u.Team, App: name}
			apps[key] = a
		}
		if u.App != nil && u.App.Base.Budget != nil && a.BudgetUSD == nil {
			v := u.App.Base.Budget.MonthlyUSD
			a.BudgetUSD = &v
		}
		i := slices.IndexFunc(a.Environments, func(e EnvCost) bool { return e.Environment == u.Environment })
		if i < 0 {
			a.Environments = append(a.Environments, EnvCost{Environment: u.Environment})
			i = len(a.Environments) - 1
		}
		a.Environments[i].Clusters = append(a.Environments[i].Clusters, ClusterCost{Cluster: u.Cluster, MonthlyUSD: usd})
		if teams[u.Team] == nil {
			teams[u.Team] = map[string]float64{}
		}
		teams[u.Team][u.Cluster] += usd
	}
	for _, k := range slices.Sorted(maps.Keys(apps)) {
		a := apps[k]
		slices.SortFunc(a.Environments, func(x, y EnvCost) int { return strings.Compare(x.Environment, y.Environment) })
		for i := range a.Environments {
			e := &a.Environments[i]
			slices.SortFunc(e.Clusters, func(x, y ClusterCost) int { return strings.Compare(x.Cluster, y.Cluster) })
			for j := range e.Clusters {
				e.MonthlyUSD += e.Clusters[j].MonthlyUSD
				e.Clusters[j].MonthlyUSD = cents(e.Clusters[j].MonthlyUSD)
			}
			a.MonthlyUSD += e.MonthlyUSD
			e.MonthlyUSD = cents(e.MonthlyUSD)
		}
		a.MonthlyUSD = cents(a.MonthlyUSD)
		c.Apps = append(c.Apps, *a)
	}
	for _, team := range slices.Sorted(maps.Keys(teams)) {
		t := TeamCost{Team: team, BudgetUSD: p.Data.Teams[team].MonthlyBudgetUSD}
		for _, cl := range slices.Sorted(maps.Keys(teams[team])) {
			usd := teams[team][cl]
			t.Clusters = append(t.Clusters, ClusterCost{Cluster: cl, MonthlyUSD: cents(usd)})
			t.MonthlyUSD += usd
		}
		t.MonthlyUSD = cents(t.MonthlyUSD)
		c.Teams = append(c.Teams, t)
	}
	return c
}

func cents(x float64) float64 { return math.Round(x*100) / 100 }

// unitCost is the monthly cost ceiling of one app in one cluster.
func unitCost(p *schema.Platform, u render.Unit) float64 {
	hpaMax := map[string]float64{} // kind/name -> maxReplicas
	for _, b := range u.Objects {
		o := b.Object
		if o.Kind() != "HorizontalPodAutoscaler" {
			continue
		}
		ref, _ := dig(o, "spec", "scaleTargetRef").(map[string]any)
		kind, _ := ref["kind"].(string)
		name, _ := ref["name"].(string)
		if n, ok := number(dig(o, "spec", "maxReplicas")); ok {
			hpaMax[kind+"/"+name] = n
		}
	}
	var total float64
	for _, b := range u.Objects {
		o := b.Object
		var pod map[string]any
		replicas := 1.0
		switch o.Kind() {
		case "Deployment", "StatefulSet", "ReplicaSet":
			pod, _ = dig(o, "spec", "template", "spec").(map[string]any)
			if n, ok := number(dig(o, "spec", "replicas")); ok {
				replicas = n
			}
			if n, ok := hpaMax[o.Kind()+"/"+o.Name()]; ok {
				replicas = n
			}
		case "DaemonSet", "Pod":
			pod, _ = dig(o, "spec", "template", "spec").(map[string]any)
			if o.Kind() == "Pod" {
				pod, _ = dig(o, "spec").(map[string]any)
			}
		case "Job":
			pod, _ = dig(o, "spec", "template", "spec").(map[string]any)
			if n, ok := number(dig(o, "spec", "parallelism")); ok {
				replicas = n
			}
		case "CronJob":
			pod, _ = dig(o, "spec", "jobTemplate", "spec", "template", "spec").(map[string]any)
			if n, ok := number(dig(o, "spec", "jobTemplate", "spec", "parallelism")); ok {
				replicas = n
			}
		case "Cluster":
			if g, _ := o.GroupVersion(); g == "postgresql.cnpg.io" {
				total += databaseCost(p, o)
			}
			continue
		default:
			continue
		}
		cores, gib := podRequests(pod)
		total += replicas * (cores*p.Data.Prices.CPUCoreMonth + gib*p.Data.Prices.MemoryGiBMonth)
	}
	return total
}

// databaseCost is the monthly cost of a CloudNativePG Cluster: each
// instance is a pod with the cluster's requests and a volume of its
// storage size (spec.instances defaults to 1).
func databaseCost(p *schema.Platform, o render.Object) float64 {
	instances := 1.0
	if n, ok := number(dig(o, "spec", "instances")); ok {
		instances = n
	}
	req, _ := dig(o, "spec", "resources", "requests").(map[string]any)
	cores := quantity(req["cpu"])
	gib := quantity(req["memory"]) / (1 << 30)
	storage := quantity(dig(o, "spec", "storage", "size")) / (1 << 30)
	return instances * (cores*p.Data.Prices.CPUCoreMonth + gib*p.Data.Prices.MemoryGiBMonth + storage*p.Data.Prices.StorageGiBMonth)
}

// podRequests is a pod's effective CPU (cores) and memory (GiB) requests:
// the larger of the containers' sum and the largest init container.
func podRequests(pod map[string]any) (cores, gib float64) {
	sum := func(key string) (float64, float64, float64, float64) {
		var c, m, maxC, maxM float64
		list, _ := pod[key].([]any)
		for _, x := range list {
			ct, _ := x.(map[string]any)
			req, _ := dig(ct, "resources", "requests").(map[string]any)
			cc := quantity(req["cpu"])
			mm := quantity(req["memory"]) / (1 << 30)
			c += cc
			m += mm
			maxC = max(maxC, cc)
			maxM = max(maxM, mm)
		}
		return c, m, maxC, maxM
	}
	c, m, _, _ := sum("containers")
	_, _, ic, im := sum("initContainers")
	return max(c, ic), max(m, im)
}

func quantity(v any) float64 {
	switch x := v.(type) {
	case string:
		q, err := resource.ParseQuantity(x)
		if err != nil {
			return 0
		}
		return q.AsApproximateFloat64()
	default:
		n, _ := number(v)
		return n
	}
}

func dig(m map[string]any, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case interface{ Float64() (float64, error) }:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// budgetInput is the input of budget namespaces.
func budgetInput(c Costs) map[string]any {
	apps := []any{}
	for _, a := range c.Apps {
		envs := map[string]any{}
		for _, e := range a.Environments {
			envs[e.Environment] = e.MonthlyUSD
		}
		var budget any
		if a.BudgetUSD != nil {
			budget = *a.BudgetUSD
		}
		apps = append(apps, map[string]any{"team": a.Team, "app": a.App, "monthlyUSD": a.MonthlyUSD, "budgetUSD": budget, "environments": envs})
	}
	teams := []any{}
	for _, t := range c.Teams {
		cl := map[string]any{}
		for _, x := range t.Clusters {
			cl[x.Cluster] = x.MonthlyUSD
		}
		teams = append(teams, map[string]any{"team": t.Team, "monthlyUSD": t.MonthlyUSD, "budgetUSD": t.BudgetUSD, "clusters": cl})
	}
	return map[string]any{"apps": apps, "teams": teams}
}
