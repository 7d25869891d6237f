package diff

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/paved-dev/paved/policy"
	"github.com/paved-dev/paved/render"
	"github.com/paved-dev/paved/schema"
)

// ctr is a container: name, image, then env entries (name=value, or
// name from secret/key as "name<secret/key"), then requests as
// "cpu=250m" and limits as "limit:cpu=500m".
func ctr(name, image string, opts ...string) map[string]any {
	c := map[string]any{"name": name, "image": image}
	var env []any
	req, lim := map[string]any{}, map[string]any{}
	for _, o := range opts {
		switch {
		case strings.HasPrefix(o, "limit:"):
			k, v, _ := strings.Cut(strings.TrimPrefix(o, "limit:"), "=")
			lim[k] = v
		case strings.Contains(o, "<"):
			n, ref, _ := strings.Cut(o, "<")
			s, k, _ := strings.Cut(ref, "/")
			env = append(env, map[string]any{"name": n, "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": s, "key": k}}})
		case strings.HasPrefix(o, "cpu=") || strings.HasPrefix(o, "memory="):
			k, v, _ := strings.Cut(o, "=")
			req[k] = v
		default:
			n, v, _ := strings.Cut(o, "=")
			env = append(env, map[string]any{"name": n, "value": v})
		}
	}
	if env != nil {
		c["env"] = env
	}
	res := map[string]any{}
	if len(req) > 0 {
		res["requests"] = req
	}
	if len(lim) > 0 {
		res["limits"] = lim
	}
	if len(res) > 0 {
		c["resources"] = res
	}
	return c
}

// deploy is a Deployment a of the containers, labelled with version (if
// any) and with spec.replicas (if not nil).
func deploy(version string, replicas any, cs ...map[string]any) render.Object {
	list := make([]any, len(cs))
	for i, c := range cs {
		list[i] = c
	}
	spec := map[string]any{"template": map[string]any{"spec": map[string]any{"containers": list}}}
	if replicas != nil {
		spec["replicas"] = replicas
	}
	o := obj("apps/v1", "Deployment", "t", "a", map[string]any{"spec": spec})
	if version != "" {
		o["metadata"].(map[string]any)["labels"] = map[string]any{"app.kubernetes.io/version": version}
	}
	return o
}

func cronjob(schedule string, cs ...map[string]any) render.Object {
	list := make([]any, len(cs))
	for i, c := range cs {
		list[i] = c
	}
	return obj("batch/v1", "CronJob", "t", "a", map[string]any{"spec": map[string]any{
		"schedule":    schedule,
		"jobTemplate": map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": list}}}},
	}})
}

func hpa(min, max any) render.Object {
	spec := map[string]any{"maxReplicas": max}
	if min != nil {
		spec["minReplicas"] = min
	}
	return obj("autoscaling/v2", "HorizontalPodAutoscaler", "t", "a", map[string]any{"spec": spec})
}

func ingress(hostPaths ...string) render.Object {
	var rules []any
	for _, hp := range hostPaths {
		host, p, _ := strings.Cut(hp, "/")
		rules = append(rules, map[string]any{"host": host, "http": map[string]any{"paths": []any{map[string]any{"path": "/" + p}}}})
	}
	return obj("networking.k8s.io/v1", "Ingress", "t", "a", map[string]any{"spec": map[string]any{"rules": rules}})
}

func canary(analysis map[string]any) render.Object {
	return obj("flagger.app/v1beta1", "Canary", "t", "a", map[string]any{"spec": map[string]any{"analysis": analysis}})
}

func pgCluster(name string, instances int, storage, image string) render.Object {
	return obj("postgresql.cnpg.io/v1", "Cluster", "t", name, map[string]any{"spec": map[string]any{
		"instances": instances, "storage": map[string]any{"size": storage}, "imageName": image,
	}})
}

func externalSecret(name, property string) render.Object {
	return obj("external-secrets.io/v1", "ExternalSecret", "t", name, map[string]any{"spec": map[string]any{
		"data":   []any{map[string]any{"remoteRef": map[string]any{"key": "t/a", "property": property}, "secretKey": "value"}},
		"target": map[string]any{"name": name},
	}})
}

