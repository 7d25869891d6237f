package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

const (
	// fluxCluster is the cluster whose fleet entry point Flux reconciles:
	// the clusters' objects share names and namespaces, so one API server
	// holds one cluster; the objects of every cluster are checked with a
	// server-side dry run instead.
	fluxCluster = "prod-eu-1"
	fluxNS      = "flux-system"
	entryName   = "paved-entry"
	// controllerSA is kustomize-controller's own ServiceAccount.
	controllerSA = "kustomize-controller"

	// The change the scenario makes: one app's image, and one app removed.
	changedApp   = "payments/checkout"
	changedFrom  = "ghcr.io/acme/checkout:1.4.2"
	changedTo    = "ghcr.io/acme/checkout:1.5.0"
	removedApp   = "search/query-api"
	reconcileMax = 3 * time.Minute
)

var (
	gitRepositoryGVR      = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"}
	kustomizationGVR      = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}
	namespaceGVR          = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	serviceAccountGVR     = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	clusterRoleBindingGVR = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}
	deploymentGVR         = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	networkPolicyGVR      = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}
)

// cluster is the API server, the Flux controllers and the clients the
// scenario uses.
type cluster struct {
	t           *testing.T
	dyn         dynamic.Interface
	mapper      *restmapper.DeferredDiscoveryRESTMapper
	controllers []*process
	logs        []*process // control plane logs, for diagnostics
	warnings    *warningRecorder
	// kubeconfig is the file of a kubeconfig for the API server.
	kubeconfig string
}

// warningRecorder keeps the API server's warnings.
type warningRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warningRecorder) HandleWarningHeader(code int, agent, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

// take returns the warnings since the last call.
func (w *warningRecorder) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.msgs
	w.msgs = nil
	return m
}

