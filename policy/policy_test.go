package policy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"
	"sigs.k8s.io/yaml"

	"github.com/paved-dev/paved/internal/discover"
	"github.com/paved-dev/paved/policy"
	"github.com/paved-dev/paved/render"
	"github.com/paved-dev/paved/schema"
)

var today = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func defaultPlatform(t testing.TB) *schema.Platform {
	t.Helper()
	p, err := schema.LoadPlatform("")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t testing.TB, p *schema.Platform) *policy.Engine {
	t.Helper()
	e, err := policy.Load(context.Background(), policy.Options{Platform: p})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var examples struct {
	sync.Mutex
	p    *schema.Platform
	tree *render.Tree
}

// renderExamples renders every example app on the given platform's
// defaults, once per test binary, and returns a deep copy of the units
// (tests mutate objects).
func renderExamples(t testing.TB, p *schema.Platform) *render.Tree {
	t.Helper()
	examples.Lock()
	defer examples.Unlock()
	if examples.tree == nil {
		found, diags := discover.Apps([]string{"../examples"})
		if len(diags) > 0 {
			t.Fatal(diags)
		}
		in := render.Input{Platform: p, Version: "test"}
		for _, f := range found {
			a, ds := p.LoadApp(f)
			if len(ds) > 0 {
				t.Fatal(ds)
			}
			in.Apps = append(in.Apps, render.App{App: a, Source: render.Source{Path: path.Base(f.Dir)}})
		}
		tree, err := render.Render(in)
		if err != nil {
			t.Fatal(err)
		}
		examples.tree = tree
	}
	cp := &render.Tree{Files: examples.tree.Files}
	for _, u := range examples.tree.Units {
		objs := make([]render.Built, len(u.Objects))
		for i, b := range u.Objects {
			js, err := json.Marshal(b.Object)
			if err != nil {
				t.Fatal(err)
			}
			d := json.NewDecoder(bytes.NewReader(js))
			d.UseNumber()
			var o render.Object
			if err := d.Decode(&o); err != nil {
				t.Fatal(err)
			}
			objs[i] = render.Built{Object: o, File: b.File, Patched: b.Patched}
		}
		u.Objects = objs
		cp.Units = append(cp.Units, u)
	}
	return cp
}

// unitTree makes a tree of one unit from YAML documents, as a fixture. A
// document that starts with a line "# unit: <cluster> <environment>" is
// an object of that cluster instead (for the rules across clusters).
func unitTree(t *testing.T, data []byte, env string) *render.Tree {
	t.Helper()
	u := &render.Unit{Dir: "apps/test-1/team/app", Kind: render.UnitApp, Cluster: "test-1", Environment: env, Team: "team"}
	units := []*render.Unit{u}
	for i, doc := range bytes.Split(data, []byte("\n---\n")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		u := units[0]
		if first, _, _ := bytes.Cut(bytes.TrimLeft(doc, "\n"), []byte("\n")); bytes.HasPrefix(first, []byte("# unit: ")) {
			var cluster, env string
			if _, err := fmt.Sscanf(string(first), "# unit: %s %s", &cluster, &env); err != nil {
				t.Fatalf("document %d: %q: %v", i, first, err)
			}
			j := slices.IndexFunc(units, func(u *render.Unit) bool { return u.Cluster == cluster })
			if j < 0 {
				units = append(units, &render.Unit{Dir: "apps/" + cluster + "/team/app", Kind: render.UnitApp, Cluster: cluster, Environment: env, Team: "team"})
				j = len(units) - 1
			}
			u = units[j]
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		d := json.NewDecoder(bytes.NewReader(js))
		d.UseNumber()
		var o render.Object
		if err := d.Decode(&o); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		u.Objects = append(u.Objects, render.Built{Object: o, File: fmt.Sprintf("%s/%d.yaml", u.Dir, i)})
	}
	tree := &render.Tree{}
	for i, u := range units {
		if i == 0 || len(u.Objects) > 0 {
			tree.Units = append(tree.Units, *u)
		}
	}
	slices.SortFunc(tree.Units, func(a, b render.Unit) int { return strings.Compare(a.Dir, b.Dir) })
	return tree
}

// TestCheckFixtures proves every built-in check with a failing fixture it
// catches and a passing one it does not flag (policy/testdata/checks).
func TestCheckFixtures(t *testing.T) {
	p := defaultPlatform(t)
	base := load(t, p)
	files, _ := filepath.Glob("testdata/checks/*.txtar")
	have := map[string]bool{}
	for _, f := range files {
		have[strings.TrimSuffix(filepath.Base(f), ".txtar")] = true
	}
	for _, c := range base.Checks() {
		if !c.Builtin || c.Input == policy.InputBudget || c.Input == policy.InputWaiver {
			continue
		}
		if !have[c.ID] {
			t.Errorf("check %s has no fixture testdata/checks/%s.txtar", c.ID, c.ID)
		}
		if c.Title == "" || c.Description == "" || c.Remediation == "" || c.SecuritySeverity == "" || len(c.Tags) == 0 {
			t.Errorf("check %s lacks METADATA (title, description, custom.remediation, custom.security-severity, custom.tags): %+v", c.ID, c)
		}
	}
	for _, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), ".txtar")
		t.Run(id, func(t *testing.T) {
			if base.Check(id) == nil {
				t.Fatalf("fixture for unknown check %s", id)
			}
			ar, err := txtar.ParseFile(f)
			if err != nil {
				t.Fatal(err)
			}
			env := "prod"
			for _, line := range strings.Split(string(ar.Comment), "\n") {
				if v, ok := strings.CutPrefix(line, "environment:"); ok {
					env = strings.TrimSpace(v)
				}
			}
			e := base
			sections := map[string][]byte{}
			for _, s := range ar.Files {
				sections[s.Name] = s.Data
			}
			if d, ok := sections["data.yaml"]; ok {
				// data.yaml sets platform values: a platform directory
				// that extends the example with them (JSON is CUE).
				js, err := yaml.YAMLToJSON(d)
				if err != nil {
					t.Fatal(err)
				}
				dir := t.TempDir()
				src := "package paved\n\nplatform: extends: \"example\"\nplatform: " + string(js) + "\n"
				if err := os.WriteFile(filepath.Join(dir, "platform.cue"), []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
				pp, err := schema.LoadPlatform(dir)
				if err != nil {
					t.Fatalf("data.yaml: %v", err)
				}
				e = load(t, pp)
			}
			for _, want := range []string{"pass.yaml", "fail.yaml"} {
				data, ok := sections[want]
				if !ok {
					t.Fatalf("fixture has no %s section", want)
				}
				tree := unitTree(t, data, env)
				rep, err := e.Lint(context.Background(), p, tree, policy.LintOptions{Today: today})
				if err != nil {
					t.Fatal(err)
				}
				var hits []policy.Finding
				for _, f := range rep.Findings {
					if f.Policy == id {
						hits = append(hits, f)
					}
				}
				if want == "pass.yaml" && len(hits) > 0 {
					t.Errorf("pass.yaml flagged: %+v", hits)
				}
				if want == "fail.yaml" {
					if len(hits) == 0 {
						t.Errorf("fail.yaml not caught by %s", id)
					}
					for _, h := range hits {
						if h.Object == nil || h.Message == "" {
							t.Errorf("finding without object or message: %+v", h)
						}
					}
				}
			}
		})
	}
}