func fluxKS(deps ...string) render.Object {
	var list []any
	for _, d := range deps {
		list = append(list, map[string]any{"name": d})
	}
	o := obj("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", "t-a", map[string]any{"spec": map[string]any{"dependsOn": list}})
	o["metadata"].(map[string]any)["labels"] = map[string]any{"paved.dev/team": "t", "paved.dev/app": "a"}
	return o
}

func component(fields map[string]any) render.Object {
	md := map[string]any{"name": "a", "namespace": "t"}
	for k, v := range fields {
		md[k] = v
	}
	return render.Object{"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": md, "spec": map[string]any{"owner": "group:default/t"}}
}

func objs(o ...render.Object) []render.Object { return o }

var testSizes = map[string]schema.Size{
	"small":  {CPUMillicores: 250, MemoryMiB: 256},
	"medium": {CPUMillicores: 500, MemoryMiB: 512},
	"large":  {CPUMillicores: 1000, MemoryMiB: 1024},
}

// TestFacts: each fact, read from the objects of both sides alike.
func TestFacts(t *testing.T) {
	const digestA, digestB = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	otel := func(v string) string {
		return "OTEL_RESOURCE_ATTRIBUTES=service.namespace=t,service.version=" + v + ",k8s.cluster.name=c1"
	}
	for _, tc := range []struct {
		name          string
		fact          fact
		before, after []render.Object
		want          []string
	}{
		{"image tag", imageFact, objs(deploy("", nil, ctr("app", "r.io/t/a:1.4.2"))), objs(deploy("", nil, ctr("app", "r.io/t/a:1.5.0"))), []string{"image 1.4.2 → 1.5.0"}},
		{"image repository", imageFact, objs(deploy("", nil, ctr("app", "r.io/t/a:1"))), objs(deploy("", nil, ctr("app", "r.io/u/a:1"))), []string{"image r.io/t/a:1 → r.io/u/a:1"}},
		{"image registry with a port", imageFact, objs(deploy("", nil, ctr("app", "r.io:5000/a:1"))), objs(deploy("", nil, ctr("app", "r.io:5000/a:2"))), []string{"image 1 → 2"}},
		{"image digest", imageFact, objs(deploy("", nil, ctr("app", "r.io/a@"+digestA))), objs(deploy("", nil, ctr("app", "r.io/a@"+digestB))), []string{"image @sha256:aaaaaaaaaaaa → @sha256:bbbbbbbbbbbb"}},
		{"image same", imageFact, objs(deploy("", nil, ctr("app", "r.io/a:1"))), objs(deploy("", nil, ctr("app", "r.io/a:1"))), nil},
		{"image of a new app", imageFact, nil, objs(deploy("", nil, ctr("app", "r.io/a:1"))), []string{"image r.io/a:1"}},
		{"image of a removed app", imageFact, objs(deploy("", nil, ctr("app", "r.io/a:1"))), nil, nil},
		{"image of one container of two", imageFact, objs(deploy("", nil, ctr("app", "r.io/a:1"), ctr("proxy", "r.io/p:1"))), objs(deploy("", nil, ctr("app", "r.io/a:1"), ctr("proxy", "r.io/p:2"))), []string{"image proxy 1 → 2"}},
		{"image of a cron job", imageFact, objs(cronjob("* * * * *", ctr("app", "r.io/a:1"))), objs(cronjob("* * * * *", ctr("app", "r.io/a:2"))), []string{"image 1 → 2"}},

		{"HPA max", scalingFact, objs(deploy("", nil, ctr("app", "i")), hpa(3, 12)), objs(deploy("", nil, ctr("app", "i")), hpa(3, 15)), []string{"HPA max 12 → 15"}},
		{"HPA min and max", scalingFact, objs(deploy("", nil, ctr("app", "i")), hpa(2, 12)), objs(deploy("", nil, ctr("app", "i")), hpa(3, 15)), []string{"HPA min 2 → 3, max 12 → 15"}},
		{"HPA min defaults to 1", scalingFact, objs(deploy("", nil, ctr("app", "i")), hpa(nil, 4)), objs(deploy("", nil, ctr("app", "i")), hpa(2, 4)), []string{"HPA min 1 → 2"}},
		{"HPA same", scalingFact, objs(deploy("", nil, ctr("app", "i")), hpa(2, 6)), objs(deploy("", nil, ctr("app", "i")), hpa(2, 6)), nil},
		{"replicas", scalingFact, objs(deploy("", 2, ctr("app", "i"))), objs(deploy("", 3, ctr("app", "i"))), []string{"replicas 2 → 3"}},
		{"HPA added", scalingFact, objs(deploy("", 2, ctr("app", "i"))), objs(deploy("", nil, ctr("app", "i")), hpa(2, 6)), []string{"HPA added: min 2, max 6 (was 2 replicas)"}},
		{"HPA removed", scalingFact, objs(deploy("", nil, ctr("app", "i")), hpa(2, 6)), objs(deploy("", 2, ctr("app", "i"))), []string{"HPA removed: 2 replicas (was min 2, max 6)"}},
		{"HPA of a new app", scalingFact, nil, objs(deploy("", nil, ctr("app", "i")), hpa(2, 6)), []string{"HPA min 2, max 6"}},
		{"replicas of a new app", scalingFact, nil, objs(deploy("", 2, ctr("app", "i"))), []string{"replicas 2"}},
		{"a cron job does not scale", scalingFact, objs(cronjob("* * * * *", ctr("app", "i"))), objs(cronjob("0 * * * *", ctr("app", "i"))), nil},

		{"size class", sizeFact, objs(deploy("", nil, ctr("app", "i", "cpu=250m", "memory=256Mi", "limit:cpu=500m"))), objs(deploy("", nil, ctr("app", "i", "cpu=500m", "memory=512Mi", "limit:cpu=1000m"))), []string{"size small → medium"}},
		{"size class in Gi and cores", sizeFact, objs(deploy("", nil, ctr("app", "i", "cpu=500m", "memory=512Mi"))), objs(deploy("", nil, ctr("app", "i", "cpu=1", "memory=1Gi"))), []string{"size medium → large"}},
		{"requests of no class", sizeFact, objs(deploy("", nil, ctr("app", "i", "cpu=100m", "memory=64Mi"))), objs(deploy("", nil, ctr("app", "i", "cpu=200m", "memory=64Mi"))), []string{"requests cpu 100m → 200m"}},
		{"limits alone", sizeFact, objs(deploy("", nil, ctr("app", "i", "cpu=250m", "memory=256Mi", "limit:memory=256Mi"))), objs(deploy("", nil, ctr("app", "i", "cpu=250m", "memory=256Mi", "limit:memory=512Mi"))), []string{"limits memory 256Mi → 512Mi"}},
		{"size of a new app", sizeFact, nil, objs(deploy("", nil, ctr("app", "i", "cpu=250m", "memory=256Mi"))), []string{"size small"}},
		{"size same", sizeFact, objs(deploy("", nil, ctr("app", "i", "cpu=250m"))), objs(deploy("", nil, ctr("app", "i", "cpu=250m"))), nil},

		{"env keys", envFact, objs(deploy("", nil, ctr("app", "i", "A=1", "C=3", "S<s/k"))), objs(deploy("", nil, ctr("app", "i", "A=2", "B=2", "S<s/k2"))), []string{"env added B; removed C; changed A"}},
		{"env that follows the version", envFact, objs(deploy("1.4.2", nil, ctr("app", "i", otel("1.4.2")))), objs(deploy("1.5.0", nil, ctr("app", "i", otel("1.5.0")))), nil},
		{"env that changes beyond the version", envFact, objs(deploy("1.4.2", nil, ctr("app", "i", otel("1.4.2")))), objs(deploy("1.5.0", nil, ctr("app", "i", strings.Replace(otel("1.5.0"), "c1", "c2", 1)))), []string{"env changed OTEL_RESOURCE_ATTRIBUTES"}},
		{"env same", envFact, objs(deploy("", nil, ctr("app", "i", "A=1"))), objs(deploy("", nil, ctr("app", "i", "A=1"))), nil},

		{"secret keys", secretFact,
			objs(deploy("", nil, ctr("app", "i", "DB<a-db/value", "OLD<a-old/value", "KEY<a-key/value", "PLAIN=x")), externalSecret("a-db", "db"), externalSecret("a-key", "key")),
			objs(deploy("", nil, ctr("app", "i", "DB<a-db/value", "NEW<a-new/value", "KEY<a-key/value", "PLAIN=y")), externalSecret("a-db", "db-v2"), externalSecret("a-key", "key"), externalSecret("a-new", "new")),
			[]string{"secrets added NEW; removed OLD; changed DB"}},
		{"secret reference", secretFact, objs(deploy("", nil, ctr("app", "i", "DB<a-db/value"))), objs(deploy("", nil, ctr("app", "i", "DB<a-db/other"))), []string{"secrets changed DB"}},
		{"an ExternalSecret no env reads", secretFact, objs(deploy("", nil, ctr("app", "i")), externalSecret("a-backup", "x")), objs(deploy("", nil, ctr("app", "i")), externalSecret("a-backup", "y")), []string{"secrets changed ExternalSecret a-backup"}},

		{"ingress host", ingressFact, objs(ingress("a.dev/")), objs(ingress("b.dev/")), []string{"ingress a.dev/ → b.dev/"}},
		{"ingress added", ingressFact, nil, objs(ingress("a.dev/")), []string{"ingress added a.dev/"}},
		{"ingress removed", ingressFact, objs(ingress("a.dev/")), nil, []string{"ingress removed a.dev/"}},
		{"ingress paths", ingressFact, objs(ingress("a.dev/", "a.dev/api")), objs(ingress("a.dev/", "a.dev/v2")), []string{"ingress added a.dev/v2; removed a.dev/api"}},
		{"ingress same", ingressFact, objs(ingress("a.dev/")), objs(ingress("a.dev/")), nil},

		{"schedule", scheduleFact, objs(cronjob("*/15 * * * *")), objs(cronjob("*/5 * * * *")), []string{`schedule "*/15 * * * *" → "*/5 * * * *"`}},
		{"schedule of a new app", scheduleFact, nil, objs(cronjob("0 3 * * *")), []string{`schedule "0 3 * * *"`}},
		{"schedule same", scheduleFact, objs(cronjob("0 3 * * *")), objs(cronjob("0 3 * * *")), nil},

		{"rolling to canary", rolloutFact, objs(deploy("", nil)), objs(deploy("", nil), canary(map[string]any{"stepWeight": 10, "maxWeight": 50})), []string{"rollout rolling → canary"}},
		{"canary to blue-green", rolloutFact, objs(deploy("", nil), canary(map[string]any{"stepWeight": 10})), objs(deploy("", nil), canary(map[string]any{"iterations": 10})), []string{"rollout canary → blue-green"}},
		{"blue-green to rolling", rolloutFact, objs(deploy("", nil), canary(map[string]any{"iterations": 10})), objs(deploy("", nil)), []string{"rollout blue-green → rolling"}},
		{"canary analysis", rolloutFact, objs(deploy("", nil), canary(map[string]any{"stepWeight": 10})), objs(deploy("", nil), canary(map[string]any{"stepWeight": 20})), []string{"rollout canary stepWeight 10 → 20"}},
		{"canary of a new app", rolloutFact, nil, objs(deploy("", nil), canary(map[string]any{"stepWeight": 10})), []string{"rollout canary"}},
		{"rolling of a new app says nothing", rolloutFact, nil, objs(deploy("", nil)), nil},

		{"database added", databaseFact, objs(deploy("", nil)), objs(deploy("", nil), pgCluster("a-main", 3, "100Gi", "pg:17.6")), []string{"database main added: 3 instances, 100Gi"}},
		{"database removed", databaseFact, objs(pgCluster("a-main", 1, "20Gi", "pg:17.6")), nil, []string{"database main removed"}},
		{"database changed", databaseFact, objs(pgCluster("a-main", 1, "20Gi", "pg:17.6")), objs(pgCluster("a-main", 3, "40Gi", "pg:17.7")), []string{"database main instances 1 → 3, storage 20Gi → 40Gi, image 17.6 → 17.7"}},
		{"database same", databaseFact, objs(pgCluster("a-main", 1, "20Gi", "pg:17.6")), objs(pgCluster("a-main", 1, "20Gi", "pg:17.6")), nil},

		{"dependsOn", dependsOnFact, objs(fluxKS("tenant-t", "t-b", "u-c")), objs(fluxKS("tenant-t", "t-b", "t-d")), []string{"dependsOn added t-d; removed u-c"}},
		{"dependsOn of a new app", dependsOnFact, nil, objs(fluxKS("tenant-t", "t-b")), nil},

		{"dashboard", dashboardFact, objs(obj("v1", "ConfigMap", "t", "a-dashboard", map[string]any{"data": map[string]any{"t-a.json": "{}"}})), objs(obj("v1", "ConfigMap", "t", "a-dashboard", map[string]any{"data": map[string]any{"t-a.json": `{"x":1}`}})), []string{"dashboard changed"}},
		{"another ConfigMap is no dashboard", dashboardFact, objs(obj("v1", "ConfigMap", "t", "b", map[string]any{"data": map[string]any{"x": "1"}})), objs(obj("v1", "ConfigMap", "t", "b", map[string]any{"data": map[string]any{"x": "2"}})), nil},

		{"catalog entry", catalogFact, objs(component(map[string]any{"description": "x"})), objs(component(map[string]any{"description": "y", "tags": []any{"z"}})), []string{"catalog entry: description, tags changed"}},
		{"catalog entry added", catalogFact, nil, objs(component(nil)), []string{"catalog entry added"}},
		{"catalog entry removed", catalogFact, objs(component(nil)), nil, []string{"catalog entry removed"}},

		{"objects", objectsFact, objs(deploy("", nil), obj("v1", "Service", "t", "a", nil), obj("monitoring.coreos.com/v1", "ServiceMonitor", "t", "a", nil)),
			objs(deploy("", nil), canary(nil), obj("flagger.app/v1beta1", "MetricTemplate", "t", "a-1", nil), obj("flagger.app/v1beta1", "MetricTemplate", "t", "a-2", nil)),
			[]string{"objects added Canary a, MetricTemplate ×2; removed Service a, ServiceMonitor a"}},
		{"app added", objectsFact, nil, objs(deploy("", nil), obj("v1", "Service", "t", "a", nil)), []string{"app added (2 objects)"}},
		{"app removed", objectsFact, objs(deploy("", nil)), nil, []string{"app removed (1 objects)"}},
		{"objects same", objectsFact, objs(deploy("", nil)), objs(deploy("", 3)), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.fact(factInput{app: "a", before: tc.before, after: tc.after, sizes: testSizes})
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestFactsNeverShowSecretValues: a Secret object's keys are said, its
// values never, nor an ExternalSecret's remote reference.
func TestFactsNeverShowSecretValues(t *testing.T) {
	secret := func(data map[string]any) render.Object {
		return obj("v1", "Secret", "t", "creds", map[string]any{"data": data})
	}
	before := objs(deploy("", nil, ctr("app", "i", "DB<a-db/value")), externalSecret("a-db", "db-password-v1"),
		secret(map[string]any{"password": "aHVudGVyMg==", "user": "YWRtaW4=", "old": "b2xk"}))
	after := objs(deploy("", nil, ctr("app", "i", "DB<a-db/value")), externalSecret("a-db", "db-password-v2"),
		secret(map[string]any{"password": "c3dvcmRmaXNo", "user": "YWRtaW4=", "token": "dG9rZW4="}))
	got := strings.Join(secretFact(factInput{app: "a", before: before, after: after}), "\n")
	want := "secrets changed DB\nSecret creds keys added token; removed old; changed password"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, v := range []string{"aHVudGVyMg==", "c3dvcmRmaXNo", "YWRtaW4=", "dG9rZW4=", "b2xk", "db-password-v1", "db-password-v2"} {
		if strings.Contains(got, v) {
			t.Errorf("the summary shows %q", v)
		}
	}
}

// clustered is one app's objects in the four clusters of the default
// platform (dev, staging, prod ×2), each unit with its environment.
func clustered(team, app string, objects func(cluster, env string) []render.Object) []render.Unit {
	var out []render.Unit
	for _, c := range [][2]string{{"dev-eu-1", "dev"}, {"prod-eu-1", "prod"}, {"prod-us-1", "prod"}, {"staging-eu-1", "staging"}} {
		u := unit(c[0], team, app, objects(c[0], c[1])...)
		u.Environment = c[1]
		out = append(out, u)
	}
	return out
}

// demoObjects is an app as the demo change sees it: labelled objects, a
// Deployment of the image and an HPA whose max is 12 in prod (or prodMax).
func demoObjects(version string, prodMax int) func(cluster, env string) []render.Object {
	return func(cluster, env string) []render.Object {
		label := func(o render.Object) render.Object {
			o["metadata"].(map[string]any)["labels"] = map[string]any{"app.kubernetes.io/version": version, "paved.dev/environment": env}
			return o
		}
		max := 6
		if env == "prod" {
			max = prodMax
		}
		return []render.Object{
			label(deploy(version, nil, ctr("app", "r.io/t/a:"+version, "OTEL_RESOURCE_ATTRIBUTES=service.version="+version+",k8s.cluster.name="+cluster))),
			label(hpa(2, max)),
			label(obj("v1", "Service", "t", "a", nil)),
			label(obj("v1", "ServiceAccount", "t", "a", nil)),
		}
	}
}

// TestSummarize: through Compute, one line per kind of change, with
// where it applies: nowhere said when everywhere, else the environments
// it covers whole.
func TestSummarize(t *testing.T) {
	before := clustered("t", "a", demoObjects("1.4.2", 12))
	after := clustered("t", "a", demoObjects("1.5.0", 15))
	rep, err := Compute(before, after)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Apps) != 1 || rep.Apps[0].Name() != "t/a" {
		t.Fatalf("apps: %+v", rep.Apps)
	}
	a := rep.Apps[0]
	var got []string
	for _, l := range a.Lines {
		got = append(got, strings.TrimSpace(a.Where(l, rep.Environments)+" "+l.Text))
	}
	want := []string{"image 1.4.2 → 1.5.0", "prod HPA max 12 → 15"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if !slices.Equal(a.Clusters, []string{"dev-eu-1", "prod-eu-1", "prod-us-1", "staging-eu-1"}) {
		t.Errorf("clusters %v", a.Clusters)
	}
}

// TestSummarizeUnread: an object no fact reads is named when it changes
// in its own way, not when its only change is shared (the version label).
func TestSummarizeUnread(t *testing.T) {
	side := func(version, data string) []render.Unit {
		return clustered("t", "a", func(cluster, env string) []render.Object {
			o := demoObjects(version, 12)(cluster, env)
			cm := labelled("ConfigMap", "a-config", version, nil)
			cm["data"] = map[string]any{"x": data}
			return append(o, cm)
		})
	}
	for _, tc := range []struct {
		data string
		want []string
	}{
		{"1", []string{"image 1.4.2 → 1.5.0"}},
		{"2", []string{"image 1.4.2 → 1.5.0", "changed ConfigMap a-config"}},
	} {
		rep, err := Compute(side("1.4.2", "1"), side("1.5.0", tc.data))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range rep.Apps[0].Lines {
			got = append(got, l.Text)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("data %s: got %q, want %q", tc.data, got, tc.want)
		}
	}
}

// TestWhere: a line names the environments it covers whole and the
// clusters of the others.
func TestWhere(t *testing.T) {
	envOf := map[string]string{"dev-eu-1": "dev", "prod-eu-1": "prod", "prod-us-1": "prod", "staging-eu-1": "staging"}
	s := AppSummary{Clusters: []string{"dev-eu-1", "prod-eu-1", "prod-us-1", "staging-eu-1"}}
	for _, tc := range []struct {
		clusters []string
		want     string
	}{
		{[]string{"dev-eu-1", "prod-eu-1", "prod-us-1", "staging-eu-1"}, ""},
		{nil, ""},
		{[]string{"(catalog)"}, ""},
		{[]string{"prod-eu-1", "prod-us-1"}, "prod"},
		{[]string{"prod-eu-1"}, "prod-eu-1"},
		{[]string{"dev-eu-1", "prod-us-1"}, "dev, prod-us-1"},
		{[]string{"dev-eu-1", "staging-eu-1"}, "dev, staging"},
	} {
		if got := s.Where(Line{Clusters: tc.clusters}, envOf); got != tc.want {
			t.Errorf("Where(%v) = %q, want %q", tc.clusters, got, tc.want)
		}
	}
}

// TestOwners: a Flux Kustomization and a catalog Component belong to
// their app; a tenant's objects and a catalog Group to the team.
func TestOwners(t *testing.T) {
	before := []render.Unit{
		{Dir: "clusters/c/paved", Kind: render.UnitEntry, Cluster: "c", Objects: []render.Built{{Object: fluxKS("tenant-t", "t-b")}}},
		{Dir: "tenants/c/t", Kind: render.UnitTenant, Cluster: "c", Team: "t", Objects: []render.Built{{Object: obj("v1", "ResourceQuota", "t", "budget", map[string]any{"spec": map[string]any{"hard": map[string]any{"requests.cpu": "1"}}})}}},
		{Dir: "catalog", Kind: render.UnitCatalog, Cluster: render.CatalogCluster, Objects: []render.Built{{Object: component(map[string]any{"description": "x"})}}},
	}
	after := []render.Unit{
		{Dir: "clusters/c/paved", Kind: render.UnitEntry, Cluster: "c", Objects: []render.Built{{Object: fluxKS("tenant-t")}}},
		{Dir: "tenants/c/t", Kind: render.UnitTenant, Cluster: "c", Team: "t", Objects: []render.Built{{Object: obj("v1", "ResourceQuota", "t", "budget", map[string]any{"spec": map[string]any{"hard": map[string]any{"requests.cpu": "2"}}})}}},
		{Dir: "catalog", Kind: render.UnitCatalog, Cluster: render.CatalogCluster, Objects: []render.Built{
			{Object: component(map[string]any{"description": "y"})},
			{Object: render.Object{"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": map[string]any{"name": "t", "namespace": "default"}}},
		}},
	}
	rep, err := Compute(before, after)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range rep.Apps {
		for _, l := range a.Lines {
			got = append(got, a.Name()+": "+l.Text)
		}
	}
	want := []string{
		"t/a: dependsOn removed t-b",
		"t/a: catalog entry: description changed",
		"tenant t: catalog group added",
		"tenant t: changed ResourceQuota budget",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestWithFindings: an app's policy findings (waived ones aside) and
// cost delta get a line each; an app with findings and no change gets a
// summary; apps that changed alike are said once.
func TestWithFindings(t *testing.T) {
	apps := []AppSummary{{Team: "t", App: "a", Clusters: []string{"c1"}, Lines: []Line{{Text: "image 1 → 2", Clusters: []string{"c1"}}}}}
	lint := &policy.Report{Findings: []policy.Finding{
		{Policy: "p1", Severity: policy.Deny, Team: "t", App: "a", Cluster: "c1"},
		{Policy: "p2", Severity: policy.Warn, Team: "t", App: "a", Cluster: "c1"},
		{Policy: "p2", Severity: policy.Warn, Team: "t", App: "a", Cluster: "c1"},
		{Policy: "p3", Severity: policy.Warn, Team: "u", App: "b", Cluster: "c1"},
		{Policy: "p4", Severity: policy.Deny, Team: "t", App: "a", Cluster: "c1", Waiver: &policy.Waiver{Status: policy.WaiverActive}},
	}}
	cost := func(usd float64) policy.Costs {
		return policy.Costs{Apps: []policy.AppCost{{Team: "t", App: "a", Environments: []policy.EnvCost{{Environment: "prod", MonthlyUSD: usd}, {Environment: "dev", MonthlyUSD: 10}}}}}
	}
	got := WithFindings(apps, lint, cost(342), cost(427.5))
	var lines []string
	for _, a := range got {
		for _, l := range a.Lines {
			lines = append(lines, a.Name()+": "+l.Text)
		}
	}
	want := []string{
		"t/a: image 1 → 2",
		"t/a: policy 1 deny (p1), 2 warn (p2)",
		"t/a: monthly cost prod $342.00 → $427.50 (+$85.50)",
		"u/b: policy 1 warn (p3)",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("got %q\nwant %q", lines, want)
	}
	if len(apps[0].Lines) != 1 {
		t.Error("WithFindings changed its input")
	}

	same := []AppSummary{
		{Team: "t", App: "a", Clusters: []string{"c"}, Lines: []Line{{Text: "env changed X", Clusters: []string{"c"}}}},
		{Team: "t", App: "b", Clusters: []string{"c"}, Lines: []Line{{Text: "env changed X", Clusters: []string{"c"}}}},
		{Team: "u", App: "c", Clusters: []string{"c"}, Lines: []Line{{Text: "env changed Y", Clusters: []string{"c"}}}},
	}
	groups := groupSummaries(same, nil)
	if len(groups) != 2 || groups[0].title(0) != "t/a, t/b" || groups[1].title(0) != "u/c" {
		t.Errorf("groups: %+v", groups)
	}
	if g := (summaryGroup{names: []string{"a", "b", "c"}}); g.title(2) != "a, b and 1 more" {
		t.Errorf("title(2) = %q", g.title(2))
	}
}

// TestSecretValuesNeverShown: whatever the format, compact or full, a
// changed Secret shows its keys, never a value, in the summary and in the
// diffs.
func TestSecretValuesNeverShown(t *testing.T) {
	values := []string{"aHVudGVyMg==", "c3dvcmRmaXNo", "YWRtaW4=", "dG9rZW4=", "b2xk", "s3cr3t-string"}
	secret := func(pw string, extra map[string]any) render.Object {
		data := map[string]any{"password": pw, "user": "YWRtaW4="}
		for k, v := range extra {
			data[k] = v
		}
		return obj("v1", "Secret", "t", "creds", map[string]any{"data": data, "stringData": map[string]any{"raw": "s3cr3t-string"}})
	}
	before := clustered("t", "a", func(string, string) []render.Object {
		return objs(secret("aHVudGVyMg==", map[string]any{"old": "b2xk"}))
	})
	after := clustered("t", "a", func(string, string) []render.Object {
		return objs(secret("c3dvcmRmaXNo", map[string]any{"token": "dG9rZW4="}))
	})
	rep, err := Compute(before, after)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{}
	for _, full := range []bool{false, true} {
		var md, term bytes.Buffer
		if err := Markdown(&md, rep, MarkdownInput{Meta: Meta{Fleet: "f", Ref: "main"}, Source: "s", Budget: DefaultBudget, Full: full}); err != nil {
			t.Fatal(err)
		}
		if err := Terminal(&term, rep, TerminalInput{Full: full}); err != nil {
			t.Fatal(err)
		}
		outputs[fmt.Sprintf("markdown full=%v", full)] = md.String()
		outputs[fmt.Sprintf("terminal full=%v", full)] = term.String()
	}
	var js bytes.Buffer
	if err := JSON(&js, rep, Meta{}); err != nil {
		t.Fatal(err)
	}
	outputs["json"] = js.String()
	for name, out := range outputs {
		for _, v := range values {
			if strings.Contains(out, v) {
				t.Errorf("%s shows the secret value %q:\n%s", name, v, out)
			}
		}
		if name != "json" && !strings.Contains(out, "Secret creds keys added token; removed old; changed password") {
			t.Errorf("%s does not say which keys changed:\n%s", name, out)
		}
	}
}

// TestMarkdownFindingWithoutObject: a finding about an app, not an object
// (an unused exception), names the app in the findings table; no cell is
// an empty code span, which Markdown shows as two backticks.
func TestMarkdownFindingWithoutObject(t *testing.T) {
	lint := &policy.Report{Findings: []policy.Finding{
		{Policy: "waiver-unused", Severity: policy.Warn, Team: "t", App: "a", Message: "the exception matches no finding"},
		{Policy: "p", Severity: policy.Warn, Message: "about the fleet"},
	}}
	var b strings.Builder
	if err := Markdown(&b, &Report{}, MarkdownInput{Lint: lint}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "| warn | `waiver-unused` |  | app `t/a` | the exception matches no finding |") {
		t.Errorf("no row naming the app:\n%s", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "| warn |") && strings.Contains(l, "``") {
			t.Errorf("an empty code span: %s", l)
		}
	}
}