// TestFleetReconcilesWithFlux commits the examples into a fleet repository
// served over HTTP and has Flux reconcile it into a real API server: every
// paved Kustomization becomes Ready at the commit and every rendered object
// exists; a changed app is updated and a removed app pruned. Every object of
// every cluster also passes a server-side dry run with strict field
// validation.
func TestFleetReconcilesWithFlux(t *testing.T) {
	begin := time.Now()
	bins, ctx, work := scenario(t, "paved-e2e-")
	figures := map[string]string{}
	var order []string
	figure := func(k, v string) {
		order = append(order, k)
		figures[k] = v
		t.Logf("%s: %s", k, v)
	}
	defer func() {
		var b strings.Builder
		for _, k := range order {
			fmt.Fprintf(&b, "  %-38s %s\n", k, figures[k])
		}
		t.Logf("figures:\n%s", b.String())
	}()

	// paved, built from the module two directories up (or given).
	phase := time.Now()
	paved := pavedBinary(t, work)
	figure("build paved", time.Since(phase).Round(100*time.Millisecond).String())

	// The fleet: a bare repository with an initial commit on main, served
	// over smart HTTP, pushes allowed.
	gitRoot := filepath.Join(work, "git")
	bare := filepath.Join(gitRoot, "fleet.git")
	git(t, work, "init", "-q", "--bare", "-b", "main", bare)
	git(t, bare, "config", "http.receivepack", "true")
	seed := filepath.Join(work, "seed")
	git(t, work, "clone", "-q", bare, seed)
	if err := os.WriteFile(filepath.Join(seed, "README.md"), []byte("# fleet\n\nRendered by paved; reconciled by Flux.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, seed, "add", "README.md")
	git(t, seed, "commit", "-q", "-m", "Initial commit")
	git(t, seed, "push", "-q", "origin", "HEAD:main")
	fleetURL := serveGit(t, gitRoot) + "/fleet.git"

	// The source: a git repository holding a copy of the examples.
	src := filepath.Join(work, "src")
	copyDir(t, filepath.Join(repoRoot(t), "examples"), filepath.Join(src, "examples"))
	git(t, work, "init", "-q", "-b", "main", src)
	// Its origin is its source identity: a source without one cannot
	// commit (issue 26).
	git(t, src, "remote", "add", "origin", "https://github.com/acme/shop.git")
	git(t, src, "add", "-A")
	git(t, src, "commit", "-q", "-m", "Add the examples")

	// The cluster.
	phase = time.Now()
	c := startCluster(ctx, t, bins, work)
	figure("start apiserver, etcd, controllers", time.Since(phase).Round(100*time.Millisecond).String())

	// First commit: the examples.
	phase = time.Now()
	out := run(t, src, pavedEnv(1_700_000_000), paved, "commit", "./examples", "--fleet", fleetURL, "--branch", "main")
	t.Logf("paved commit: %s", strings.TrimSpace(out))
	sha1 := git(t, work, "--git-dir", bare, "rev-parse", "main")
	figure("paved commit (1)", time.Since(phase).Round(100*time.Millisecond).String())
	tree1 := checkout(t, bare, work, sha1)

	c.applyFlux(ctx, fleetURL)
	phase = time.Now()
	c.waitReconciled(ctx, tree1, sha1, nil)
	figure("reconcile (1) to Ready", time.Since(phase).Round(100*time.Millisecond).String())
	objs := clusterObjects(t, tree1, fluxCluster)
	c.assertApplied(ctx, tree1, objs)
	figure("objects reconciled (1) "+fluxCluster, strconv.Itoa(len(objs)))
	figure("flux inventory entries (1)", strconv.Itoa(c.inventorySize(ctx)))

	// Every object of every cluster, validated by the API server.
	phase = time.Now()
	n := c.dryRunAll(ctx, tree1)
	figure("objects dry-run (all clusters)", strconv.Itoa(n))
	figure("dry run", time.Since(phase).Round(100*time.Millisecond).String())

	// The tenants' admission policies hold in the API server (issue 27).
	phase = time.Now()
	c.assertAdmission(ctx, tree1)
	figure("admission policies", time.Since(phase).Round(100*time.Millisecond).String())

	// Second commit: one app changed, one removed.
	appFile := filepath.Join(src, "examples", filepath.FromSlash(changedApp), "app.cue")
	b, err := os.ReadFile(appFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), changedFrom) {
		t.Fatalf("%s does not hold %s any more: update the e2e scenario", appFile, changedFrom)
	}
	if err := os.WriteFile(appFile, []byte(strings.Replace(string(b), changedFrom, changedTo, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(src, "examples", filepath.FromSlash(removedApp))); err != nil {
		t.Fatal(err)
	}
	git(t, src, "add", "-A")
	git(t, src, "commit", "-q", "-m", "checkout 1.5.0, drop query-api")
	phase = time.Now()
	out = run(t, src, pavedEnv(1_700_003_600), paved, "commit", "./examples", "--fleet", fleetURL, "--branch", "main")
	t.Logf("paved commit: %s", strings.TrimSpace(out))
	sha2 := git(t, work, "--git-dir", bare, "rev-parse", "main")
	if sha2 == sha1 {
		t.Fatalf("the second paved commit did not move main (%s)", sha1)
	}
	figure("paved commit (2)", time.Since(phase).Round(100*time.Millisecond).String())
	tree2 := checkout(t, bare, work, sha2)

	phase = time.Now()
	c.requestReconcile(ctx)
	c.waitReconciled(ctx, tree2, sha2, nil)
	objs2 := clusterObjects(t, tree2, fluxCluster)
	c.assertApplied(ctx, tree2, objs2)
	c.assertChanged(ctx, objs2)
	pruned := c.assertPruned(ctx, objs, objs2)
	figure("reconcile (2): update + prune", time.Since(phase).Round(100*time.Millisecond).String())
	figure("objects reconciled (2) "+fluxCluster, strconv.Itoa(len(objs2)))
	figure("objects pruned (2)", strconv.Itoa(pruned))

	// Third: two service repositories with their own origins commit to the
	// same fleet, one app each; the second depends on the first across
	// repositories and teams. Neither commit touches the examples' apps,
	// and Flux reconciles the dependent after its dependency, to Ready.
	phase = time.Now()
	var shas []string
	for i, r := range crossRepos {
		dir := filepath.Join(work, r.dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "app.cue"), []byte(r.spec), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, work, "init", "-q", "-b", "main", dir)
		git(t, dir, "remote", "add", "origin", r.origin)
		git(t, dir, "add", "-A")
		git(t, dir, "commit", "-q", "-m", "Add "+r.app)
		out = run(t, dir, pavedEnv(1_700_007_200+int64(i)), paved, "commit", ".", "--fleet", fleetURL, "--branch", "main")
		t.Logf("paved commit (%s): %s", r.dir, strings.TrimSpace(out))
		shas = append(shas, git(t, work, "--git-dir", bare, "rev-parse", "main"))
	}
	sha3 := shas[len(shas)-1]
	figure("paved commit (3): two repositories", time.Since(phase).Round(100*time.Millisecond).String())
	tree3 := checkout(t, bare, work, sha3)
	ks2, ks3 := expectedKustomizations(t, tree2), expectedKustomizations(t, tree3)
	for name := range ks2 {
		if _, ok := ks3[name]; !ok {
			t.Fatalf("a service repository's commit removed Kustomization %s of another source", name)
		}
	}
	for _, r := range crossRepos {
		if _, ok := ks3[r.flux]; !ok {
			t.Fatalf("Kustomization %s of %s is not in the fleet", r.flux, r.dir)
		}
	}
	phase = time.Now()
	c.requestReconcile(ctx)
	c.waitReconciled(ctx, tree3, sha3, nil)
	objs3 := clusterObjects(t, tree3, fluxCluster)
	c.assertApplied(ctx, tree3, objs3)
	c.assertDependsOn(ctx, crossRepos[1].flux, crossRepos[0].flux)
	figure("reconcile (3): two sources to Ready", time.Since(phase).Round(100*time.Millisecond).String())
	figure("objects reconciled (3) "+fluxCluster, strconv.Itoa(len(objs3)))

	// The fleet Flux reconciled checks itself (issue 26): paved verify
	// re-renders every app, from three sources, from its recorded inputs
	// and finds every file as Flux applied it.
	phase = time.Now()
	out = run(t, work, pavedEnv(1_700_010_000), paved, "verify", bare, "--ref", "main")
	if !strings.HasPrefix(out, "verified ") || !strings.Contains(out, "@"+sha3[:12]+": ") {
		t.Fatalf("paved verify of the reconciled fleet: %s", out)
	}
	t.Logf("paved verify: %s", strings.TrimSpace(out))
	figure("paved verify", time.Since(phase).Round(100*time.Millisecond).String())

	// A token holder's push past paved meets the API server (issue 27).
	phase = time.Now()
	c.hostileEdit(ctx, bare, work, paved)
	figure("hostile push refused", time.Since(phase).Round(100*time.Millisecond).String())

	// A pull request's preview environments (issue 31).
	c.previews(ctx, bare, work, fleetURL, src, paved, figure)
	figure("scenario total", time.Since(begin).Round(100*time.Millisecond).String())
}

// scenario starts an end-to-end scenario: the binaries build.sh built, a
// context that ends a minute before go test's -timeout would kill the
// binary without running the cleanups, and a work directory removed when
// the scenario ends (kept on failure with PAVED_E2E_KEEP).
func scenario(t *testing.T, prefix string) (binaries, context.Context, string) {
	t.Helper()
	bins := lookupBinaries(t)
	t.Cleanup(stops.run)
	ctx := context.Background()
	if dl, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-time.Minute))
		t.Cleanup(cancel)
	}
	work, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	stops.push(func() {
		if t.Failed() && os.Getenv("PAVED_E2E_KEEP") != "" {
			fmt.Fprintf(os.Stderr, "e2e: kept %s\n", work)
			return
		}
		os.RemoveAll(work)
	})
	return bins, ctx, work
}

