package render_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/paved-dev/paved/blueprints"
	"github.com/paved-dev/paved/internal/cache"
	"github.com/paved-dev/paved/internal/discover"
	"github.com/paved-dev/paved/internal/synth"
	"github.com/paved-dev/paved/render"
	"github.com/paved-dev/paved/schema"
)

// loadExamples vets every example app on the embedded default platform.
func loadExamples(t testing.TB) render.Input {
	t.Helper()
	return loadApps(t, "../examples", "", 6)
}

// loadSynthetic generates a synthetic monorepo of n apps (internal/synth)
// and vets it on its platform directory.
func loadSynthetic(t testing.TB, n int) render.Input {
	t.Helper()
	root := t.TempDir()
	if _, err := synth.Generate(root, synth.Options{Apps: n, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	return loadApps(t, root, filepath.Join(root, "paved.platform"), n)
}

func loadApps(t testing.TB, dir, platformDir string, atLeast int) render.Input {
	t.Helper()
	found, diags := discover.Apps([]string{dir})
	if len(diags) > 0 {
		t.Fatalf("discovering apps: %v", diags)
	}
	if len(found) < atLeast {
		t.Fatalf("want at least %d apps, found %d", atLeast, len(found))
	}
	p, err := schema.LoadPlatform(platformDir)
	if err != nil {
		t.Fatal(err)
	}
	in := render.Input{Platform: p, Version: "test"}
	var apps []*schema.App
	for _, f := range found {
		a, ds := p.LoadApp(f)
		if len(ds) > 0 {
			t.Fatalf("app %s does not vet: %v", f.Dir, ds)
		}
		apps = append(apps, a)
		in.Apps = append(in.Apps, render.App{App: a, Source: render.Source{Path: path.Base(f.Dir)}})
	}
	if ds := schema.CheckFleet(p, apps); len(ds) > 0 {
		t.Fatalf("apps fail fleet checks: %v", ds)
	}
	return in
}

// TestStarterPlatformRendersExamples: the platform paved platform init
// writes works on its own (it replaces the example rather than building on
// it), and renders every example exactly as the embedded example does:
// every object, every file but the provenance records, which name the
// platform's digest.
func TestStarterPlatformRendersExamples(t *testing.T) {
	starter, err := fs.Sub(blueprints.Starters, "starters/platform")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "platform")
	if err := os.CopyFS(dir, starter); err != nil {
		t.Fatal(err)
	}
	own := loadApps(t, "../examples", dir, 6)
	if own.Platform.Extends() {
		t.Fatal("the starter platform extends the example")
	}
	got, err := render.Render(own)
	if err != nil {
		t.Fatal(err)
	}
	want, err := render.Render(loadExamples(t))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Paths(), want.Paths()) {
		t.Fatalf("paths differ:\nstarter: %v\nexample: %v", got.Paths(), want.Paths())
	}
	for _, p := range want.Paths() {
		if strings.HasPrefix(p, ".paved/") {
			continue
		}
		if !bytes.Equal(got.Files[p], want.Files[p]) {
			t.Errorf("%s differs:\nstarter:\n%s\nexample:\n%s", p, got.Files[p], want.Files[p])
		}
	}
}

