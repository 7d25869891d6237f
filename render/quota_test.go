package render_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/paved-dev/paved/render"
)

// quotaHard reads a tenant quota's spec.hard and its basis annotation.
func quotaHard(t *testing.T, tree *render.Tree, cluster, team string) (map[string]string, string) {
	t.Helper()
	f := fmt.Sprintf("tenants/%s/%s/core_v1_resourcequota_apps.yaml", cluster, team)
	data, ok := tree.Files[f]
	if !ok {
		t.Fatalf("no %s", f)
	}
	o, err := render.DecodeObject(data)
	if err != nil {
		t.Fatal(err)
	}
	hard := map[string]string{}
	spec, _ := o["spec"].(map[string]any)
	h, _ := spec["hard"].(map[string]any)
	for k, v := range h {
		hard[k], _ = v.(string)
	}
	md, _ := o["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	basis, _ := ann["paved.dev/quota-basis"].(string)
	return hard, basis
}

// onlyApp keeps the one example app team/name of in.
func onlyApp(t *testing.T, in render.Input, id string) render.Input {
	t.Helper()
	in.Apps = slices.DeleteFunc(slices.Clone(in.Apps), func(a render.App) bool { return a.Base.Team+"/"+a.Base.Name != id })
	if len(in.Apps) != 1 {
		t.Fatalf("no example %s", id)
	}
	return in
}

// TestTenantQuotaCountsTheFleet: a tenant's quota is the sum of its team's
// apps in the cluster with the platform's headroom, the apps the render
// renders and those of the fleet it is given (another source's, as their
// manifests record them) alike; a fleet app that records no requests (a
// manifest of an older paved) makes the tenant fall back to the
// budget-derived bound there; a team with only fleet apps in a cluster
// gets its tenant there too.
func TestTenantQuotaCountsTheFleet(t *testing.T) {
	in := onlyApp(t, loadExamples(t), "search/query-api")
	alone, err := render.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := quotaHard(t, alone, "prod-eu-1", "search")

	ledger := render.Requests{CPUMillicores: 1000, MemoryMiB: 1024, LimitsCPUMillicores: 2000, LimitsMemoryMiB: 1024, StorageGiB: 40}
	in.Fleet = []render.FleetApp{
		// Another source's app of search, in the prod clusters only.
		{Team: "search", Name: "ledger", Clusters: []string{"prod-eu-1", "prod-us-1"},
			Requests: map[string]render.Requests{"prod-eu-1": ledger, "prod-us-1": ledger}},
		// An app of search rendered by an older paved, in staging.
		{Team: "search", Name: "old", Clusters: []string{"staging-eu-1"}},
		// identity has no app in this render: its tenant in dev follows
		// its fleet app.
		{Team: "identity", Name: "auth", Clusters: []string{"dev-eu-1"},
			Requests: map[string]render.Requests{"dev-eu-1": {CPUMillicores: 400, MemoryMiB: 512, LimitsCPUMillicores: 800, LimitsMemoryMiB: 512}}},
	}
	tree, err := render.Render(in)
	if err != nil {
		t.Fatal(err)
	}

	// prod-eu-1: query-api's share (base / 1.25) plus ledger's, + 25%.
	got, basis := quotaHard(t, tree, "prod-eu-1", "search")
	milli := func(s string) int64 {
		var n int64
		if _, err := fmt.Sscanf(s, "%dm", &n); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		return n
	}
	own := milli(base["requests.cpu"]) * 100 / 125
	if want := (own + ledger.CPUMillicores) * 125 / 100; milli(got["requests.cpu"]) != want {
		t.Errorf("prod-eu-1 requests.cpu %s, want %dm (query-api %dm + ledger 1000m, + 25%%)", got["requests.cpu"], want, own)
	}
	if got["requests.storage"] != "50Gi" {
		t.Errorf("prod-eu-1 requests.storage %s, want 50Gi (ledger's 40 GiB + 25%%)", got["requests.storage"])
	}
	if !strings.HasPrefix(basis, "2 apps' requests at the ceiling") {
		t.Errorf("prod-eu-1 basis %q", basis)
	}
	// dev-eu-1: no fleet app of search there: as rendered alone.
	devAlone, _ := quotaHard(t, alone, "dev-eu-1", "search")
	if dev, _ := quotaHard(t, tree, "dev-eu-1", "search"); fmt.Sprint(dev) != fmt.Sprint(devAlone) {
		t.Errorf("dev-eu-1 quota %v, want it as rendered alone %v", dev, devAlone)
	}
	// staging-eu-1: an app without recorded requests: the budget's bound.
	st, basis := quotaHard(t, tree, "staging-eu-1", "search")
	if st["requests.cpu"] != "350877m" || !strings.Contains(basis, "1 of its 2 apps here records no requests") {
		t.Errorf("staging-eu-1 quota %v (%q), want the budget-derived 350877m ($10,000 / $28.50 per core and GiB)", st, basis)
	}
	// identity: a tenant in dev-eu-1 alone, from its fleet app.
	id, _ := quotaHard(t, tree, "dev-eu-1", "identity")
	if id["requests.cpu"] != "500m" || id["requests.memory"] != "640Mi" || id["requests.storage"] != "0Gi" {
		t.Errorf("identity in dev-eu-1: %v, want 500m/640Mi/0Gi", id)
	}
	for _, c := range []string{"staging-eu-1", "prod-eu-1", "prod-us-1"} {
		if _, ok := tree.Files["tenants/"+c+"/identity/core_v1_namespace_identity.yaml"]; ok {
			t.Errorf("identity has a tenant in %s, where it has no app", c)
		}
	}
}

// TestRequestsCountPatches: what an app counts against its quota is what
// Flux applies: a patch that raises a container's CPU raises the tenant's
// quota (3 pods: 2 replicas and 1 of surge).
func TestRequestsCountPatches(t *testing.T) {
	for _, c := range []struct {
		patch            string
		requests, limits string
	}{
		{"", "938m", "1875m"},     // 3 × 250m (limit 500m), + 25%
		{patch, "3750m", "7500m"}, // 3 × 1 CPU (limit 2), + 25%
	} {
		dir := t.TempDir()
		spec := "package app\n\napiVersion: \"paved.dev/v1alpha1\"\nname: \"web\"\nteam: \"payments\"\nkind: \"web\"\nimage: \"ghcr.io/acme/web:1.0.0\"\nport: 8080\n" + c.patch
		if err := os.WriteFile(filepath.Join(dir, "app.cue"), []byte(spec), 0o644); err != nil {
			t.Fatal(err)
		}
		tree, err := render.Render(loadApps(t, dir, "", 1))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := quotaHard(t, tree, "dev-eu-1", "payments"); got["requests.cpu"] != c.requests || got["limits.cpu"] != c.limits {
			t.Errorf("patch %q: quota %v, want requests.cpu %s, limits.cpu %s", c.patch, got, c.requests, c.limits)
		}
		if !bytes.Contains(tree.Files[".paved/apps/payments/web.json"], []byte(`"requests": {`)) {
			t.Errorf("the ownership manifest records no requests")
		}
	}
}

const patch = `patches: [{
	target: {kind: "Deployment", name: "web"}
	patch: """
		- op: replace
		  path: /spec/template/spec/containers/0/resources
		  value: {requests: {cpu: "1", memory: 256Mi}, limits: {cpu: "2", memory: 256Mi}}
		"""
}]
`