// TestExamplesLintClean: the golden path is compliant by construction:
// every example in every cluster passes the whole bundle with no denial
// and no warning.
func TestExamplesLintClean(t *testing.T) {
	p := defaultPlatform(t)
	e := load(t, p)
	tree := renderExamples(t, p)
	rep, err := e.Lint(context.Background(), p, tree, policy.LintOptions{Today: today})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		t.Errorf("%s %s %s/%s in %s: %s (%s %s)", f.Severity, f.Policy, f.Team, f.App, f.Cluster, f.Message, f.File, f.Path)
	}
	if rep.Objects < 300 {
		t.Errorf("linted %d objects, want every rendered object (> 300)", rep.Objects)
	}
}

// TestLintDeterministic: findings and their order do not depend on
// parallelism.
func TestLintDeterministic(t *testing.T) {
	p := defaultPlatform(t)
	e := load(t, p)
	tree := renderExamples(t, p)
	// Break every workload the same way so there are many findings.
	breakDeployments(tree, "hostNetwork", "docker.io/library/nginx:latest")
	var first []byte
	for _, procs := range []int{1, 4, 2} {
		old := runtime.GOMAXPROCS(procs)
		rep, err := e.Lint(context.Background(), p, tree, policy.LintOptions{Today: today})
		runtime.GOMAXPROCS(old)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := policy.FormatJSON(&buf, rep, policy.FormatOptions{Version: "test"}); err != nil {
			t.Fatal(err)
		}
		if deny, _, _ := rep.Count(); deny == 0 {
			t.Fatal("broken workloads produced no denial")
		}
		if first == nil {
			first = buf.Bytes()
		} else if !bytes.Equal(first, buf.Bytes()) {
			t.Fatalf("GOMAXPROCS=%d: lint report differs", procs)
		}
	}
}