// TestExamplesGoldenPath renders every example and checks what the golden
// path promises on every object of every cluster: strict Kubernetes types,
// security context, resources, probes, HPA and PDB by replica bounds,
// network policy, and that each directory builds with standalone
// kustomize too.
func TestExamplesGoldenPath(t *testing.T) {
	in := loadExamples(t)
	tree, err := render.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, p := range tree.Paths() {
		if !strings.HasSuffix(p, ".yaml") || path.Base(p) == "kustomization.yaml" {
			continue
		}
		data := tree.Files[p]
		if bytes.HasPrefix(data, []byte("---")) || !bytes.HasSuffix(data, []byte("\n")) {
			t.Errorf("%s: not canonical YAML (document separator or no trailing newline)", p)
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(data, &meta); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		kinds[meta.Kind]++
		checkObject(t, tree, p, meta.APIVersion+"/"+meta.Kind, data)
	}
	for _, k := range []string{"Deployment", "CronJob", "Service", "ServiceAccount", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "Ingress", "ServiceMonitor", "PrometheusRule", "ExternalSecret", "Namespace", "ResourceQuota", "LimitRange", "RoleBinding", "Role", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "Kustomization"} {
		if kinds[k] == 0 {
			t.Errorf("the examples render no %s: every kind of the golden path should be exercised", k)
		}
	}
	// Every app and tenant directory builds with standalone kustomize.
	fs := filesys.MakeFsInMemory()
	for _, p := range tree.Paths() {
		if err := fs.WriteFile("/fleet/"+p, tree.Files[p]); err != nil {
			t.Fatal(err)
		}
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	for _, p := range tree.Paths() {
		if path.Base(p) != "kustomization.yaml" {
			continue
		}
		if _, err := k.Run(fs, "/fleet/"+path.Dir(p)); err != nil {
			t.Errorf("standalone kustomize build of %s: %v", path.Dir(p), err)
		}
	}
}

func strict[T any](t *testing.T, p string, data []byte) *T {
	t.Helper()
	var v T
	if err := yaml.UnmarshalStrict(data, &v); err != nil {
		t.Errorf("%s: strict decoding: %v", p, err)
	}
	return &v
}

func checkPod(t *testing.T, p string, spec corev1.PodSpec, wantProbes bool) {
	t.Helper()
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: automountServiceAccountToken must be false", p)
	}
	if spec.SecurityContext == nil || spec.SecurityContext.RunAsNonRoot == nil || !*spec.SecurityContext.RunAsNonRoot {
		t.Errorf("%s: pod must run as non-root", p)
	}
	for _, c := range spec.Containers {
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" ||
			sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: container %s lacks the restricted security context", p, c.Name)
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[r]; !ok {
				t.Errorf("%s: container %s has no %s request", p, c.Name, r)
			}
			if _, ok := c.Resources.Limits[r]; !ok {
				t.Errorf("%s: container %s has no %s limit", p, c.Name, r)
			}
		}
		if !strings.Contains(c.Image, ":") && !strings.Contains(c.Image, "@sha256:") || strings.HasSuffix(c.Image, ":latest") {
			t.Errorf("%s: image %s is not pinned", p, c.Image)
		}
		if wantProbes && (c.ReadinessProbe == nil || c.LivenessProbe == nil) {
			t.Errorf("%s: container %s has no readiness and liveness probes", p, c.Name)
		}
		env := map[string]bool{}
		for _, e := range c.Env {
			if env[e.Name] {
				t.Errorf("%s: duplicate env %s", p, e.Name)
			}
			env[e.Name] = true
		}
		if !env["OTEL_SERVICE_NAME"] || !env["OTEL_RESOURCE_ATTRIBUTES"] {
			t.Errorf("%s: OpenTelemetry environment missing", p)
		}
	}
}

