package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// promotionPlatform is the fleet's platform of the promotion scenario
// (issue 30): staging takes releases from dev after an hour, Ready in
// dev's cluster (read through its kubeContext); prod is a person's.
const promotionPlatform = `package paved

platform: {
	extends: "example"
	environments: {
		dev: clusters: "dev-eu-1": kubeContext: "dev"
		staging: {
			clusters: "staging-eu-1": kubeContext: "staging"
			promotion: {from: "dev", mode: "auto", soak: "1h"}
		}
		prod: promotion: {from: "staging", mode: "manual", soak: "24h"}
	}
}
`

const promotionApp = `package app

apiVersion: "paved.dev/v1alpha1"
name:       "shop"
team:       "payments"
kind:       "web"
image:      "ghcr.io/acme/shop:1.0.0"
port:       8080
`

// TestPromotionWithFlux: environments over time with real Flux in two
// clusters, dev-eu-1 and staging-eu-1 (two API servers, each with its
// controllers). A commit lands dev only; promote refuses before the soak,
// naming the gate; after it, with dev's Kustomization Ready on the
// release, staging gets exactly the pending files and Flux applies them;
// status shows both on the release and prod pending; a rollback of staging
// returns its Deployment's image, Flux applies it, and the next commit and
// promote do not move staging past the hold.
func TestPromotionWithFlux(t *testing.T) {
	begin := time.Now()
	bins, ctx, work := scenario(t, "paved-e2e-promote-")
	paved := pavedBinary(t, work)

	// The fleet, with the platform in it.
	gitRoot := filepath.Join(work, "git")
	bare := filepath.Join(gitRoot, "fleet.git")
	git(t, work, "init", "-q", "--bare", "-b", "main", bare)
	git(t, bare, "config", "http.receivepack", "true")
	seed := filepath.Join(work, "seed")
	git(t, work, "clone", "-q", bare, seed)
	writeFile(t, filepath.Join(seed, "platform", "platform.cue"), promotionPlatform)
	git(t, seed, "add", "-A")
	git(t, seed, "commit", "-q", "-m", "platform: promotion dev -> staging -> prod")
	git(t, seed, "push", "-q", "origin", "HEAD:main")
	fleetURL := serveGit(t, gitRoot) + "/fleet.git"

	src := filepath.Join(work, "shop")
	writeFile(t, filepath.Join(src, "app.cue"), promotionApp)
	git(t, work, "init", "-q", "-b", "main", src)
	git(t, src, "remote", "add", "origin", "https://github.com/acme/shop.git")
	git(t, src, "add", "-A")
	git(t, src, "commit", "-q", "-m", "shop 1.0.0")

	// Two clusters, and one kubeconfig naming them as the platform does.
	dev := startCluster(ctx, t, bins, filepath.Join(work, "dev"))
	staging := startCluster(ctx, t, bins, filepath.Join(work, "staging"))
	kubeconfig := mergeKubeconfigs(t, work, map[string]string{"dev": dev.kubeconfig, "staging": staging.kubeconfig})
	t.Logf("two clusters up: %s", time.Since(begin).Round(100*time.Millisecond))

	const epoch = 1_700_000_000 // 2023-11-14T22:13:20Z
	at := func(d time.Duration) string { return time.Unix(epoch, 0).UTC().Add(d).Format(time.RFC3339) }
	env := append(pavedEnv(epoch), "KUBECONFIG="+kubeconfig)

	// The release lands in dev only.
	out := run(t, src, env, paved, "commit", ".", "--fleet", fleetURL)
	if !strings.Contains(out, "dev now; pending promotion to staging, prod") {
		t.Fatalf("paved commit: %s", out)
	}
	sha1 := git(t, work, "--git-dir", bare, "rev-parse", "main")
	dev.applyFluxFor(ctx, fleetURL, "dev-eu-1")
	staging.applyFluxFor(ctx, fleetURL, "staging-eu-1")
	dev.waitKustomization(ctx, "payments-shop", sha1)
	staging.waitKustomization(ctx, entryName, sha1)
	if _, err := staging.dyn.Resource(kustomizationGVR).Namespace(fluxNS).Get(ctx, "payments-shop", metav1.GetOptions{}); err == nil {
		t.Fatalf("staging-eu-1 has the app's Kustomization before any promotion")
	}
	dev.assertImage(ctx, "payments", "shop", "ghcr.io/acme/shop:1.0.0")

	// Before the soak: refused, the gate named.
	out = run(t, work, env, paved, "promote", "--fleet", fleetURL, "--now", at(30*time.Minute))
	if !strings.Contains(out, "payments/shop staging: release ") || !strings.Contains(out, "waits: soak: 1h in dev needed, 30m0s so far") {
		t.Fatalf("promote before the soak: %s", out)
	}
	if sha := git(t, work, "--git-dir", bare, "rev-parse", "main"); sha != sha1 {
		t.Fatalf("a refused promotion moved main to %s", sha)
	}

	// After it, dev's Kustomization is Ready on sha1, which runs the
	// release: staging gets the pending files, byte for byte.
	pending := git(t, work, "--git-dir", bare, "show", "main:.paved/pending/payments/shop/staging.json")
	out = run(t, work, env, paved, "promote", "--fleet", fleetURL, "--now", at(2*time.Hour))
	if !strings.Contains(out, "promoted payments/shop staging: release ") {
		t.Fatalf("promote after the soak: %s", out)
	}
	sha2 := git(t, work, "--git-dir", bare, "rev-parse", "main")
	tree2 := checkout(t, bare, work, sha2)
	assertPendingWritten(t, pending, tree2)
	staging.requestReconcile(ctx)
	staging.waitKustomization(ctx, "payments-shop", sha2)
	staging.assertImage(ctx, "payments", "shop", "ghcr.io/acme/shop:1.0.0")

	// status reads both clusters: dev and staging Ready on the release,
	// prod pending (manual).
	dev.requestReconcile(ctx)
	dev.waitKustomization(ctx, "payments-shop", sha2)
	out = run(t, work, env, paved, "status", "--fleet", fleetURL, "-o", "json", "--now", at(3*time.Hour))
	var st []struct {
		App          string
		Environments []struct {
			Environment, Release string
			Clusters             []struct {
				Cluster, Flux string
				Current       bool
			}
			Pending *struct {
				Release  string
				Blockers []string
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st) != 1 || len(st[0].Environments) != 3 {
		t.Fatalf("paved status -o json (%v): %s", err, out)
	}
	rel := st[0].Environments[0].Release
	for _, e := range st[0].Environments[:2] {
		if e.Release != rel || len(e.Clusters) != 1 || e.Clusters[0].Flux != "Ready" || !e.Clusters[0].Current || e.Pending != nil {
			t.Fatalf("status of %s: %+v (want release %s, Ready, current, nothing pending)", e.Environment, e, rel)
		}
	}
	if p := st[0].Environments[2]; p.Environment != "prod" || p.Release != "" || p.Pending == nil || p.Pending.Release != rel || len(p.Pending.Blockers) == 0 {
		t.Fatalf("status of prod: %+v (want release %s pending)", p, rel)
	}

	// Release 2 goes the same way into staging.
	writeFile(t, filepath.Join(src, "app.cue"), strings.Replace(promotionApp, "shop:1.0.0", "shop:1.1.0", 1))
	git(t, src, "commit", "-q", "-am", "shop 1.1.0")
	env2 := append(pavedEnv(epoch+4*3600), "KUBECONFIG="+kubeconfig)
	run(t, src, env2, paved, "commit", ".", "--fleet", fleetURL)
	sha3 := git(t, work, "--git-dir", bare, "rev-parse", "main")
	dev.requestReconcile(ctx)
	dev.waitKustomization(ctx, "payments-shop", sha3)
	out = run(t, work, env2, paved, "promote", "--fleet", fleetURL, "--now", at(6*time.Hour))
	if !strings.Contains(out, "promoted payments/shop staging") {
		t.Fatalf("promote of release 2: %s", out)
	}
	sha4 := git(t, work, "--git-dir", bare, "rev-parse", "main")
	staging.requestReconcile(ctx)
	staging.waitKustomization(ctx, "payments-shop", sha4)
	staging.assertImage(ctx, "payments", "shop", "ghcr.io/acme/shop:1.1.0")

	// Roll staging back: a new commit, Flux applies 1.0.0 again.
	out = run(t, work, env2, paved, "rollback", "payments/shop", "--env", "staging", "--fleet", fleetURL, "--reason", "5xx up", "--now", at(7*time.Hour))
	if !strings.Contains(out, "rolled back payments/shop in staging") {
		t.Fatalf("rollback: %s", out)
	}
	sha5 := git(t, work, "--git-dir", bare, "rev-parse", "main")
	if n := git(t, work, "--git-dir", bare, "rev-list", "--count", sha4+".."+sha5); n != "1" {
		t.Fatalf("rollback made %s commits, want one new commit", n)
	}
	staging.requestReconcile(ctx)
	staging.waitKustomization(ctx, "payments-shop", sha5)
	staging.assertImage(ctx, "payments", "shop", "ghcr.io/acme/shop:1.0.0")

	// The next commit and promote leave staging on the hold.
	writeFile(t, filepath.Join(src, "app.cue"), strings.Replace(promotionApp, "shop:1.0.0", "shop:1.2.0", 1))
	git(t, src, "commit", "-q", "-am", "shop 1.2.0")
	env3 := append(pavedEnv(epoch+8*3600), "KUBECONFIG="+kubeconfig)
	out = run(t, src, env3, paved, "commit", ".", "--fleet", fleetURL)
	if !strings.Contains(out, "held after a rollback: staging") {
		t.Fatalf("commit during the hold: %s", out)
	}
	sha6 := git(t, work, "--git-dir", bare, "rev-parse", "main")
	dev.requestReconcile(ctx)
	dev.waitKustomization(ctx, "payments-shop", sha6)
	out = run(t, work, env3, paved, "promote", "--fleet", fleetURL, "--now", at(12*time.Hour))
	if strings.Contains(out, "promoted") || !strings.Contains(out, "staging: release ") || !strings.Contains(out, "held on release") {
		t.Fatalf("promote during the hold: %s", out)
	}
	staging.requestReconcile(ctx)
	staging.waitKustomization(ctx, "payments-shop", sha6)
	staging.assertImage(ctx, "payments", "shop", "ghcr.io/acme/shop:1.0.0")
	out = run(t, work, env3, paved, "verify", bare, "--ref", "main")
	if !strings.HasPrefix(out, "verified ") {
		t.Fatalf("paved verify: %s", out)
	}
	t.Logf("promotion scenario: %s", time.Since(begin).Round(100*time.Millisecond))
}

func writeFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// mergeKubeconfigs writes one kubeconfig with a context per name, each the
// current context of its file.
func mergeKubeconfigs(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	out := clientcmdapi.NewConfig()
	for name, f := range files {
		c, err := clientcmd.LoadFromFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ctx := c.Contexts[c.CurrentContext]
		if ctx == nil {
			t.Fatalf("%s: no current context", f)
		}
		out.Clusters[name] = c.Clusters[ctx.Cluster]
		out.AuthInfos[name] = c.AuthInfos[ctx.AuthInfo]
		out.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	}
	p := filepath.Join(dir, "kubeconfig-all")
	if err := clientcmd.WriteToFile(*out, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitKustomization waits until Kustomization name is Ready on fleet
// revision sha.
func (c *cluster) waitKustomization(ctx context.Context, name, sha string) {
	t := c.t
	t.Helper()
	waitFor(ctx, t, reconcileMax, fmt.Sprintf("Kustomization %s Ready on %s", name, sha[:12]), func(ctx context.Context) (bool, string) {
		u, err := c.dyn.Resource(kustomizationGVR).Namespace(fluxNS).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		status, msg := readyCondition(u)
		rev, _, _ := unstructured.NestedString(u.Object, "status", "lastAppliedRevision")
		return status == "True" && strings.HasSuffix(rev, ":"+sha), fmt.Sprintf("Ready=%s %s at %s", status, msg, rev)
	}, c.diagnose)
}

// assertImage checks the image of the app's Deployment in the cluster.
func (c *cluster) assertImage(ctx context.Context, ns, name, want string) {
	t := c.t
	t.Helper()
	u, err := c.dyn.Resource(deploymentGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("Deployment %s/%s: %v", ns, name, err)
	}
	cs, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	for _, x := range cs {
		if m, _ := x.(map[string]any); m["name"] == "app" {
			if m["image"] != want {
				t.Fatalf("Deployment %s/%s runs %v, want %s", ns, name, m["image"], want)
			}
			return
		}
	}
	t.Fatalf("Deployment %s/%s has no container app", ns, name)
}

// assertPendingWritten checks that the fleet checkout tree holds every
// file of the pending release record, byte for byte.
func assertPendingWritten(t *testing.T, record, tree string) {
	t.Helper()
	var p struct{ Files map[string]string }
	if err := json.Unmarshal([]byte(record), &p); err != nil || len(p.Files) == 0 {
		t.Fatalf("pending release record (%v): %.200s", err, record)
	}
	for f, want := range p.Files {
		got, err := os.ReadFile(filepath.Join(tree, f))
		if err != nil || string(got) != want {
			t.Fatalf("%s is not the pending render (%v)", f, err)
		}
	}
}