// breakDeployments turns a host namespace on and sets an image from an
// unlisted registry in every Deployment of the tree.
// TestLintConsume: a lint that releases the tree's objects as it converts
// them (LintOptions.Consume, what the CLI does) reports exactly what a
// lint that keeps them reports, rendered files, lines and app.cue
// positions included, on a read-only render with patched apps.
func TestLintConsume(t *testing.T) {
	p := defaultPlatform(t)
	e := load(t, p)
	found, diags := discover.Apps([]string{"../examples"})
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	in := render.Input{Platform: p, Version: "test", Use: render.ReadOnly}
	for _, f := range found {
		a, ds := p.LoadApp(f)
		if len(ds) > 0 {
			t.Fatal(ds)
		}
		in.Apps = append(in.Apps, render.App{App: a, Source: render.Source{Path: path.Base(f.Dir)}})
	}
	var reports [2][]byte
	for i, consume := range []bool{false, true} {
		tree, err := render.Render(in)
		if err != nil {
			t.Fatal(err)
		}
		breakDeployments(tree, "hostPID", "docker.io/library/nginx:latest")
		rep, err := e.Lint(context.Background(), p, tree, policy.LintOptions{Today: today, Consume: consume})
		if err != nil {
			t.Fatal(err)
		}
		if deny, _, _ := rep.Count(); deny == 0 {
			t.Fatal("broken workloads produced no denial")
		}
		var buf bytes.Buffer
		if err := policy.FormatJSON(&buf, rep, policy.FormatOptions{Version: "test"}); err != nil {
			t.Fatal(err)
		}
		reports[i] = buf.Bytes()
		if consume {
			for _, u := range tree.Units {
				for _, b := range u.Objects {
					if b.Object != nil {
						t.Fatalf("%s: Consume kept %s", u.Dir, b.File)
					}
				}
			}
		}
	}
	if !bytes.Equal(reports[0], reports[1]) {
		t.Fatalf("reports differ:\nkept:\n%s\nreleased:\n%s", reports[0], reports[1])
	}
	if !bytes.Contains(reports[0], []byte(`"line": `)) || !bytes.Contains(reports[0], []byte(`"source": `)) {
		t.Fatalf("findings without lines or sources:\n%s", reports[0])
	}
}

func breakDeployments(tree *render.Tree, hostField, image string) {
	for _, u := range tree.Units {
		for _, b := range u.Objects {
			if b.Object.Kind() == "Deployment" {
				spec := b.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
				spec[hostField] = true
				spec["containers"].([]any)[0].(map[string]any)["image"] = image
			}
		}
	}
}