func checkObject(t *testing.T, tree *render.Tree, p, gvk string, data []byte) {
	dir := path.Dir(p)
	switch gvk {
	case "apps/v1/Deployment":
		d := strict[appsv1.Deployment](t, p, data)
		// A web app has an http port (a progressive one has no Service:
		// Flagger makes them).
		web := false
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, cp := range c.Ports {
				web = web || cp.Name == "http"
			}
		}
		checkPod(t, p, d.Spec.Template.Spec, web)
		if len(d.Spec.Template.Spec.TopologySpreadConstraints) == 0 {
			t.Errorf("%s: no topology spread", p)
		}
	case "batch/v1/CronJob":
		c := strict[batchv1.CronJob](t, p, data)
		checkPod(t, p, c.Spec.JobTemplate.Spec.Template.Spec, false)
		if c.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent || c.Spec.StartingDeadlineSeconds == nil {
			t.Errorf("%s: cron job must forbid concurrency and set a starting deadline", p)
		}
	case "autoscaling/v2/HorizontalPodAutoscaler":
		h := strict[autoscalingv2.HorizontalPodAutoscaler](t, p, data)
		// A progressive app always has one: Flagger sizes its primary by it.
		progressive := hasFile(tree, dir, "flagger.app_v1beta1_canary_")
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas > h.Spec.MaxReplicas || *h.Spec.MinReplicas == h.Spec.MaxReplicas && !progressive {
			t.Errorf("%s: an HPA is rendered only when max > min, or for a canary or blue-green app", p)
		}
	case "policy/v1/PodDisruptionBudget":
		strict[policyv1.PodDisruptionBudget](t, p, data)
	case "v1/Service":
		strict[corev1.Service](t, p, data)
	case "v1/ServiceAccount":
		sa := strict[corev1.ServiceAccount](t, p, data)
		if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
			t.Errorf("%s: automountServiceAccountToken must be false", p)
		}
	case "networking.k8s.io/v1/NetworkPolicy":
		np := strict[networkingv1.NetworkPolicy](t, p, data)
		if len(np.Spec.PolicyTypes) != 2 {
			t.Errorf("%s: network policies cover ingress and egress", p)
		}
	case "networking.k8s.io/v1/Ingress":
		in := strict[networkingv1.Ingress](t, p, data)
		if len(in.Spec.TLS) == 0 || in.Annotations["cert-manager.io/cluster-issuer"] == "" {
			t.Errorf("%s: ingress without TLS", p)
		}
	case "v1/Namespace":
		strict[corev1.Namespace](t, p, data)
	case "v1/ResourceQuota":
		strict[corev1.ResourceQuota](t, p, data)
	case "v1/LimitRange":
		strict[corev1.LimitRange](t, p, data)
	case "rbac.authorization.k8s.io/v1/RoleBinding":
		strict[rbacv1.RoleBinding](t, p, data)
	case "rbac.authorization.k8s.io/v1/Role":
		// A team's applier: only in a tenant, never a wildcard or a verb
		// that grants more rights (escalate, bind, impersonate).
		r := strict[rbacv1.Role](t, p, data)
		if !strings.HasPrefix(p, "tenants/") {
			t.Errorf("%s: a Role outside a tenant", p)
		}
		for _, rule := range r.Rules {
			for _, v := range slices.Concat(rule.Resources, rule.Verbs) {
				if v == "*" || v == "escalate" || v == "bind" || v == "impersonate" {
					t.Errorf("%s: the applier's Role grants %q", p, v)
				}
			}
		}
	case "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy":
		v := strict[admissionv1.ValidatingAdmissionPolicy](t, p, data)
		if v.Spec.FailurePolicy == nil || *v.Spec.FailurePolicy != admissionv1.Fail || len(v.Spec.Validations) == 0 || !strings.HasPrefix(p, "tenants/") {
			t.Errorf("%s: a tenant's admission policy fails closed and validates something", p)
		}
	case "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding":
		b := strict[admissionv1.ValidatingAdmissionPolicyBinding](t, p, data)
		if !slices.Equal(b.Spec.ValidationActions, []admissionv1.ValidationAction{admissionv1.Deny}) || b.Spec.PolicyName != b.Name || !hasFile(tree, dir, "admissionregistration.k8s.io_v1_validatingadmissionpolicy_"+b.Name+".yaml") {
			t.Errorf("%s: a binding denies with its tenant's policy of the same name", p)
		}
	case "kustomize.toolkit.fluxcd.io/v1/Kustomization":
		k := strict[kustomizev1.Kustomization](t, p, data)
		if k.Spec.SourceRef.Name != "flux-system" || !strings.HasPrefix(k.Spec.Path, "./") {
			t.Errorf("%s: unexpected source or path", p)
		}
		// An app applies as its team's applier; a tenant as the
		// controller (issue 27).
		parts := strings.Split(strings.TrimPrefix(k.Spec.Path, "./"), "/")
		switch {
		case parts[0] == "apps" && k.Spec.ServiceAccountName != schema.TenantApplier(parts[2]):
			t.Errorf("%s: an app's Kustomization applies as %q, not as its team's applier", p, k.Spec.ServiceAccountName)
		case parts[0] == "tenants" && k.Spec.ServiceAccountName != "kustomize-controller":
			t.Errorf("%s: a tenant's Kustomization applies as %q, not as the controller", p, k.Spec.ServiceAccountName)
		}
	case "v1/ConfigMap":
		cm := strict[corev1.ConfigMap](t, p, data)
		if !strings.HasSuffix(cm.Name, "-dashboard") || len(cm.Data) != 1 {
			t.Errorf("%s: a ConfigMap paved renders is an app's dashboard", p)
		}
	case "backstage.io/v1alpha1/Component", "backstage.io/v1alpha1/Group", "backstage.io/v1alpha1/Location":
		// Backstage's own catalog-model validates them (make catalog-check).
		if !strings.HasPrefix(p, "catalog/") {
			t.Errorf("%s: a catalog entity outside catalog/", p)
		}
	case "flagger.app/v1beta1/Canary":
		// Flagger owns a progressive app's Services: paved renders none.
		if hasFile(tree, dir, "core_v1_service_") || hasFile(tree, dir, "monitoring.coreos.com_v1_servicemonitor_") {
			t.Errorf("%s: a Service or ServiceMonitor beside a Canary: Flagger owns the app's Services", p)
		}
	case "postgresql.cnpg.io/v1/Cluster":
		// The operator makes the database's PodDisruptionBudgets.
		name := strings.TrimSuffix(strings.TrimPrefix(path.Base(p), "postgresql.cnpg.io_v1_cluster_"), ".yaml")
		if hasFile(tree, dir, "policy_v1_poddisruptionbudget_"+name+".yaml") {
			t.Errorf("%s: a PodDisruptionBudget for the database: the operator makes it", p)
		}
	// The operators' kinds are validated against their CRDs by the API
	// server in the e2e suite (make e2e).
	case "monitoring.coreos.com/v1/ServiceMonitor", "monitoring.coreos.com/v1/PodMonitor", "monitoring.coreos.com/v1/PrometheusRule", "external-secrets.io/v1/ExternalSecret",
		"flagger.app/v1beta1/MetricTemplate", "postgresql.cnpg.io/v1/ScheduledBackup":
	default:
		t.Errorf("%s: unexpected kind %s", p, gvk)
	}
}

