package render

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/paved-dev/paved/schema"
)

// Requests are what an app counts against its tenant's ResourceQuota in
// one cluster, at its ceiling: every pod it may run at once (a
// Deployment's maximum replicas, plus its rolling update's surge, plus a
// progressive rollout's canary beside the primary; a cron job's run, two
// when runs may overlap; each database instance) with its requests and
// limits, and the databases' volumes. The ownership manifest records them
// per cluster, so that a team's tenant can count the apps of every source
// (Input.Fleet).
type Requests struct {
	CPUMillicores       int64 `json:"cpuMillicores"`
	MemoryMiB           int64 `json:"memoryMiB"`
	LimitsCPUMillicores int64 `json:"limitsCPUMillicores"`
	LimitsMemoryMiB     int64 `json:"limitsMemoryMiB"`
	StorageGiB          int64 `json:"storageGiB"`
}

// Add returns the sum of two requests.
func (r Requests) Add(o Requests) Requests {
	return Requests{
		CPUMillicores:       r.CPUMillicores + o.CPUMillicores,
		MemoryMiB:           r.MemoryMiB + o.MemoryMiB,
		LimitsCPUMillicores: r.LimitsCPUMillicores + o.LimitsCPUMillicores,
		LimitsMemoryMiB:     r.LimitsMemoryMiB + o.LimitsMemoryMiB,
		StorageGiB:          r.StorageGiB + o.StorageGiB,
	}
}

// withHeadroom is r plus pct percent, rounded up.
func (r Requests) withHeadroom(pct int) Requests {
	up := func(x int64) int64 { return (x*int64(100+pct) + 99) / 100 }
	return Requests{
		CPUMillicores:       up(r.CPUMillicores),
		MemoryMiB:           up(r.MemoryMiB),
		LimitsCPUMillicores: up(r.LimitsCPUMillicores),
		LimitsMemoryMiB:     up(r.LimitsMemoryMiB),
		StorageGiB:          up(r.StorageGiB),
	}
}

// FleetApp is an app the fleet holds that a render does not render but
// that stays after the render's change (another source's app of a team
// the render touches, an app --changed left as it is): its team's
// tenants count it.
type FleetApp struct {
	Team, Name string
	// Clusters it is rendered into.
	Clusters []string
	// Requests per cluster, as its ownership manifest records them; nil
	// for a manifest written before paved recorded them.
	Requests map[string]Requests
}

// tenantUsage is what a team runs in one cluster: the sum of its apps'
// requests, how many apps, and how many of them record none.
type tenantUsage struct {
	sum        Requests
	apps       int
	unrecorded int
}

// containerDefaults are the LimitRange's defaults of the tenant (the
// smallest size class): what a container that states no limit gets.
type containerDefaults struct{ cpuMilli, memBytes int64 }

func limitDefaults(p *schema.Platform) containerDefaults {
	d := containerDefaults{cpuMilli: math.MaxInt64, memBytes: math.MaxInt64}
	for _, s := range p.Data.Sizes {
		d.cpuMilli = min(d.cpuMilli, 2*int64(s.CPUMillicores))
		d.memBytes = min(d.memBytes, int64(s.MemoryMiB)<<20)
	}
	if len(p.Data.Sizes) == 0 {
		d = containerDefaults{}
	}
	return d
}

// podResources are one pod's requests and limits (CPU in millicores,
// memory in bytes): the larger of its containers' sum and its largest
// init container, as the quota admission counts them.
type podResources struct{ cpu, mem, limCPU, limMem int64 }

func (p podResources) times(n int64) podResources {
	return podResources{p.cpu * n, p.mem * n, p.limCPU * n, p.limMem * n}
}

func (p podResources) add(o podResources) podResources {
	return podResources{p.cpu + o.cpu, p.mem + o.mem, p.limCPU + o.limCPU, p.limMem + o.limMem}
}

func podSpecResources(pod map[string]any, d containerDefaults) podResources {
	sum := func(key string) (total, largest podResources) {
		list, _ := pod[key].([]any)
		for _, x := range list {
			ct, _ := x.(map[string]any)
			c := containerResources(ct, d)
			total = total.add(c)
			largest = podResources{max(largest.cpu, c.cpu), max(largest.mem, c.mem), max(largest.limCPU, c.limCPU), max(largest.limMem, c.limMem)}
		}
		return total, largest
	}
	c, _ := sum("containers")
	_, i := sum("initContainers")
	return podResources{max(c.cpu, i.cpu), max(c.mem, i.mem), max(c.limCPU, i.limCPU), max(c.limMem, i.limMem)}
}