// TestCostEstimate checks the estimate against the contract's formula on
// the specs: Σ clusters × max replicas × (CPU request × CPU price + memory
// request × memory price).
func TestCostEstimate(t *testing.T) {
	p := defaultPlatform(t)
	tree := renderExamples(t, p)
	c := policy.Estimate(p, tree)
	if len(c.Apps) != 7 {
		t.Fatalf("%d apps in the estimate, want 7", len(c.Apps))
	}
	seen := map[string]bool{}
	for _, u := range tree.Units {
		if u.App == nil || seen[u.App.Base.Name] {
			continue
		}
		seen[u.App.Base.Name] = true
		var want float64
		for _, ct := range render.Clusters(p) {
			s, err := u.App.Env(ct.Environment)
			if err != nil {
				t.Fatal(err)
			}
			size := p.Data.Sizes[s.Size]
			n := 1
			if s.Replicas != nil {
				n = s.Replicas.Max
			}
			want += float64(n) * (float64(size.CPUMillicores)/1000*p.Data.Prices.CPUCoreMonth + float64(size.MemoryMiB)/1024*p.Data.Prices.MemoryGiBMonth)
			// Each database: instances × (size + storage price).
			for _, db := range s.Databases {
				inst := p.Data.Environments[ct.Environment].Databases.Instances
				if db.Instances > 0 {
					inst = db.Instances
				}
				ds := p.Data.Sizes[db.Size]
				want += float64(inst) * (float64(ds.CPUMillicores)/1000*p.Data.Prices.CPUCoreMonth + float64(ds.MemoryMiB)/1024*p.Data.Prices.MemoryGiBMonth + float64(db.StorageGiB)*p.Data.Prices.StorageGiBMonth)
			}
		}
		i := slices.IndexFunc(c.Apps, func(a policy.AppCost) bool { return a.App == u.App.Base.Name })
		if got := c.Apps[i].MonthlyUSD; math.Abs(got-want) > 0.005001 {
			t.Errorf("%s: estimate %.2f, formula %.2f", u.App.Base.Name, got, want)
		}
	}
}

// TestDatabaseCostByHand checks the estimate and the team quota of an app
// with a database (payments/orders of the examples) against figures
// computed by hand on the default platform ($25 per core-month, $3.50
// per GiB-month of memory, $0.10 per GiB-month of storage):
//
//	small pod  0.25 × 25 + 0.25 × 3.5 =  7.125    medium pod 0.5 × 25 + 0.5 × 3.5 = 14.25
//	dev      4 × 7.125 + 1 × (7.125 + 20 × 0.1)                 =  28.50 +  9.125 =  37.625
//	staging  4 × 7.125 + 2 × (7.125 + 20 × 0.1)                 =  28.50 + 18.25  =  46.75
//	prod     2 clusters × (8 × 14.25 + 3 × (14.25 + 100 × 0.1)) = 2 × (114 + 72.75) = 373.50
//	total    457.875 → 457.88
//
// and the team's ResourceQuota in prod-eu-1 is what its apps there run at
// their ceiling, plus the platform's 25% headroom (the budget is a cost
// policy, not a quota):
//
//	checkout     canary, medium × (12 primary + 3 surge + 12 canary) = 27 × 500m/512Mi = 13500m/13824Mi
//	orders       medium × (8 + 2 surge)                               = 10 × 500m/512Mi =  5000m/ 5120Mi
//	orders-main  3 instances × medium, 3 × 100 GiB                    =  3 × 500m/512Mi =  1500m/ 1536Mi, 300Gi
//	ledger-sync  xs, one run (concurrencyPolicy Forbid)               =  1 × 100m/128Mi =   100m/  128Mi
//	sum 20100m/20608Mi/300Gi × 1.25 = 25125m/25760Mi/375Gi; limits: CPU twice, memory the same
func TestDatabaseCostByHand(t *testing.T) {
	p := defaultPlatform(t)
	tree := renderExamples(t, p)
	c := policy.Estimate(p, tree)
	i := slices.IndexFunc(c.Apps, func(a policy.AppCost) bool { return a.Team == "payments" && a.App == "orders" })
	if i < 0 {
		t.Fatal("payments/orders is not in the estimate")
	}
	orders := c.Apps[i]
	want := map[string]float64{"dev": 37.63, "staging": 46.75, "prod": 373.50}
	for _, e := range orders.Environments {
		if math.Abs(e.MonthlyUSD-want[e.Environment]) > 0.001 {
			t.Errorf("orders in %s: estimate %.2f, by hand %.2f", e.Environment, e.MonthlyUSD, want[e.Environment])
		}
	}
	if len(orders.Environments) != 3 || math.Abs(orders.MonthlyUSD-457.88) > 0.001 {
		t.Errorf("orders: %+v, by hand 457.88 over 3 environments", orders)
	}
	// The team's estimate counts the database: it is the sum of its apps'.
	var sum float64
	for _, a := range c.Apps {
		if a.Team == "payments" {
			sum += a.MonthlyUSD
		}
	}
	ti := slices.IndexFunc(c.Teams, func(x policy.TeamCost) bool { return x.Team == "payments" })
	if ti < 0 || math.Abs(c.Teams[ti].MonthlyUSD-sum) > 0.011 || c.Teams[ti].MonthlyUSD < 457.88 {
		t.Errorf("team payments: %+v, apps sum to %.2f", c.Teams, sum)
	}
	quota := tree.Files["tenants/prod-eu-1/payments/core_v1_resourcequota_apps.yaml"]
	for _, want := range []string{
		"    limits.cpu: 50250m\n", "    limits.memory: 25760Mi\n",
		"    requests.cpu: 25125m\n", "    requests.memory: 25760Mi\n", "    requests.storage: 375Gi\n",
	} {
		if !bytes.Contains(quota, []byte(want)) {
			t.Errorf("the payments quota in prod-eu-1 lacks %q (by hand):\n%s", strings.TrimSpace(want), quota)
		}
	}
}