func hasFile(tree *render.Tree, dir, prefix string) bool {
	for f := range tree.Files {
		if path.Dir(f) == dir && strings.HasPrefix(path.Base(f), prefix) {
			return true
		}
	}
	return false
}

// TestDeterministic renders the examples with the apps in different orders
// and at different GOMAXPROCS: the trees are byte-identical.
func TestDeterministic(t *testing.T) {
	in := loadExamples(t)
	first, err := render.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for i, procs := range []int{1, 4, 2} {
		runtime.GOMAXPROCS(procs)
		r := rand.New(rand.NewPCG(uint64(i), 42))
		r.Shuffle(len(in.Apps), func(a, b int) { in.Apps[a], in.Apps[b] = in.Apps[b], in.Apps[a] })
		again, err := render.Render(in)
		if err != nil {
			t.Fatal(err)
		}
		if len(again.Files) != len(first.Files) {
			t.Fatalf("GOMAXPROCS=%d: %d files, want %d", procs, len(again.Files), len(first.Files))
		}
		for p, b := range first.Files {
			if !bytes.Equal(again.Files[p], b) {
				t.Fatalf("GOMAXPROCS=%d, order %d: %s differs", procs, i, p)
			}
		}
	}
}

func BenchmarkRenderExamples(b *testing.B) {
	in := loadExamples(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := render.Render(in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(in.Apps)), "apps")
}

func ExampleVersionLabel() {
	fmt.Println(render.VersionLabel("ghcr.io/acme/checkout:1.4.2"))
	fmt.Println(render.VersionLabel("registry.acme.dev:5000/x/y@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"))
	fmt.Println(render.VersionLabel("registry.acme.dev:5000/x/y:2.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"))
	// Output:
	// 1.4.2
	// sha256-0123456789ab
	// 2.0
}

