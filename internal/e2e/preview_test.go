package e2e

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

// Issue 31: a pull request's preview environment, with real Flux, a fake
// registry and a fake GitHub API (httptest, 127.0.0.1).
const (
	previewEntry = "paved-previews"
	previewApp   = "examples/payments/checkout"
	previewNS7   = "payments-checkout-pr7"
	previewNS8   = "payments-checkout-pr8"
	previewHost7 = "checkout-pr7-payments.preview.acme.dev"
	previewT0    = 1_700_100_000
)

// previews runs the preview scenario on the reconciled fleet: the
// platform team hosts previews in fluxCluster; preview up of two pull
// requests reconciles Ready with each one's image and host; a second push
// updates one in place; gc with the API failing removes nothing, then
// removes the expired preview and keeps the live one; down removes the
// other; Flux prunes both, their Namespaces deleted or Terminating (the
// test API server runs no namespace controller).
func (c *cluster) previews(ctx context.Context, bare, work, fleetURL, src, paved string, figure func(k, v string)) {
	t := c.t
	t.Helper()
	phase := time.Now()
	// The platform team's commit: previews in this cluster.
	co := filepath.Join(work, "platform-previews")
	git(t, work, "clone", "-q", bare, co)
	if err := os.MkdirAll(filepath.Join(co, "platform"), 0o755); err != nil {
		t.Fatal(err)
	}
	platform := "package paved\n\nplatform: extends: \"example\"\nplatform: previews: clusters: [\"" + fluxCluster + "\"]\n"
	if err := os.WriteFile(filepath.Join(co, "platform", "platform.cue"), []byte(platform), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, co, "add", "-A")
	git(t, co, "commit", "-q", "-m", "platform: previews in "+fluxCluster)
	git(t, co, "push", "-q", "origin", "HEAD:main")

	// The registry holds the pull requests' images; the GitHub API says
	// whether each pull request is open, or fails.
	images := map[string]bool{"/v2/acme/checkout/manifests/1.6.0-pr7": true, "/v2/acme/checkout/manifests/1.6.1-pr7": true, "/v2/acme/checkout/manifests/1.6.0-pr8": true}
	registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/":
		case images[r.URL.Path]:
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("0", 64))
			w.Header().Set("Content-Length", "2")
		default:
			http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN"}]}`, http.StatusNotFound)
		}
	}))
	stops.push(registry.Close)
	var api struct {
		sync.Mutex
		fail bool
	}
	github := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.Lock()
		defer api.Unlock()
		if api.fail {
			http.Error(w, `{"message":"server error"}`, http.StatusInternalServerError)
			return
		}
		for _, n := range []string{"7", "8"} {
			if r.URL.Path == "/repos/acme/shop/pulls/"+n {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"number":%s,"state":"open"}`, n)
				return
			}
		}
		http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
	}))
	stops.push(github.Close)
	env := func(epoch int64) []string {
		return append(pavedEnv(epoch), "GITHUB_TOKEN=e2e", "GITHUB_API_URL="+github.URL+"/")
	}
	up := func(pr, image string, epoch int64) string {
		out := run(t, src, env(epoch), paved, "preview", "up", "./"+previewApp, "--pr", pr, "--fleet", fleetURL, "--image", image, "--registry-url", registry.URL)
		t.Logf("paved preview up --pr %s: %s", pr, strings.TrimSpace(out))
		return git(t, work, "--git-dir", bare, "rev-parse", "main")
	}

	// Pull requests 8 and 7, in one reconciliation.
	up("8", "ghcr.io/acme/checkout:1.6.0-pr8", previewT0)
	sha := up("7", "ghcr.io/acme/checkout:1.6.0-pr7", previewT0)
	c.applyPreviewEntry(ctx)
	figure("paved preview up (2 PRs)", time.Since(phase).Round(100*time.Millisecond).String())
	phase = time.Now()
	c.requestReconcileOf(ctx, previewEntry)
	c.waitPreviews(ctx, sha, previewNS7, previewNS8)
	tree := checkout(t, bare, work, sha)
	n := c.assertPreview(ctx, tree, previewNS7, "ghcr.io/acme/checkout:1.6.0-pr7", previewHost7)
	c.assertPreview(ctx, tree, previewNS8, "ghcr.io/acme/checkout:1.6.0-pr8", "checkout-pr8-payments.preview.acme.dev")
	figure("reconcile: previews to Ready", time.Since(phase).Round(100*time.Millisecond).String())
	figure("objects of a preview", fmt.Sprint(n))

	// A second push of pull request 7, two days later: in place.
	phase = time.Now()
	sha = up("7", "ghcr.io/acme/checkout:1.6.1-pr7", previewT0+48*3600)
	c.requestReconcileOf(ctx, previewEntry, "preview-"+previewNS7+"-namespace", "preview-"+previewNS7, "preview-"+previewNS8+"-namespace", "preview-"+previewNS8)
	c.waitPreviews(ctx, sha, previewNS7, previewNS8)
	tree = checkout(t, bare, work, sha)
	c.assertPreview(ctx, tree, previewNS7, "ghcr.io/acme/checkout:1.6.1-pr7", previewHost7)
	figure("reconcile: a second push", time.Since(phase).Round(100*time.Millisecond).String())

	// gc, 80 hours after the first push: pull request 8's preview expired
	// (72 hours after its only push), 7's is live. The API failing first:
	// exit 4, nothing removed.
	phase = time.Now()
	now := time.Unix(previewT0+80*3600, 0).UTC().Format(time.RFC3339)
	api.Lock()
	api.fail = true
	api.Unlock()
	out, err := runErr(src, env(previewT0+80*3600), paved, "preview", "gc", "--fleet", fleetURL, "--now", now)
	if err == nil || !strings.Contains(err.Error(), "exit status 4") || !strings.Contains(err.Error(), "nothing removed") {
		t.Fatalf("paved preview gc with the GitHub API failing: want exit 4, nothing removed; got %v\n%s", err, out)
	}
	if got := git(t, work, "--git-dir", bare, "rev-parse", "main"); got != sha {
		t.Fatalf("paved preview gc with the GitHub API failing moved main: %s -> %s", sha, got)
	}
	api.Lock()
	api.fail = false
	api.Unlock()
	out = run(t, src, env(previewT0+80*3600), paved, "preview", "gc", "--fleet", fleetURL, "--now", now)
	t.Logf("paved preview gc: %s", strings.TrimSpace(out))
	if !strings.Contains(out, "removed preview payments/checkout pr 8 ") || strings.Contains(out, "pr 7 ") {
		t.Fatalf("paved preview gc: want pull request 8's preview removed, 7's kept:\n%s", out)
	}
	// down: pull request 7 merged.
	out = run(t, src, env(previewT0+81*3600), paved, "preview", "down", ".", "--pr", "7", "--fleet", fleetURL)
	t.Logf("paved preview down: %s", strings.TrimSpace(out))
	sha = git(t, work, "--git-dir", bare, "rev-parse", "main")
	figure("paved preview gc + down", time.Since(phase).Round(100*time.Millisecond).String())
	phase = time.Now()
	c.requestReconcileOf(ctx, previewEntry)
	c.waitPreviews(ctx, sha)
	c.assertPreviewGone(ctx, previewNS7)
	c.assertPreviewGone(ctx, previewNS8)
	figure("reconcile: previews pruned", time.Since(phase).Round(100*time.Millisecond).String())
}

// requestReconcileOf asks the GitRepository and the named Kustomizations
// (not the fleet's others: the hostile pushes keep two of them failing)
// to reconcile now.
func (c *cluster) requestReconcileOf(ctx context.Context, names ...string) {
	t := c.t
	t.Helper()
	now := time.Now().Format(time.RFC3339Nano)
	patch := []byte(`{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":"` + now + `"}}}`)
	if _, err := c.dyn.Resource(gitRepositoryGVR).Namespace(fluxNS).Patch(ctx, "flux-system", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, err := c.dyn.Resource(kustomizationGVR).Namespace(fluxNS).Patch(ctx, n, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// applyPreviewEntry creates the Flux Kustomization the platform team
// points at the cluster's preview entry point, as the controller (like
// the fleet's own entry), its Kustomizations' waits off (no kubelet runs
// pods here).
func (c *cluster) applyPreviewEntry(ctx context.Context) {
	t := c.t
	entry := entryKustomization(previewEntry, "./previews/clusters/"+fluxCluster)
	if _, err := c.dyn.Resource(kustomizationGVR).Namespace(fluxNS).Create(ctx, &unstructured.Unstructured{Object: entry}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Kustomization %s: %v", previewEntry, err)
	}
}

// waitPreviews waits until the preview entry and exactly the previews of
// namespaces nss (their two Kustomizations each) are Ready at sha.
func (c *cluster) waitPreviews(ctx context.Context, sha string, nss ...string) {
	t := c.t
	t.Helper()
	rev := "main@sha1:" + sha
	want := map[string]bool{previewEntry: true}
	for _, ns := range nss {
		want["preview-"+ns] = true
		want["preview-"+ns+"-namespace"] = true
	}
	took := waitFor(ctx, t, reconcileMax, fmt.Sprintf("the previews %v to be Ready at %s", nss, rev), func(ctx context.Context) (bool, string) {
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
			if name != previewEntry && !strings.HasPrefix(name, "preview-") {
				continue
			}
			seen[name] = true
			if !want[name] {
				bad = append(bad, name+": not in the fleet any more, still there (not pruned)")
				continue
			}
			applied, _, _ := unstructured.NestedString(u.Object, "status", "lastAppliedRevision")
			ready, msg := readyCondition(&u)
			if applied != rev || ready != "True" {
				bad = append(bad, fmt.Sprintf("%s: lastAppliedRevision %q, Ready=%s: %s", name, applied, ready, msg))
			}
		}
		for name := range want {
			if !seen[name] {
				bad = append(bad, name+": missing")
			}
		}
		sort.Strings(bad)
		return len(bad) == 0, "preview Kustomizations not there yet:\n" + indent(strings.Join(bad, "\n"), "  ")
	}, c.diagnose)
	t.Logf("previews %v Ready at %s after %v", nss, rev, took)
}

// assertPreview checks that every object of the preview in namespace ns
// is in the API server, the Deployment running image and the Ingress
// publishing host, and returns how many objects it has.
func (c *cluster) assertPreview(ctx context.Context, tree, ns, image, host string) int {
	t := c.t
	t.Helper()
	objs := clusterObjectsIn(t, tree, "previews/"+fluxCluster+"/"+ns)
	for _, o := range objs {
		r, err := c.resource(o)
		if err != nil {
			t.Fatalf("%s: %v", o.file, err)
		}
		u, err := r.Get(ctx, o.name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("preview object %s (%s) is not in the API server: %v", o, o.file, err)
		}
		switch o.kind {
		case "Deployment":
			containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
			m, _ := containers[0].(map[string]any)
			if m["image"] != image {
				t.Fatalf("preview Deployment %s/%s runs %v, want %s", ns, o.name, m["image"], image)
			}
			replicas, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
			if replicas != 1 {
				t.Fatalf("preview Deployment %s/%s has %d replicas, want 1", ns, o.name, replicas)
			}
		case "Ingress":
			rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
			m, _ := rules[0].(map[string]any)
			if m["host"] != host {
				t.Fatalf("preview Ingress %s/%s publishes %v, want %s", ns, o.name, m["host"], host)
			}
		case "Namespace":
			if u.GetLabels()["paved.dev/preview"] == "" {
				t.Fatalf("preview Namespace %s is not labelled paved.dev/preview", ns)
			}
		}
	}
	if len(objs) < 10 {
		t.Fatalf("the preview %s has %d objects in the fleet: not rendered", ns, len(objs))
	}
	t.Logf("preview %s: %d objects applied, %s at %s", ns, len(objs), image, host)
	return len(objs)
}

// assertPreviewGone checks that Flux pruned the preview in namespace ns
// (waitPreviews saw its Kustomizations go): its Namespace is deleted, or
// Terminating, the test API server running no namespace controller to
// delete what it holds and finish.
func (c *cluster) assertPreviewGone(ctx context.Context, ns string) {
	t := c.t
	t.Helper()
	u, err := c.dyn.Resource(namespaceGVR).Get(ctx, ns, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		t.Logf("preview Namespace %s deleted", ns)
	case err != nil:
		t.Fatal(err)
	case u.GetDeletionTimestamp() != nil:
		t.Logf("preview Namespace %s Terminating (no namespace controller here)", ns)
	default:
		t.Fatalf("preview Namespace %s still there, not being deleted, after the preview's removal", ns)
	}
}

// clusterObjectsIn reads the objects of the files below dir of a fleet
// work tree (kustomization.yaml aside), sorted by file.
func clusterObjectsIn(t *testing.T, fleet, dir string) []object {
	t.Helper()
	var objs []object
	root := filepath.Join(fleet, filepath.FromSlash(dir))
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".yaml") || d.Name() == "kustomization.yaml" {
			return nil
		}
		rel, _ := filepath.Rel(fleet, p)
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var doc map[string]any
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			return fmt.Errorf("%s: %v", rel, err)
		}
		o := object{file: filepath.ToSlash(rel), raw: raw, doc: doc, app: "preview/" + path.Base(dir)}
		o.apiVersion, _ = doc["apiVersion"].(string)
		o.kind, _ = doc["kind"].(string)
		meta, _ := doc["metadata"].(map[string]any)
		o.name, _ = meta["name"].(string)
		o.namespace, _ = meta["namespace"].(string)
		objs = append(objs, o)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].file < objs[j].file })
	return objs
}