// TestBundleIsHermetic: the built-in bundle never reaches for the
// network, the environment or the clock.
func TestBundleIsHermetic(t *testing.T) {
	err := filepath.WalkDir("bundle", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, banned := range []string{"http.send", "opa.runtime", "time.now_ns", "net.lookup_ip_addr", "data.conftest"} {
			if bytes.Contains(b, []byte(banned)) {
				t.Errorf("%s uses %s", p, banned)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCatalogUpToDate: policy/POLICIES.md is what `paved policy doc`
// writes (make policy-doc regenerates it).
func TestCatalogUpToDate(t *testing.T) {
	var buf bytes.Buffer
	if err := policy.WriteCatalog(&buf, load(t, defaultPlatform(t)).Checks()); err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("POLICIES.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, buf.Bytes()) {
		t.Fatal("policy/POLICIES.md is stale: run make policy-doc and review the diff")
	}
}

// TestLintSharesIdenticalObjectsOnly: an object rendered identically into
// two clusters is evaluated once but reported in each; objects that only
// looked alike when rendered (one changed since) are evaluated apart.
func TestLintSharesIdenticalObjectsOnly(t *testing.T) {
	p := defaultPlatform(t)
	e := load(t, p)
	count := func(tree *render.Tree) map[string]int {
		rep, err := e.Lint(context.Background(), p, tree, policy.LintOptions{Today: today})
		if err != nil {
			t.Fatal(err)
		}
		n := map[string]int{}
		for _, f := range rep.Findings {
			if f.Policy == "service-type" {
				n[f.Cluster]++
			}
		}
		return n
	}
	setType := func(tree *render.Tree, cluster, typ string) {
		for _, u := range tree.Units {
			for _, b := range u.Objects {
				if u.Cluster == cluster && b.Object.Kind() == "Service" && b.Object.Name() == "orders" {
					b.Object["spec"].(map[string]any)["type"] = typ
				}
			}
		}
	}
	tree := renderExamples(t, p)
	setType(tree, "prod-eu-1", "NodePort")
	setType(tree, "prod-us-1", "NodePort")
	if n := count(tree); n["prod-eu-1"] != 1 || n["prod-us-1"] != 1 || len(n) != 2 {
		t.Fatalf("identical broken Services in two clusters: findings per cluster %v, want one in each", n)
	}
	tree = renderExamples(t, p)
	setType(tree, "prod-us-1", "LoadBalancer")
	if n := count(tree); n["prod-us-1"] != 1 || len(n) != 1 {
		t.Fatalf("one broken Service: findings per cluster %v, want one in prod-us-1", n)
	}
}

// TestSecretOutsideTeam: each way an ExternalSecret can read outside its
// namespace's team is caught on its own (the fixture needs only one hit):
// another team's key, a ../ escape, a dataFrom extract, a dataFrom find;
// the team's own key and the platform's backup key are not.
func TestSecretOutsideTeam(t *testing.T) {
	p := defaultPlatform(t)
	e := load(t, p)
	es := func(ns, spec string) []byte {
		return []byte("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: x\n  namespace: " + ns + "\nspec:\n" + spec)
	}
	data := func(key string) string {
		return "  data:\n  - secretKey: value\n    remoteRef:\n      key: " + key + "\n      property: p\n"
	}
	for name, c := range map[string]struct {
		doc  []byte
		hits int
	}{
		"own key":            {es("search", data("search/indexer")), 0},
		"platform key":       {es("search", data("platform/postgres-backups")), 0},
		"another team's key": {es("search", data("payments/checkout")), 1},
		"../ escape":         {es("search", data("search/../payments/checkout")), 1},
		"prefix lookalike":   {es("search", data("search-evil/checkout")), 1},
		"extract":            {es("search", "  dataFrom:\n  - extract:\n      key: identity/auth\n"), 1},
		"own extract":        {es("search", "  dataFrom:\n  - extract:\n      key: search/indexer\n"), 0},
		"find":               {es("search", "  dataFrom:\n  - find:\n      name:\n        regexp: \".*\"\n"), 1},
	} {
		rep, err := e.Lint(context.Background(), p, unitTree(t, c.doc, "prod"), policy.LintOptions{Today: today})
		if err != nil {
			t.Fatal(err)
		}
		hits := 0
		for _, f := range rep.Findings {
			if f.Policy == "secret-outside-team" {
				hits++
			}
		}
		if hits != c.hits {
			t.Errorf("%s: %d findings, want %d", name, hits, c.hits)
		}
	}
}

// TestIngressHostAcrossEnvironments: ingress-host-environments looks
// across clusters. One host in the clusters of one environment (regions of
// production) is no clash; the same host in dev and prod is one finding
// per Ingress that claims it, in its own cluster, naming the others; a
// host of one environment that another app claims in another environment
// clashes as well.
func TestIngressHostAcrossEnvironments(t *testing.T) {
	p := defaultPlatform(t)
	e := load(t, p)
	ing := func(cluster, env, ns, name, host string) string {
		return fmt.Sprintf("# unit: %s %s\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  rules:\n  - host: %s\n    http:\n      paths: [{path: /, pathType: Prefix, backend: {service: {name: %s, port: {name: http}}}}]\n",
			cluster, env, name, ns, host, name)
	}
	for name, c := range map[string]struct {
		docs []string
		want []string // "cluster: message part"
	}{
		"regions of prod": {docs: []string{
			ing("prod-eu-1", "prod", "payments", "checkout", "checkout.acme.dev"),
			ing("prod-us-1", "prod", "payments", "checkout", "checkout.acme.dev"),
			ing("dev-eu-1", "dev", "payments", "checkout", "checkout.payments.dev.acme.dev"),
		}},
		"dev and prod": {docs: []string{
			ing("prod-eu-1", "prod", "payments", "checkout", "checkout.acme.dev"),
			ing("prod-us-1", "prod", "payments", "checkout", "checkout.acme.dev"),
			ing("dev-eu-1", "dev", "payments", "checkout", "checkout.acme.dev"),
		}, want: []string{
			"dev-eu-1: Ingress payments/checkout claims host checkout.acme.dev in environment dev, which another environment claims too: Ingress payments/checkout in cluster prod-eu-1 (prod), Ingress payments/checkout in cluster prod-us-1 (prod)",
			"prod-eu-1: Ingress payments/checkout claims host checkout.acme.dev in environment prod, which another environment claims too: Ingress payments/checkout in cluster dev-eu-1 (dev)",
			"prod-us-1: Ingress payments/checkout claims host checkout.acme.dev in environment prod, which another environment claims too: Ingress payments/checkout in cluster dev-eu-1 (dev)",
		}},
		"two apps, staging and prod": {docs: []string{
			ing("prod-eu-1", "prod", "payments", "checkout", "pay.acme.dev"),
			ing("staging-eu-1", "staging", "search", "pay-preview", "pay.acme.dev"),
		}, want: []string{
			"prod-eu-1: Ingress payments/checkout claims host pay.acme.dev in environment prod, which another environment claims too: Ingress search/pay-preview in cluster staging-eu-1 (staging)",
			"staging-eu-1: Ingress search/pay-preview claims host pay.acme.dev in environment staging, which another environment claims too: Ingress payments/checkout in cluster prod-eu-1 (prod)",
		}},
	} {
		rep, err := e.Lint(context.Background(), p, unitTree(t, []byte(strings.Join(c.docs, "---\n")), "prod"), policy.LintOptions{Today: today})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range rep.Findings {
			if f.Policy == "ingress-host-environments" {
				if f.Severity != policy.Deny {
					t.Errorf("%s: %s is %s, want deny", name, f.Policy, f.Severity)
				}
				got = append(got, f.Cluster+": "+f.Message)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: findings\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
		}
	}
}