// TestPlainBuildEquivalence proves the fast paths of Render and BuildAll
// against the reference: every directory of every example and of a
// synthetic fleet, built with fluxcd/pkg/kustomize (as Flux builds it)
// from the written files, gives exactly the objects Render kept: the
// objects render held in memory for plain directories, and the lean
// kustomize build (schema parsed once) for patched ones.
func TestPlainBuildEquivalence(t *testing.T) {
	for name, in := range map[string]render.Input{"examples": loadExamples(t), "synthetic": loadSynthetic(t, 60)} {
		t.Run(name, func(t *testing.T) {
			fast, err := render.Render(in)
			if err != nil {
				t.Fatal(err)
			}
			slow := &render.Tree{Files: fast.Files}
			if err := render.BuildAllWithKustomize(slow); err != nil {
				t.Fatal(err)
			}
			if len(fast.Units) != len(slow.Units) || len(fast.Units) < 40 {
				t.Fatalf("%d units read, %d built", len(fast.Units), len(slow.Units))
			}
			patched := 0
			for i := range fast.Units {
				f, s := fast.Units[i], slow.Units[i]
				if f.Dir != s.Dir || len(f.Objects) != len(s.Objects) {
					t.Fatalf("%s: %d objects read, %s: %d built", f.Dir, len(f.Objects), s.Dir, len(s.Objects))
				}
				for j := range f.Objects {
					a, b := f.Objects[j], s.Objects[j]
					if len(a.Patched) > 0 {
						patched++
					} else if a.File != "" {
						// Files are written by a direct go-yaml encoder:
						// byte for byte sigs.k8s.io/yaml's canonical form.
						want, err := yaml.Marshal(a.Object)
						if err != nil {
							t.Fatal(err)
						}
						if !bytes.Equal(fast.Files[a.File], want) {
							t.Errorf("%s is not canonical YAML:\n%s\n---\n%s", a.File, fast.Files[a.File], want)
						}
					}
					if a.File != b.File || !reflect.DeepEqual(a.Object, b.Object) || fmt.Sprint(a.Patched) != fmt.Sprint(b.Patched) {
						ya, _ := yaml.Marshal(a.Object)
						yb, _ := yaml.Marshal(b.Object)
						t.Errorf("%s: object %d differs between the fast path and kustomize:\n%s (%s)\n---\n%s (%s)", f.Dir, j, ya, a.File, yb, b.File)
					}
				}
			}
			if patched == 0 {
				t.Fatal("no patched object: the lean kustomize build was not exercised")
			}
		})
	}
}

// TestRenderSameWithCacheAndWorkers: the tree is byte-identical whatever
// the number of workers and whether blueprint evaluations come from an
// empty cache, a warm cache or no cache.
func TestRenderSameWithCacheAndWorkers(t *testing.T) {
	in := loadSynthetic(t, 40)
	ref, err := render.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	c := cache.Open(t.TempDir(), "test")
	if c == nil {
		t.Fatal("no cache")
	}
	for _, run := range []struct {
		name    string
		workers int
		cache   *cache.Cache
	}{{"4 workers, cold cache", 4, c}, {"2 workers, warm cache", 2, c}, {"3 workers, no cache", 3, nil}, {"1 worker, warm cache", 1, c}} {
		in := in
		in.Workers, in.Cache = run.workers, run.cache
		var forks atomic.Int32
		in.Fork = func(int) (*schema.Platform, func(), error) {
			forks.Add(1)
			p, err := in.Platform.Fork()
			return p, func() {}, err
		}
		got, err := render.Render(in)
		if err != nil {
			t.Fatalf("%s: %v", run.name, err)
		}
		// A worker forks the platform on its first cache miss: a warm
		// run, every evaluation a hit, forks nothing.
		warm := strings.Contains(run.name, "warm")
		if n := forks.Load(); warm && n != 0 || !warm && run.workers > 1 && n == 0 {
			t.Errorf("%s: %d forks", run.name, n)
		}
		if len(got.Files) != len(ref.Files) {
			t.Fatalf("%s: %d files, want %d", run.name, len(got.Files), len(ref.Files))
		}
		for p, b := range ref.Files {
			if !bytes.Equal(got.Files[p], b) {
				t.Fatalf("%s: %s differs:\n%s\n---\n%s", run.name, p, got.Files[p], b)
			}
		}
		if !reflect.DeepEqual(unitObjects(got), unitObjects(ref)) {
			t.Fatalf("%s: built units differ", run.name)
		}
	}
	if hits, _ := c.Stats(); hits == 0 {
		t.Fatal("the warm cache was never hit")
	}
}