// crossRepos are the service repositories of the third commit: catalog
// (team search, repository github.com/acme/catalog) and ledger (team
// payments, repository github.com/acme/ledger) call each other, each
// accepting the other (issue 28: no cycle, and ledger's commit lands
// before catalog is in the fleet); catalog also depends on ledger (Flux's
// apply order).
var crossRepos = []struct{ dir, origin, app, flux, spec string }{
	{"ledger", "https://github.com/acme/ledger.git", "payments/ledger", "payments-ledger", `package app

apiVersion: "paved.dev/v1alpha1"
name:       "ledger"
team:       "payments"
kind:       "web"
image:      "ghcr.io/acme/ledger:3.1.0"
port:       8080
calls: ["search/catalog"]
acceptsFrom: ["search/catalog"]
`},
	{"catalog", "git@github.com:acme/catalog.git", "search/catalog", "search-catalog", `package app

apiVersion: "paved.dev/v1alpha1"
name:       "catalog"
team:       "search"
kind:       "web"
image:      "ghcr.io/acme/catalog:0.9.0"
port:       8080
calls: ["payments/ledger"]
acceptsFrom: ["payments/ledger"]
dependsOn: ["payments/ledger"]
`},
}

// assertDependsOn checks that Kustomization name waits for dep (Flux's
// dependsOn) and that both are Ready: the dependency of another source
// resolved by name alone.
func (c *cluster) assertDependsOn(ctx context.Context, name, dep string) {
	t := c.t
	t.Helper()
	u, err := c.dyn.Resource(kustomizationGVR).Namespace(fluxNS).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deps, _, _ := unstructured.NestedSlice(u.Object, "spec", "dependsOn")
	found := false
	for _, d := range deps {
		if m, _ := d.(map[string]any); m["name"] == dep {
			found = true
		}
	}
	if !found {
		t.Fatalf("Kustomization %s does not depend on %s: %v", name, dep, deps)
	}
	for _, n := range []string{name, dep} {
		u, err := c.dyn.Resource(kustomizationGVR).Namespace(fluxNS).Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ready, msg := readyCondition(u); ready != "True" {
			t.Fatalf("Kustomization %s is not Ready: %s", n, msg)
		}
	}
	t.Logf("Kustomization %s depends on %s of another source; both Ready", name, dep)
}

// repoRoot is paved's module root: two directories above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !strings.HasPrefix(string(b), "module github.com/paved-dev/paved\n") {
		t.Fatalf("%s is not paved's module root (%v)", root, err)
	}
	return root
}

// pavedBinary builds paved from the parent module, unless PAVED_E2E_PAVED
// names a binary to use.
func pavedBinary(t *testing.T, work string) string {
	t.Helper()
	if p := os.Getenv("PAVED_E2E_PAVED"); p != "" {
		return p
	}
	// Built once for every scenario of the run.
	pavedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "paved-e2e-bin-")
		if err != nil {
			pavedErr = err
			return
		}
		stopAll.push(func() { os.RemoveAll(dir) })
		out := filepath.Join(dir, "paved")
		if _, err := runErr(repoRoot(t), nil, "go", "build", "-o", out, "./cmd/paved"); err != nil {
			pavedErr = err
			return
		}
		pavedPath = out
	})
	if pavedErr != nil {
		t.Fatal(pavedErr)
	}
	return pavedPath
}

