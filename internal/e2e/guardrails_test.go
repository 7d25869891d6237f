package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

// The guardrails of issue 27 that hold in the API server, whatever reaches
// it: the tenants' ValidatingAdmissionPolicies (assertAdmission) and Flux
// applying each app as its team's ServiceAccount (hostileEdit).

// admissionCase is one server-side dry run of a paved-rendered workload,
// its pod spec changed by edit, and the rejection it must meet ("" =
// accepted).
type admissionCase struct {
	name   string
	edit   func(pod map[string]any)
	reject string
	policy string // the tenant's policy that rejects it: paved-<team>-<policy>
}

// workload is an object to submit and where its pod spec is.
type workload struct {
	from   string // the fleet file it comes from
	doc    map[string]any
	target func(doc map[string]any) map[string]any // what the cases edit: the pod spec, an ExternalSecret's spec
	cases  []string                                // names of the admissionCases it meets
}

// assertAdmission submits, in a tenant namespace of fluxCluster, workloads
// as paved renders them (accepted) and changed: made privileged, given a
// hostPath volume, an image from a foreign registry (each rejected by the
// tenant's rendered ValidatingAdmissionPolicy, not by Pod Security, which
// only warns about a template): a Deployment and a CronJob of the
// examples, and a bare Pod of the Deployment's template (as kubectl run
// would make one, past paved).
func (c *cluster) assertAdmission(ctx context.Context, tree string) {
	t := c.t
	t.Helper()
	var dep, cron, es *object
	for _, o := range clusterObjects(t, tree, fluxCluster) {
		o := o
		switch {
		case o.kind == "Deployment" && o.app == changedApp:
			dep = &o
		case o.kind == "CronJob" && cron == nil:
			cron = &o
		case o.kind == "ExternalSecret" && es == nil && strings.HasPrefix(o.app, o.namespace+"/"):
			es = &o
		}
	}
	if dep == nil || cron == nil || es == nil {
		t.Fatalf("no Deployment of %s, CronJob or ExternalSecret in %s: update the e2e scenario", changedApp, fluxCluster)
	}
	parse := func(o *object) map[string]any {
		var doc map[string]any
		if err := yaml.Unmarshal(o.raw, &doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	at := func(doc map[string]any, keys ...string) map[string]any {
		for _, k := range keys {
			doc = doc[k].(map[string]any)
		}
		return doc
	}
	depDoc := parse(dep)
	pod := map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"namespace": dep.namespace, "labels": at(depDoc, "spec", "template", "metadata")["labels"]},
		"spec":     at(depDoc, "spec", "template", "spec"),
	}
	workloads := []workload{
		{dep.file, depDoc, func(d map[string]any) map[string]any { return at(d, "spec", "template", "spec") }, []string{"as-rendered", "privileged", "hostpath", "foreign-image"}},
		{cron.file, parse(cron), func(d map[string]any) map[string]any { return at(d, "spec", "jobTemplate", "spec", "template", "spec") }, []string{"as-rendered", "privileged", "foreign-image"}},
		{dep.file + " (its pod template)", pod, func(d map[string]any) map[string]any { return at(d, "spec") }, []string{"as-rendered", "foreign-image"}},
		{es.file, parse(es), func(d map[string]any) map[string]any { return at(d, "spec") }, []string{"as-rendered", "foreign-key", "find", "other-store"}},
	}
	cases := map[string]admissionCase{
		"as-rendered": {name: "as-rendered"},
		"privileged": {name: "privileged", reject: "privileged containers are not allowed in namespace ", edit: func(pod map[string]any) {
			ctr := pod["containers"].([]any)[0].(map[string]any)
			sc, _ := ctr["securityContext"].(map[string]any)
			if sc == nil {
				sc = map[string]any{}
				ctr["securityContext"] = sc
			}
			// (The API server refuses privileged without escalation.)
			sc["privileged"], sc["allowPrivilegeEscalation"] = true, true
		}},
		"hostpath": {name: "hostpath", reject: "hostPath volumes are not allowed in namespace ", edit: func(pod map[string]any) {
			vols, _ := pod["volumes"].([]any)
			pod["volumes"] = append(vols, map[string]any{"name": "host", "hostPath": map[string]any{"path": "/"}})
		}},
		"foreign-image": {name: "foreign-image", reject: "images must come from an allowed registry (ghcr.io/acme/, registry.acme.dev/, ghcr.io/cloudnative-pg/), not docker.io/library/nginx:1.27", edit: func(pod map[string]any) {
			pod["containers"].([]any)[0].(map[string]any)["image"] = "docker.io/library/nginx:1.27"
		}},
		// An ExternalSecret that reads another team's key, finds keys by
		// pattern, or reads another store (issue 27, item 2).
		"foreign-key": {name: "foreign-key", policy: "secrets", reject: "not search/indexer (paved guardrail)", edit: func(spec map[string]any) {
			spec["data"].([]any)[0].(map[string]any)["remoteRef"].(map[string]any)["key"] = "search/indexer"
		}},
		"find": {name: "find", policy: "secrets", reject: "no find by pattern", edit: func(spec map[string]any) {
			spec["dataFrom"] = []any{map[string]any{"find": map[string]any{"name": map[string]any{"regexp": ".*"}}}}
		}},
		"other-store": {name: "other-store", policy: "secrets", reject: "read the platform's store, ClusterSecretStore platform-secrets", edit: func(spec map[string]any) {
			spec["secretStoreRef"] = map[string]any{"kind": "ClusterSecretStore", "name": "search-secrets"}
		}},
	}
	force := true
	for _, w := range workloads {
		for _, cn := range w.cases {
			tc := cases[cn]
			raw, err := yaml.Marshal(w.doc)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := yaml.Unmarshal(raw, &doc); err != nil { // a deep copy
				t.Fatal(err)
			}
			kind, _ := doc["kind"].(string)
			name := "e2e-admission-" + tc.name
			md := at(doc, "metadata")
			md["name"] = name
			if tc.edit != nil {
				tc.edit(w.target(doc))
			}
			if raw, err = yaml.Marshal(doc); err != nil {
				t.Fatal(err)
			}
			ns, _ := md["namespace"].(string)
			o := object{file: w.from, apiVersion: doc["apiVersion"].(string), kind: kind, namespace: ns, name: name, raw: raw}
			r, err := c.resource(o)
			if err != nil {
				t.Fatal(err)
			}
			// A policy the API server has just been given takes effect
			// within a few seconds: poll for a rejection, never for an
			// acceptance.
			what := fmt.Sprintf("a %s %s (from %s)", tc.name, kind, w.from)
			waitFor(ctx, t, 30*time.Second, what+" to be "+map[bool]string{true: "accepted", false: "rejected"}[tc.reject == ""], func(ctx context.Context) (bool, string) {
				_, err := r.Patch(ctx, name, types.ApplyYAMLPatchType, raw, metav1.PatchOptions{
					DryRun: []string{metav1.DryRunAll}, FieldManager: "paved-e2e", FieldValidation: metav1.FieldValidationStrict, Force: &force,
				})
				if tc.reject == "" {
					if err != nil {
						t.Fatalf("the API server rejects %s: %v", what, err)
					}
					return true, ""
				}
				if err == nil {
					return false, "accepted"
				}
				policy := tc.policy
				if policy == "" {
					policy = "pods"
				}
				if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), tc.reject) || !strings.Contains(err.Error(), "ValidatingAdmissionPolicy 'paved-"+ns+"-"+policy+"'") {
					t.Fatalf("%s is rejected, but not by the tenant's ValidatingAdmissionPolicy with %q: %v", what, tc.reject, err)
				}
				t.Logf("%s: %v", what, err)
				return true, ""
			}, c.diagnose)
		}
	}
}