// TestReadOnlyRender: a read-only render (lint, diff) builds exactly the
// units of a full render, and each file it did not encode up front is
// encoded on demand to the bytes a render writes; only the ownership
// manifests are left out.
func TestReadOnlyRender(t *testing.T) {
	renderBothWays(t, func(in *render.Input) { in.Use = render.ReadOnly }, func(t *testing.T, full, mem *render.Tree) {
		if !reflect.DeepEqual(unitObjects(mem), unitObjects(full)) {
			t.Fatal("built units differ")
		}
		var want []string
		for _, p := range full.Paths() {
			if strings.HasPrefix(p, ".paved/") {
				if _, ok := mem.File(p); ok {
					t.Errorf("%s: a read-only render makes no ownership manifest", p)
				}
				continue
			}
			want = append(want, p)
			got, ok := mem.File(p)
			if !ok || !bytes.Equal(got, full.Files[p]) {
				t.Errorf("%s: in memory %q, rendered %q", p, got, full.Files[p])
			}
		}
		if got := mem.Paths(); !slices.Equal(got, want) {
			t.Errorf("paths: %d in memory, %d rendered", len(got), len(want))
		}
		if len(mem.Files) >= len(want)/2 {
			t.Errorf("the read-only render encoded %d of %d files up front", len(mem.Files), len(want))
		}
	})
}

// renderBothWays renders the examples and a generated fleet in full and
// with set applied to the input, and hands both trees to check.
func renderBothWays(t *testing.T, set func(*render.Input), check func(t *testing.T, full, other *render.Tree)) {
	t.Helper()
	for name, in := range map[string]render.Input{"examples": loadExamples(t), "synthetic": loadSynthetic(t, 40)} {
		t.Run(name, func(t *testing.T) {
			full, err := render.Render(in)
			if err != nil {
				t.Fatal(err)
			}
			set(&in)
			other, err := render.Render(in)
			if err != nil {
				t.Fatal(err)
			}
			check(t, full, other)
		})
	}
}

// TestWriteOnlyRender: a write-only render (render --out) writes the same
// bytes as a full render and builds the same directories to the same
// objects, of which it keeps only the identities outside the directories
// kustomize built.
func TestWriteOnlyRender(t *testing.T) {
	renderBothWays(t, func(in *render.Input) { in.Use = render.WriteOnly }, func(t *testing.T, full, files *render.Tree) {
		if !reflect.DeepEqual(files.Files, full.Files) {
			t.Fatalf("files differ: %d write-only, %d full", len(files.Files), len(full.Files))
		}
		if len(files.Units) != len(full.Units) {
			t.Fatalf("%d units write-only, %d full", len(files.Units), len(full.Units))
		}
		identities, whole := 0, 0
		for i, u := range files.Units {
			f := full.Units[i]
			if u.Dir != f.Dir || u.Kind != f.Kind || u.Cluster != f.Cluster || u.Team != f.Team || u.Environment != f.Environment || len(u.Objects) != len(f.Objects) {
				t.Fatalf("unit %d: %s (%d objects) write-only, %s (%d) full", i, u.Dir, len(u.Objects), f.Dir, len(f.Objects))
			}
			patched := false
			for _, b := range f.Objects {
				patched = patched || len(b.Patched) > 0
			}
			for j, b := range u.Objects {
				if b.Object.ID() != f.Objects[j].Object.ID() || b.File != f.Objects[j].File {
					t.Fatalf("%s: object %d is %s (%s) write-only, %s (%s) full", u.Dir, j, b.Object.ID(), b.File, f.Objects[j].Object.ID(), f.Objects[j].File)
				}
				if len(b.Object) > 3 {
					whole++
					if !patched {
						t.Errorf("%s: %s kept whole in a directory without patches", u.Dir, b.Object.ID())
					}
				} else {
					identities++
				}
			}
		}
		if identities == 0 {
			t.Fatal("no object was reduced to its identity")
		}
		t.Logf("%d identities, %d objects of patched directories", identities, whole)
	})
	in := loadExamples(t)
	in.Use = render.WriteOnly + 1
	if _, err := render.Render(in); err == nil {
		t.Fatal("an unknown use was accepted")
	}
}