var (
	pavedOnce sync.Once
	pavedPath string
	pavedErr  error
)

// pavedEnv makes paved's commits reproducible.
func pavedEnv(epoch int64) []string {
	return []string{
		"PAVED_AUTHOR_NAME=paved-e2e", "PAVED_AUTHOR_EMAIL=e2e@paved.dev",
		"SOURCE_DATE_EPOCH=" + strconv.FormatInt(epoch, 10),
		"PAVED_GIT_TOKEN=", "GITHUB_TOKEN=", "NO_COLOR=1",
	}
}

// startCluster starts etcd and kube-apiserver (envtest) with the CRDs
// installed, then source-controller and kustomize-controller, all on
// 127.0.0.1.
func startCluster(ctx context.Context, t *testing.T, bins binaries, work string) *cluster {
	t.Helper()
	logDir := filepath.Join(work, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	logFile := func(name string) *os.File {
		f, err := os.Create(filepath.Join(logDir, name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		stops.push(func() { f.Close() })
		return f
	}
	etcdLog, apiLog := logFile("etcd"), logFile("kube-apiserver")
	etcd := &envtest.Etcd{Path: bins.etcd, Out: etcdLog, Err: etcdLog}
	etcd.URL = mustURL(t, fmt.Sprintf("http://127.0.0.1:%d", freePort(t)))
	etcd.Configure().Set("listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", freePort(t)))
	api := &envtest.APIServer{Path: bins.apiserver, Out: apiLog, Err: apiLog}
	api.SecureServing.Address = "127.0.0.1"
	api.SecureServing.Port = strconv.Itoa(freePort(t))
	env := &envtest.Environment{
		ControlPlane:             envtest.ControlPlane{Etcd: etcd, APIServer: api},
		CRDInstallOptions:        envtest.CRDInstallOptions{Paths: bins.crds, ErrorIfPathMissing: true, MaxTime: time.Minute},
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	stops.push(func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: stopping the control plane: %v\n", err)
		}
	})
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start kube-apiserver and etcd: %v\n%s\n%s", err, tailFile(etcdLog.Name(), 30), tailFile(apiLog.Name(), 30))
	}
	c := &cluster{t: t, logs: []*process{{name: "etcd", logPath: etcdLog.Name()}, {name: "kube-apiserver", logPath: apiLog.Name()}}}
	cfg = rest.CopyConfig(cfg)
	c.warnings = &warningRecorder{}
	cfg.WarningHandler = c.warnings
	c.dyn = dynamic.NewForConfigOrDie(cfg)
	c.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(discovery.NewDiscoveryClientForConfigOrDie(cfg)))

	kubeconfig := filepath.Join(work, "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	c.kubeconfig = kubeconfig
	if _, err := c.dyn.Resource(namespaceGVR).Create(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": fluxNS},
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// kustomize-controller's own ServiceAccount, bound to cluster-admin as
	// a standard Flux install binds it (cluster-reconciler): what the
	// fleet's own Kustomizations (the entry, the tenants) apply as.
	if _, err := c.dyn.Resource(serviceAccountGVR).Namespace(fluxNS).Create(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": controllerSA, "namespace": fluxNS},
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.dyn.Resource(clusterRoleBindingGVR).Create(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
		"metadata": map[string]any{"name": "cluster-reconciler-" + fluxNS},
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
		"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": controllerSA, "namespace": fluxNS}},
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	env2 := []string{"KUBECONFIG=" + kubeconfig, "RUNTIME_NAMESPACE=" + fluxNS}
	var health []string
	common := func() []string {
		h := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		health = append(health, h)
		return []string{
			"--watch-all-namespaces",
			"--enable-leader-election=false",
			"--log-level=info",
			"--events-addr=",
			fmt.Sprintf("--metrics-addr=127.0.0.1:%d", freePort(t)),
			"--health-addr=" + h,
		}
	}
	storage := filepath.Join(work, "storage")
	if err := os.MkdirAll(storage, 0o755); err != nil {
		t.Fatal(err)
	}
	storageAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	c.controllers = append(c.controllers,
		startProcess(t, "source-controller", logDir, env2, bins.sourceController, append(common(),
			"--storage-path="+storage, "--storage-addr="+storageAddr, "--storage-adv-addr="+storageAddr)...),
		// Flux's multi-tenancy lockdown (issue 27): a Kustomization that
		// names no ServiceAccount applies as flux-system/default, which
		// has no rights, and no reference crosses a namespace.
		startProcess(t, "kustomize-controller", logDir, env2, bins.kustomizeController, append(common(),
			"--requeue-dependency=2s", "--default-service-account=default", "--no-cross-namespace-refs=true")...),
	)
	for i, p := range c.controllers {
		url := "http://" + health[i] + "/readyz"
		waitFor(ctx, t, time.Minute, p.name+" to be ready ("+url+")", func(ctx context.Context) (bool, string) {
			if err := p.dead(); err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return false, err.Error()
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK, resp.Status
		}, func() string { return p.tail(25) })
	}
	return c
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func tailFile(path string, n int) string {
	return (&process{name: filepath.Base(path), logPath: path}).tail(n)
}

// applyFlux creates the GitRepository flux-system/flux-system for the
// fleet and the entry Kustomization of fluxCluster. The entry sets
// wait: false on the Kustomizations it applies (paved renders wait: true):
// no kubelet runs, so Deployments never become available.
func (c *cluster) applyFlux(ctx context.Context, fleetURL string) {
	c.applyFluxFor(ctx, fleetURL, fluxCluster)
}

// applyFluxFor makes Flux reconcile the entry point of fleet cluster
// name.
func (c *cluster) applyFluxFor(ctx context.Context, fleetURL, name string) {
	t := c.t
	t.Helper()
	gitRepo := map[string]any{
		"apiVersion": "source.toolkit.fluxcd.io/v1",
		"kind":       "GitRepository",
		"metadata":   map[string]any{"name": "flux-system", "namespace": fluxNS},
		"spec": map[string]any{
			"interval": "1m",
			"timeout":  "30s",
			"url":      fleetURL,
			"ref":      map[string]any{"branch": "main"},
		},
	}
	entry := entryKustomization(entryName, "./clusters/"+name+"/paved")
	if _, err := c.dyn.Resource(gitRepositoryGVR).Namespace(fluxNS).Create(ctx, &unstructured.Unstructured{Object: gitRepo}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create GitRepository: %v", err)
	}
	if _, err := c.dyn.Resource(kustomizationGVR).Namespace(fluxNS).Create(ctx, &unstructured.Unstructured{Object: entry}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Kustomization %s: %v", entryName, err)
	}
}

// entryKustomization is a Flux Kustomization of the fleet's own (the
// cluster's entry point, the preview entry point) at path: it applies as
// the controller's account, as paved's tenants do under the lockdown, and
// its Kustomizations' waits are off (no kubelet runs pods here).
func entryKustomization(name, path string) map[string]any {
	return map[string]any{
		"apiVersion": "kustomize.toolkit.fluxcd.io/v1",
		"kind":       "Kustomization",
		"metadata":   map[string]any{"name": name, "namespace": fluxNS},
		"spec": map[string]any{
			"interval":           "1m",
			"retryInterval":      "5s",
			"timeout":            "1m",
			"path":               path,
			"prune":              true,
			"serviceAccountName": controllerSA,
			"wait":               false,
			"sourceRef":          map[string]any{"kind": "GitRepository", "name": "flux-system"},
			"patches": []any{map[string]any{
				"target": map[string]any{"group": "kustomize.toolkit.fluxcd.io", "kind": "Kustomization"},
				"patch": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n" +
					"metadata:\n  name: any\nspec:\n  wait: false\n  retryInterval: 5s\n",
			}},
		},
	}
}

// expectedKustomizations are the Flux Kustomizations of fluxCluster in a
// fleet tree (name → spec.path), plus the entry.
func expectedKustomizations(t *testing.T, tree string) map[string]string {
	want := map[string]string{entryName: "./clusters/" + fluxCluster + "/paved"}
	for _, o := range clusterObjects(t, tree, fluxCluster) {
		if o.kind == "Kustomization" && strings.HasPrefix(o.apiVersion, "kustomize.toolkit.fluxcd.io/") {
			spec, _ := o.doc["spec"].(map[string]any)
			path, _ := spec["path"].(string)
			want[o.name] = path
		}
	}
	return want
}

// waitReconciled waits until the GitRepository serves sha and every
// Kustomization of the tree (and no other) is Ready=True with
// lastAppliedRevision main@sha1:sha, but those refused names: each of
// them must have attempted sha and be Ready=False with a message holding
// its value.
func (c *cluster) waitReconciled(ctx context.Context, tree, sha string, refused map[string]string) {
	t := c.t
	t.Helper()
	rev := "main@sha1:" + sha
	took := waitFor(ctx, t, reconcileMax, "the GitRepository to serve "+rev, func(ctx context.Context) (bool, string) {
		if err := c.dead(); err != nil {
			t.Fatal(err)
		}
		u, err := c.dyn.Resource(gitRepositoryGVR).Namespace(fluxNS).Get(ctx, "flux-system", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		got, _, _ := unstructured.NestedString(u.Object, "status", "artifact", "revision")
		return got == rev, fmt.Sprintf("GitRepository artifact revision %q, want %q\n%s", got, rev, conditions(u))
	}, c.diagnose)
	t.Logf("GitRepository serves %s after %v", rev, took)

	want := expectedKustomizations(t, tree)
	took = waitFor(ctx, t, reconcileMax, fmt.Sprintf("%d Kustomizations to be Ready at %s", len(want), rev), func(ctx context.Context) (bool, string) {
		if err := c.dead(); err != nil {
			t.Fatal(err)
		}
		list, err := c.dyn.Resource(kustomizationGVR).Namespace(fluxNS).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		var bad []string
		seen := map[string]bool{}
		for _, u := range list.Items {
			name := u.GetName()
			seen[name] = true
			path, ok := want[name]
			if !ok {
				bad = append(bad, fmt.Sprintf("%s: not in the fleet at %s but still there (not pruned)", name, rev))
				continue
			}
			gotPath, _, _ := unstructured.NestedString(u.Object, "spec", "path")
			applied, _, _ := unstructured.NestedString(u.Object, "status", "lastAppliedRevision")
			ready, msg := readyCondition(&u)
			if want, ok := refused[name]; ok {
				attempted, _, _ := unstructured.NestedString(u.Object, "status", "lastAttemptedRevision")
				if attempted != rev || ready != "False" || !strings.Contains(msg, want) {
					bad = append(bad, fmt.Sprintf("%s: lastAttemptedRevision %q, Ready=%s: %s (want %s refused: %q)", name, attempted, ready, msg, rev, want))
				}
				continue
			}
			if gotPath != path || applied != rev || ready != "True" {
				bad = append(bad, fmt.Sprintf("%s: path %q (want %q), lastAppliedRevision %q, Ready=%s: %s", name, gotPath, path, applied, ready, msg))
			}
		}
		for name := range want {
			if !seen[name] {
				bad = append(bad, name+": missing")
			}
		}
		sort.Strings(bad)
		return len(bad) == 0, "Kustomizations not there yet:\n" + indent(strings.Join(bad, "\n"), "  ")
	}, c.diagnose)
	t.Logf("%d Kustomizations Ready at %s after %v", len(want), rev, took)
}

func readyCondition(u *unstructured.Unstructured) (status, message string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" {
			return fmt.Sprint(m["status"]), fmt.Sprintf("%v: %v", m["reason"], m["message"])
		}
	}
	return "Unknown", "no Ready condition"
}

func conditions(u *unstructured.Unstructured) string {
	var b strings.Builder
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		fmt.Fprintf(&b, "  %s/%s: %v=%v %v: %v\n", u.GetKind(), u.GetName(), m["type"], m["status"], m["reason"], m["message"])
	}
	if len(conds) == 0 {
		fmt.Fprintf(&b, "  %s/%s: no conditions\n", u.GetKind(), u.GetName())
	}
	return b.String()
}