// containerResources reads a resources block (a container's, or a
// CloudNativePG Cluster's for each instance); a missing limit is the
// LimitRange's default.
func containerResources(ct map[string]any, d containerDefaults) podResources {
	req, _ := digMap(ct, "resources", "requests")
	lim, _ := digMap(ct, "resources", "limits")
	r := podResources{cpu: milli(req["cpu"]), mem: bytesOf(req["memory"]), limCPU: milli(lim["cpu"]), limMem: bytesOf(lim["memory"])}
	if _, ok := lim["cpu"]; !ok {
		r.limCPU = d.cpuMilli
	}
	if _, ok := lim["memory"]; !ok {
		r.limMem = d.memBytes
	}
	return r
}

// appRequests computes an app's Requests in one cluster from its objects
// as Flux applies them.
func appRequests(objs []Object, d containerDefaults) (Requests, error) {
	hpaMax := map[string]int64{}  // kind/name -> maxReplicas
	canaries := map[string]bool{} // kind/name of Flagger targets
	for _, o := range objs {
		switch o.Kind() {
		case "HorizontalPodAutoscaler":
			ref, _ := digMap(o, "spec", "scaleTargetRef")
			kind, _ := ref["kind"].(string)
			name, _ := ref["name"].(string)
			if n, ok := integer(dig(o, "spec", "maxReplicas")); ok {
				hpaMax[kind+"/"+name] = n
			}
		case "Canary":
			if g, _ := o.GroupVersion(); g == "flagger.app" {
				ref, _ := digMap(o, "spec", "targetRef")
				kind, _ := ref["kind"].(string)
				name, _ := ref["name"].(string)
				canaries[kind+"/"+name] = true
			}
		}
	}
	var pods podResources
	var storage int64
	for _, o := range objs {
		var pod map[string]any
		n := int64(1)
		key := o.Kind() + "/" + o.Name()
		g, _ := o.GroupVersion()
		switch {
		case g == "apps" && (o.Kind() == "Deployment" || o.Kind() == "StatefulSet" || o.Kind() == "ReplicaSet"):
			pod, _ = digMap(o, "spec", "template", "spec")
			if r, ok := integer(dig(o, "spec", "replicas")); ok {
				n = r
			}
			if r, ok := hpaMax[key]; ok {
				n = r
			}
			replicas := n
			if o.Kind() == "Deployment" {
				surge, err := deploymentSurge(o, replicas)
				if err != nil {
					return Requests{}, fmt.Errorf("%s: %w", o.ID(), err)
				}
				n += surge
				if canaries[key] {
					// Flagger's primary runs beside the canary: both
					// may reach the ceiling during an analysis.
					n += replicas
				}
			}
		case g == "batch" && o.Kind() == "Job":
			pod, _ = digMap(o, "spec", "template", "spec")
			if r, ok := integer(dig(o, "spec", "parallelism")); ok {
				n = r
			}
		case g == "batch" && o.Kind() == "CronJob":
			pod, _ = digMap(o, "spec", "jobTemplate", "spec", "template", "spec")
			if r, ok := integer(dig(o, "spec", "jobTemplate", "spec", "parallelism")); ok {
				n = r
			}
			if policy, _ := dig(o, "spec", "concurrencyPolicy").(string); policy != "Forbid" {
				n *= 2 // a run may start before the last one ends
			}
		case g == "" && o.Kind() == "Pod":
			pod, _ = digMap(o, "spec")
		case g == "postgresql.cnpg.io" && o.Kind() == "Cluster":
			spec, _ := digMap(o, "spec")
			if r, ok := integer(spec["instances"]); ok {
				n = r
			}
			pods = pods.add(containerResources(spec, d).times(n))
			for _, vol := range []string{"storage", "walStorage"} {
				if size, ok := dig(spec, vol, "size").(string); ok {
					storage += n * bytesOfString(size)
				}
			}
			continue
		default:
			continue
		}
		if pod != nil {
			pods = pods.add(podSpecResources(pod, d).times(n))
		}
	}
	return Requests{
		CPUMillicores:       pods.cpu,
		MemoryMiB:           ceilDiv(pods.mem, 1<<20),
		LimitsCPUMillicores: pods.limCPU,
		LimitsMemoryMiB:     ceilDiv(pods.limMem, 1<<20),
		StorageGiB:          ceilDiv(storage, 1<<30),
	}, nil
}