// TestRenderSharesEqualParts: a render holds equal parts of its objects
// once (internal/intern): every Deployment's pod security context is the
// same map.
func TestRenderSharesEqualParts(t *testing.T) {
	tree, err := render.Render(loadExamples(t))
	if err != nil {
		t.Fatal(err)
	}
	var first, n int
	var ptr uintptr
	for _, u := range tree.Units {
		for _, b := range u.Objects {
			if b.Object.Kind() != "Deployment" || len(b.Patched) > 0 {
				continue
			}
			sc := b.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["securityContext"]
			p := reflect.ValueOf(sc).Pointer()
			if n == 0 {
				ptr = p
			} else if p == ptr {
				first++
			}
			n++
		}
	}
	if n < 2 || first != n-1 {
		t.Fatalf("%d of %d Deployments share the first one's pod security context", first, n-1)
	}
}

func unitObjects(tree *render.Tree) map[string][]render.Built {
	out := map[string][]render.Built{}
	for _, u := range tree.Units {
		out[u.Dir] = u.Objects
	}
	return out
}

// TestPlainBuildRefusesWhatKustomizeRefuses: the fast path fails where a
// kustomize build fails: a missing file, a duplicate object, an object
// without a name.
func TestPlainBuildRefusesWhatKustomizeRefuses(t *testing.T) {
	kust := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- a.yaml\n- b.yaml\n"
	cm := func(name string) []byte {
		return []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: t\n")
	}
	for name, files := range map[string]map[string][]byte{
		"missing":   {"apps/c/t/a/kustomization.yaml": []byte(kust), "apps/c/t/a/a.yaml": cm("x")},
		"duplicate": {"apps/c/t/a/kustomization.yaml": []byte(kust), "apps/c/t/a/a.yaml": cm("x"), "apps/c/t/a/b.yaml": cm("x")},
		"nameless":  {"apps/c/t/a/kustomization.yaml": []byte(kust), "apps/c/t/a/a.yaml": cm("x"), "apps/c/t/a/b.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: t\n")},
	} {
		for _, build := range []func(*render.Tree) error{render.BuildAll, render.BuildAllWithKustomize} {
			if err := build(&render.Tree{Files: files}); err == nil {
				t.Errorf("%s: a build accepted it", name)
			}
		}
	}
}

// TestSourceRevisionStamped: every object an app's blueprint marks with
// paved.dev/source-path carries the app's source revision, tenants carry
// none, and a new revision reuses the cached evaluations (the revision is
// not a blueprint input) while stamping the new one.
func TestSourceRevisionStamped(t *testing.T) {
	in := loadExamples(t)
	c := cache.Open(t.TempDir(), "test")
	in.Cache = c
	for _, rev := range []string{"1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"} {
		for i := range in.Apps {
			in.Apps[i].Source.Revision = rev
		}
		hitsBefore, _ := c.Stats()
		tree, err := render.Render(in)
		if err != nil {
			t.Fatal(err)
		}
		stamped := 0
		for _, u := range tree.Units {
			for _, b := range u.Objects {
				md, _ := b.Object["metadata"].(map[string]any)
				ann, _ := md["annotations"].(map[string]any)
				got, has := ann["paved.dev/source-revision"]
				_, marked := ann["paved.dev/source-path"]
				switch {
				case u.Kind == render.UnitApp && (!marked || got != rev):
					t.Fatalf("%s: %s: source-path %v, source-revision %v, want %s", u.Dir, b.File, marked, got, rev)
				case u.Kind != render.UnitApp && has:
					t.Fatalf("%s: %s carries a source revision", u.Dir, b.File)
				}
				if has {
					stamped++
					if !bytes.Contains(tree.Files[b.File], []byte("paved.dev/source-revision: \""+rev+"\"")) {
						t.Fatalf("%s does not show revision %s:\n%s", b.File, rev, tree.Files[b.File])
					}
				}
			}
		}
		if stamped < 100 {
			t.Fatalf("only %d objects stamped", stamped)
		}
		if hits, _ := c.Stats(); rev[0] == '2' && hits-hitsBefore < int64(len(in.Apps)*4) {
			t.Fatalf("a new revision hit the cache %d times, want every app evaluation", hits-hitsBefore)
		}
	}
}