// dead fails when a controller exited.
func (c *cluster) dead() error {
	for _, p := range c.controllers {
		if err := p.dead(); err != nil {
			return err
		}
	}
	return nil
}

// diagnose prints the Flux objects' conditions and the log tails.
func (c *cluster) diagnose() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b strings.Builder
	b.WriteString("Flux objects:\n")
	for _, gvr := range []schema.GroupVersionResource{gitRepositoryGVR, kustomizationGVR} {
		list, err := c.dyn.Resource(gvr).Namespace(fluxNS).List(ctx, metav1.ListOptions{})
		if err != nil {
			fmt.Fprintf(&b, "  list %s: %v\n", gvr.Resource, err)
			continue
		}
		for _, u := range list.Items {
			applied, _, _ := unstructured.NestedString(u.Object, "status", "lastAppliedRevision")
			attempted, _, _ := unstructured.NestedString(u.Object, "status", "lastAttemptedRevision")
			artifact, _, _ := unstructured.NestedString(u.Object, "status", "artifact", "revision")
			fmt.Fprintf(&b, "  %s/%s: applied %q attempted %q artifact %q\n", u.GetKind(), u.GetName(), applied, attempted, artifact)
			b.WriteString(conditions(&u))
		}
	}
	for _, p := range append(append([]*process{}, c.controllers...), c.logs...) {
		b.WriteString(p.tail(25))
		b.WriteString("\n")
	}
	return b.String()
}