// deploymentSurge is how many pods a Deployment's rolling update adds
// above its replicas (maxSurge: a number, or a percentage rounded up;
// Kubernetes' default 25%).
func deploymentSurge(o Object, replicas int64) (int64, error) {
	strategy, _ := digMap(o, "spec", "strategy")
	if t, _ := strategy["type"].(string); t == "Recreate" {
		return 0, nil
	}
	v := dig(strategy, "rollingUpdate", "maxSurge")
	if v == nil {
		v = "25%"
	}
	if n, ok := integer(v); ok {
		return n, nil
	}
	s, _ := v.(string)
	pct, ok := strings.CutSuffix(s, "%")
	var p int64
	if _, err := fmt.Sscan(pct, &p); !ok || err != nil || p < 0 {
		return 0, fmt.Errorf("spec.strategy.rollingUpdate.maxSurge %v is not a number or a percentage", v)
	}
	return ceilDiv(replicas*p, 100), nil
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

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

func digMap(m map[string]any, keys ...string) (map[string]any, bool) {
	v, ok := dig(m, keys...).(map[string]any)
	return v, ok
}

func integer(v any) (int64, bool) {
	switch x := v.(type) {
	case interface{ Int64() (int64, error) }:
		n, err := x.Int64()
		return n, err == nil
	case float64:
		return int64(x), x == math.Trunc(x)
	case int:
		return int64(x), true
	case int64:
		return x, true
	}
	return 0, false
}

// milli is a CPU quantity in millicores, rounded up; 0 when absent or
// malformed (policy resource-requests judges those).
func milli(v any) int64 {
	switch x := v.(type) {
	case string:
		q, err := resource.ParseQuantity(x)
		if err != nil {
			return 0
		}
		return q.MilliValue()
	default:
		n, _ := integer(v)
		return n * 1000
	}
}

// bytesOf is a memory or storage quantity in bytes, rounded up.
func bytesOf(v any) int64 {
	switch x := v.(type) {
	case string:
		return bytesOfString(x)
	default:
		n, _ := integer(v)
		return n
	}
}

func bytesOfString(s string) int64 {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return 0
	}
	return q.Value()
}

// tenantQuota is the quota input of a team's tenant in one cluster: the
// sum of its apps' requests with the platform's headroom, or, when an
// app of the team there records none (its manifest predates them), what
// the team's budget buys, as paved computed it before (an upper bound
// that holds whatever the apps ask).
func tenantQuota(p *schema.Platform, team string, u tenantUsage) map[string]any {
	if u.unrecorded > 0 {
		t := p.Data.Teams[team]
		unit := p.Data.Prices.CPUCoreMonth + p.Data.Prices.MemoryGiBMonth
		units := t.MonthlyBudgetUSD / unit
		cpu := int64(math.Floor(units * 1000))
		mem := int64(math.Floor(units * 1024))
		return map[string]any{
			"cpuMillicores":       cpu,
			"memoryMiB":           mem,
			"limitsCPUMillicores": 2 * cpu,
			"limitsMemoryMiB":     mem,
			"storageGiB":          int64(math.Floor(t.MonthlyBudgetUSD / p.Data.Prices.StorageGiBMonth)),
			"basis": fmt.Sprintf("what the team's budget of $%g a month buys: %d of its %d %s here %s no requests (rendered by an older paved)",
				t.MonthlyBudgetUSD, u.unrecorded, u.apps, plural(u.apps, "app", "apps"), plural(u.unrecorded, "records", "record")),
		}
	}
	h := p.Data.Tenancy.QuotaHeadroomPercent
	q := u.sum.withHeadroom(h)
	return map[string]any{
		"cpuMillicores":       q.CPUMillicores,
		"memoryMiB":           q.MemoryMiB,
		"limitsCPUMillicores": q.LimitsCPUMillicores,
		"limitsMemoryMiB":     q.LimitsMemoryMiB,
		"storageGiB":          q.StorageGiB,
		"basis":               fmt.Sprintf("%d %s at the ceiling (maximum replicas, rollout surge and canary, database instances) + %d%% headroom", u.apps, plural(u.apps, "app's requests", "apps' requests"), h),
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// sortedFleet returns the fleet apps in team/name order.
func sortedFleet(apps []FleetApp) []FleetApp {
	out := slices.Clone(apps)
	slices.SortFunc(out, func(a, b FleetApp) int { return strings.Compare(a.Team+"/"+a.Name, b.Team+"/"+b.Name) })
	return out
}