// hostileEdit is a fleet token holder's push, past paved: one app's
// directory of team search gets a ClusterRoleBinding to cluster-admin,
// another's a Deployment in team payments' namespace, and one of
// payments' an allow-all NetworkPolicy named as its tenant's default deny.
// Flux applies each app as its team's ServiceAccount, so the API server
// refuses all three (RBAC, and the tenant's applier admission policy):
// their Kustomizations report it, not Ready, no object exists or changes,
// every other Kustomization reconciles the push to Ready, and the fleet's
// own check, paved verify, fails on each file.
func (c *cluster) hostileEdit(ctx context.Context, bare, work, paved string) {
	t := c.t
	t.Helper()
	co := filepath.Join(work, "hostile")
	git(t, work, "clone", "-q", bare, co)
	intruders := []struct{ app, flux, file, yaml, refusal string }{
		{"search/indexer", "search-indexer", "rbac.authorization.k8s.io_v1_clusterrolebinding_e2e-intruder.yaml", `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: e2e-intruder
  labels:
    paved.dev/team: search
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: search-leads@acme.dev
`, `User "system:serviceaccount:` + fluxNS + `:paved-search" cannot`},
		{"search/catalog", "search-catalog", "apps_v1_deployment_e2e-intruder.yaml", `apiVersion: apps/v1
kind: Deployment
metadata:
  name: e2e-intruder
  namespace: payments
  labels:
    paved.dev/team: search
spec:
  selector:
    matchLabels:
      app: e2e-intruder
  template:
    metadata:
      labels:
        app: e2e-intruder
        paved.dev/team: search
    spec:
      containers:
      - name: app
        image: ghcr.io/acme/intruder:1.0.0
`, `User "system:serviceaccount:` + fluxNS + `:paved-search" cannot`},
		// Within its own namespace, and allowed NetworkPolicies, an app
		// still cannot replace the tenant's default deny with an allow-all.
		{"payments/checkout", "payments-checkout", "networking.k8s.io_v1_networkpolicy_default-deny.yaml", `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: payments
  labels:
    paved.dev/team: payments
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress: [{}]
  egress: [{}]
`, `ValidatingAdmissionPolicy 'paved-payments-applier' with binding 'paved-payments-applier' denied request: the applier of team payments may not write the tenant's own objects`},
	}
	refused := map[string]string{}
	for _, in := range intruders {
		dir := filepath.Join(co, "apps", fluxCluster, filepath.FromSlash(in.app))
		kf := filepath.Join(dir, "kustomization.yaml")
		b, err := os.ReadFile(kf)
		if err != nil {
			t.Fatalf("%s has no app directory in %s: update the e2e scenario: %v", in.app, fluxCluster, err)
		}
		var k map[string]any
		if err := yaml.Unmarshal(b, &k); err != nil {
			t.Fatal(err)
		}
		k["resources"] = append(k["resources"].([]any), in.file)
		if b, err = yaml.Marshal(k); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(kf, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, in.file), []byte(in.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		refused[in.flux] = in.refusal
	}
	git(t, co, "add", "-A")
	git(t, co, "commit", "-q", "-m", "search: a little more power")
	git(t, co, "push", "-q", "origin", "HEAD:main")
	sha := git(t, work, "--git-dir", bare, "rev-parse", "main")
	tree := checkout(t, bare, work, sha)

	c.requestReconcile(ctx)
	c.waitReconciled(ctx, tree, sha, refused)
	if _, err := c.dyn.Resource(clusterRoleBindingGVR).Get(ctx, "e2e-intruder", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the hand-written ClusterRoleBinding reached the API server (get: %v)", err)
	}
	if _, err := c.dyn.Resource(deploymentGVR).Namespace("payments").Get(ctx, "e2e-intruder", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("search's hand-written Deployment reached namespace payments (get: %v)", err)
	}
	np, err := c.dyn.Resource(networkPolicyGVR).Namespace("payments").Get(ctx, "default-deny", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rules, _, _ := unstructured.NestedSlice(np.Object, "spec", "ingress"); len(rules) != 0 {
		t.Errorf("an app's directory replaced the tenant's default deny: ingress %v", rules)
	}

	// The fleet's own check fails on the push.
	out, err := runErr(work, pavedEnv(1_700_020_000), paved, "verify", bare, "--ref", "main")
	if err == nil {
		t.Fatalf("paved verify passes a fleet with hand-written objects in two apps:\n%s", out)
	}
	for _, in := range intruders {
		f := "apps/" + fluxCluster + "/" + in.app + "/" + in.file
		if !strings.Contains(out, f+": ") {
			t.Errorf("paved verify does not report %s:\n%s", f, out)
		}
	}
	t.Logf("paved verify of the hostile push: %v\n%s", err, out)
}