// resource maps an object to its resource client.
func (c *cluster) resource(o object) (dynamic.ResourceInterface, error) {
	gv, err := schema.ParseGroupVersion(o.apiVersion)
	if err != nil {
		return nil, err
	}
	m, err := c.mapper.RESTMapping(gv.WithKind(o.kind).GroupKind(), gv.Version)
	if meta.IsNoMatchError(err) {
		c.mapper.Reset()
		m, err = c.mapper.RESTMapping(gv.WithKind(o.kind).GroupKind(), gv.Version)
	}
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.dyn.Resource(m.Resource).Namespace(o.namespace), nil
	}
	return c.dyn.Resource(m.Resource), nil
}

// assertApplied checks that every object of the tree for fluxCluster is
// in the API server, applied by the Kustomization whose path holds its
// file.
func (c *cluster) assertApplied(ctx context.Context, tree string, objs []object) {
	t := c.t
	t.Helper()
	paths := map[string]string{} // path → Kustomization
	for name, p := range expectedKustomizations(t, tree) {
		paths[strings.TrimPrefix(p, "./")] = name
	}
	var bad []string
	for _, o := range objs {
		r, err := c.resource(o)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s (%s): %v", o.file, o, err))
			continue
		}
		u, err := r.Get(ctx, o.name, metav1.GetOptions{})
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s (%s): %v", o.file, o, err))
			continue
		}
		// The Kustomization whose path holds the file (the longest).
		want := ""
		for dir := path.Dir(o.file); dir != "." && want == ""; dir = path.Dir(dir) {
			want = paths[dir]
		}
		if got := u.GetLabels()["kustomize.toolkit.fluxcd.io/name"]; got != want {
			bad = append(bad, fmt.Sprintf("%s (%s): applied by Kustomization %q, want %q", o.file, o, got, want))
		}
	}
	if len(bad) > 0 {
		t.Fatalf("%d of %d rendered objects of %s are not applied as rendered:\n%s", len(bad), len(objs), fluxCluster, indent(strings.Join(bad, "\n"), "  "))
	}
	t.Logf("all %d rendered objects of %s are in the API server", len(objs), fluxCluster)
}