// TestRenderLocality: an app rendered alone, without any other app of the
// fleet (what a service repository, lint --changed and commit --changed
// do), renders exactly as in a full run, including apps with dependencies
// and apps others depend on: its objects depend on its own spec, the
// platform and the names it names, never on another app.
func TestRenderLocality(t *testing.T) {
	in := loadSynthetic(t, 60)
	full, err := render.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	picked := 0
	for _, a := range in.Apps {
		dependedOn := false
		for _, b := range in.Apps {
			if slices.Contains(b.Base.Dependencies(), a.Base.Team+"/"+a.Base.Name) {
				dependedOn = true
			}
		}
		if len(a.Base.DependsOn) == 0 || !dependedOn {
			continue // only apps with both: dependencies and dependents
		}
		if picked++; picked > 6 {
			break
		}
		sub := in
		sub.Apps = []render.App{a}
		got, err := render.Render(sub)
		if err != nil {
			t.Fatalf("%s/%s alone: %v", a.Base.Team, a.Base.Name, err)
		}
		own := 0
		for _, p := range got.Paths() {
			if !strings.HasPrefix(p, "apps/") && !strings.HasPrefix(p, ".paved/apps/") && !strings.Contains(p, "/paved/apps/") {
				continue // tenants and entry points: the whole fleet's
			}
			own++
			if !bytes.Equal(got.Files[p], full.Files[p]) {
				t.Errorf("%s differs from the full render:\n%s\nwant:\n%s", p, got.Files[p], full.Files[p])
			}
		}
		if own < 8 {
			t.Fatalf("%s/%s alone rendered %d files of its own", a.Base.Team, a.Base.Name, own)
		}
	}
	if picked == 0 {
		t.Fatal("no app of the synthetic fleet has both dependencies and dependents")
	}
}

// TestApplierCoversApps: what Flux applies for an app, as its team's
// applier (issue 27), is what the applier's Role allows: every object of
// every app directory is in the team's namespace, of a resource the
// platform's tenancy.applyRules name (the plural the API server would
// serve for its kind). A kind the blueprints start rendering without a
// rule would be refused by the API server; this says so first.
func TestApplierCoversApps(t *testing.T) {
	in := loadExamples(t)
	tree, err := render.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[k8sschema.GroupResource]bool{}
	for _, p := range tree.Paths() {
		if !strings.HasPrefix(p, "tenants/") || !strings.Contains(p, "_role_") {
			continue
		}
		r := strict[rbacv1.Role](t, p, tree.Files[p])
		for _, rule := range r.Rules {
			for _, g := range rule.APIGroups {
				for _, res := range rule.Resources {
					allowed[k8sschema.GroupResource{Group: g, Resource: res}] = true
				}
			}
		}
	}
	if len(allowed) == 0 {
		t.Fatal("no applier Role in the tenants")
	}
	n := 0
	for _, p := range tree.Paths() {
		parts := strings.Split(p, "/")
		if parts[0] != "apps" || !strings.HasSuffix(p, ".yaml") || path.Base(p) == "kustomization.yaml" {
			continue
		}
		var obj struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(tree.Files[p], &obj); err != nil {
			t.Fatal(err)
		}
		gv, err := k8sschema.ParseGroupVersion(obj.APIVersion)
		if err != nil {
			t.Fatal(err)
		}
		plural, _ := apimeta.UnsafeGuessKindToResource(gv.WithKind(obj.Kind))
		if !allowed[plural.GroupResource()] {
			t.Errorf("%s: its team's applier may not write %s (platform tenancy.applyRules)", p, plural.GroupResource())
		}
		if team := parts[2]; obj.Metadata.Namespace != team {
			t.Errorf("%s: in namespace %q, not its team's (%s)", p, obj.Metadata.Namespace, team)
		}
		n++
	}
	t.Logf("%d app objects, each of a resource the applier's Role allows", n)
}