// inventorySize counts the objects in the Kustomizations' inventories.
func (c *cluster) inventorySize(ctx context.Context) int {
	list, err := c.dyn.Resource(kustomizationGVR).Namespace(fluxNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	n := 0
	for _, u := range list.Items {
		entries, _, _ := unstructured.NestedSlice(u.Object, "status", "inventory", "entries")
		n += len(entries)
	}
	return n
}

// assertChanged checks the changed app's Deployment runs the new image.
func (c *cluster) assertChanged(ctx context.Context, objs []object) {
	t := c.t
	t.Helper()
	team, app, _ := strings.Cut(changedApp, "/")
	for _, o := range objs {
		if o.app != changedApp || o.kind != "Deployment" {
			continue
		}
		r, err := c.resource(o)
		if err != nil {
			t.Fatal(err)
		}
		u, err := r.Get(ctx, o.name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		var images []string
		for _, ct := range containers {
			m, _ := ct.(map[string]any)
			images = append(images, fmt.Sprint(m["image"]))
		}
		if !contains(images, changedTo) {
			t.Fatalf("Deployment %s/%s runs %v, want %s", o.namespace, o.name, images, changedTo)
		}
		t.Logf("Deployment %s/%s (%s/%s) runs %s", o.namespace, o.name, team, app, changedTo)
		return
	}
	t.Fatalf("no Deployment of %s rendered for %s", changedApp, fluxCluster)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// assertPruned checks that the objects of the first render missing from
// the second are gone from the API server, and that the removed app's
// objects were among them. It returns how many were pruned.
func (c *cluster) assertPruned(ctx context.Context, before, after []object) int {
	t := c.t
	t.Helper()
	kept := map[string]bool{}
	for _, o := range after {
		kept[o.apiVersion+" "+o.String()] = true
	}
	var gone, removed []object
	for _, o := range before {
		if !kept[o.apiVersion+" "+o.String()] {
			gone = append(gone, o)
		}
	}
	for _, o := range gone {
		if o.app == removedApp || (o.kind == "Kustomization" && o.name == strings.ReplaceAll(removedApp, "/", "-")) {
			removed = append(removed, o)
		}
	}
	if len(removed) < 2 {
		t.Fatalf("the second render should drop %s's objects and Flux Kustomization; it drops %v", removedApp, gone)
	}
	var bad []string
	for _, o := range gone {
		r, err := c.resource(o)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s (%s): %v", o.file, o, err))
			continue
		}
		_, err = r.Get(ctx, o.name, metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			bad = append(bad, fmt.Sprintf("%s (%s): still in the API server (%v)", o.file, o, err))
		}
	}
	if len(bad) > 0 {
		t.Fatalf("%d objects removed from the fleet were not pruned:\n%s", len(bad), indent(strings.Join(bad, "\n"), "  "))
	}
	t.Logf("%d objects removed from the fleet are pruned, %d of them %s's", len(gone), len(removed), removedApp)
	return len(gone)
}

// requestReconcile asks Flux to reconcile the GitRepository and every
// Kustomization now, as `flux reconcile` does.
func (c *cluster) requestReconcile(ctx context.Context) {
	t := c.t
	t.Helper()
	now := time.Now().Format(time.RFC3339Nano)
	patch := []byte(`{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":"` + now + `"}}}`)
	if _, err := c.dyn.Resource(gitRepositoryGVR).Namespace(fluxNS).Patch(ctx, "flux-system", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	list, err := c.dyn.Resource(kustomizationGVR).Namespace(fluxNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range list.Items {
		if _, err := c.dyn.Resource(kustomizationGVR).Namespace(fluxNS).Patch(ctx, u.GetName(), types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// dryRunAll submits every object of every cluster of the tree with a
// server-side apply dry run and strict field validation (unknown and
// duplicate fields are errors), as the file's bytes, and fails listing
// each rejection with its app and file. It returns how many objects it
// submitted.
func (c *cluster) dryRunAll(ctx context.Context, tree string) int {
	t := c.t
	t.Helper()
	var all []object
	for _, cl := range clusters(t, tree) {
		all = append(all, clusterObjects(t, tree, cl)...)
	}
	// Namespaced objects need their namespace to exist, even in a dry run.
	for _, o := range all {
		if o.apiVersion == "v1" && o.kind == "Namespace" {
			_, err := c.dyn.Resource(namespaceGVR).Get(ctx, o.name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				_, err = c.dyn.Resource(namespaceGVR).Create(ctx, &unstructured.Unstructured{Object: map[string]any{
					"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": o.name},
				}}, metav1.CreateOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	// The check must be able to fail: the API server must reject unknown
	// and duplicate fields, in the core kinds and in the operators' kinds
	// paved renders (their CRDs' schemas are structural, not open).
	force := true
	for _, bad := range []struct{ apiVersion, kind, yaml, want string }{
		{"v1", "ConfigMap", "data:\n  a: b\nbogus: 1\n", `.bogus: field not declared in schema`},
		{"v1", "ConfigMap", "data:\n  a: b\ndata:\n  c: d\n", `key "data" already set in map`},
		{"flagger.app/v1beta1", "Canary", "spec:\n  targetRef: {apiVersion: apps/v1, kind: Deployment, name: x}\n  service: {port: 80}\n  bogus: 1\n", `.spec.bogus: field not declared in schema`},
		{"flagger.app/v1beta1", "MetricTemplate", "spec:\n  query: up\n  bogus: 1\n", `.spec.bogus: field not declared in schema`},
		{"postgresql.cnpg.io/v1", "Cluster", "spec:\n  instances: 1\n  storage: {size: 1Gi}\n  bogus: 1\n", `.spec.bogus: field not declared in schema`},
		{"postgresql.cnpg.io/v1", "ScheduledBackup", "spec:\n  schedule: '0 0 0 * * *'\n  cluster: {name: x}\n  bogus: 1\n", `.spec.bogus: field not declared in schema`},
		{"monitoring.coreos.com/v1", "PodMonitor", "spec:\n  selector: {}\n  bogus: 1\n", `.spec.bogus: field not declared in schema`},
	} {
		canary := object{file: "(canary)", app: "(canary)", apiVersion: bad.apiVersion, kind: bad.kind, namespace: fluxNS, name: "e2e-canary"}
		canary.raw = []byte("apiVersion: " + bad.apiVersion + "\nkind: " + bad.kind + "\nmetadata:\n  name: e2e-canary\n  namespace: " + fluxNS + "\n" + bad.yaml)
		r, err := c.resource(canary)
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Patch(ctx, canary.name, types.ApplyYAMLPatchType, canary.raw, metav1.PatchOptions{
			DryRun: []string{metav1.DryRunAll}, FieldManager: "paved-e2e", FieldValidation: metav1.FieldValidationStrict, Force: &force,
		})
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Fatalf("the strict dry run of a %s with %q does not fail with %q: %v", bad.kind, bad.yaml, bad.want, err)
		}
	}

	// Every kind the operators act on is among what the examples render
	// (issue 21: canary and blue-green rollouts, a database).
	kinds := map[string]int{}
	for _, o := range all {
		kinds[o.apiVersion+" "+o.kind]++
	}
	for _, k := range []string{"flagger.app/v1beta1 Canary", "flagger.app/v1beta1 MetricTemplate", "postgresql.cnpg.io/v1 Cluster", "postgresql.cnpg.io/v1 ScheduledBackup", "monitoring.coreos.com/v1 PodMonitor"} {
		if kinds[k] == 0 {
			t.Errorf("the examples render no %s: the dry run does not cover it", k)
		}
		t.Logf("dry run: %d × %s", kinds[k], k)
	}

	var rejected, warnings []string
	c.warnings.take()
	for _, o := range all {
		r, err := c.resource(o)
		if err == nil {
			_, err = r.Patch(ctx, o.name, types.ApplyYAMLPatchType, o.raw, metav1.PatchOptions{
				DryRun:          []string{metav1.DryRunAll},
				FieldManager:    "paved-e2e",
				FieldValidation: metav1.FieldValidationStrict,
				Force:           &force,
			})
		}
		where := fmt.Sprintf("app %s, file %s (%s)", o.app, o.file, o)
		if err != nil {
			rejected = append(rejected, where+": "+err.Error())
		}
		for _, w := range c.warnings.take() {
			warnings = append(warnings, where+": warning: "+w)
		}
	}
	sort.Strings(rejected)
	if len(warnings) > 0 {
		t.Logf("API server warnings:\n%s", indent(strings.Join(warnings, "\n"), "  "))
	}
	if len(rejected) > 0 {
		t.Errorf("the API server rejects %d of %d rendered objects (server-side dry run, strict field validation):\n%s", len(rejected), len(all), indent(strings.Join(rejected, "\n"), "  "))
	} else {
		t.Logf("the API server accepts all %d rendered objects of %d clusters (server-side dry run, strict field validation)", len(all), len(clusters(t, tree)))
	}
	return len(all)
}
