package promcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	flaggerv1 "github.com/fluxcd/flagger/pkg/apis/flagger/v1beta1"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"
	"sigs.k8s.io/yaml"
)

// The app the check renders and instruments: a canary web app of the
// examples, in the cluster the dashboards select.
const (
	team    = "payments"
	app     = "checkout"
	cluster = "prod-eu-1"
	// The new version's pod (what Flagger's analysis measures) and the
	// primary's (what it must not).
	canaryPod  = "checkout-7c9d8f6b5d-x2x9k"
	primaryPod = "checkout-primary-6d5f7c8b9-abcde"
)

// series writes the synthetic scrape of one app instrumented as the
// platform's metric vocabulary says (OpenTelemetry's
// http.server.request.duration, in seconds, as the OpenTelemetry
// Collector's Prometheus exporter names it, with the status code label),
// plus what kube-state-metrics and cAdvisor expose for its pods, every
// 15 s for 20 minutes. Each pod serves ok requests (status 200) and
// errors (status 500) per 15 s; ok requests fall into the buckets by
// okBuckets (cumulative: ≤50 ms, ≤100 ms, ≤250 ms, ≤500 ms), errors all
// take 250–500 ms.
func series(ok, errors int, okBuckets [4]int) string {
	var b strings.Builder
	b.WriteString("load 15s\n")
	les := []string{"0.05", "0.1", "0.25", "0.5", "+Inf"}
	for _, pod := range []string{canaryPod, primaryPod} {
		base := fmt.Sprintf(`cluster="%s",namespace="%s",pod="%s"`, cluster, team, pod)
		for _, st := range []struct {
			code    string
			n       int
			buckets []int
		}{
			{"200", ok, append(okBuckets[:], ok)},
			{"500", errors, []int{0, 0, 0, errors, errors}},
		} {
			fmt.Fprintf(&b, "  http_server_request_duration_seconds_count{%s,http_request_method=\"GET\",http_response_status_code=\"%s\"} 0+%dx80\n", base, st.code, st.n)
			fmt.Fprintf(&b, "  http_server_request_duration_seconds_sum{%s,http_request_method=\"GET\",http_response_status_code=\"%s\"} 0+%dx80\n", base, st.code, st.n/10)
			for i, le := range les {
				fmt.Fprintf(&b, "  http_server_request_duration_seconds_bucket{%s,http_request_method=\"GET\",http_response_status_code=\"%s\",le=\"%s\"} 0+%dx80\n", base, st.code, le, st.buckets[i])
			}
		}
		ctr := base + `,container="app"`
		fmt.Fprintf(&b, "  container_cpu_usage_seconds_total{%s} 0+3x80\n", ctr)
		fmt.Fprintf(&b, "  container_memory_working_set_bytes{%s} 200000000+0x80\n", ctr)
		fmt.Fprintf(&b, "  kube_pod_container_resource_requests{%s,resource=\"cpu\",unit=\"core\"} 0.25+0x80\n", ctr)
		fmt.Fprintf(&b, "  kube_pod_container_resource_limits{%s,resource=\"cpu\",unit=\"core\"} 0.5+0x80\n", ctr)
		fmt.Fprintf(&b, "  kube_pod_container_resource_requests{%s,resource=\"memory\",unit=\"byte\"} 268435456+0x80\n", ctr)
		fmt.Fprintf(&b, "  kube_pod_container_resource_limits{%s,resource=\"memory\",unit=\"byte\"} 268435456+0x80\n", ctr)
		fmt.Fprintf(&b, "  kube_pod_container_status_restarts_total{%s} 0+0x80\n", ctr)
		fmt.Fprintf(&b, "  kube_pod_info{%s} 1+0x80\n", base)
	}
	sel := fmt.Sprintf(`cluster="%s",namespace="%s"`, cluster, team)
	fmt.Fprintf(&b, "  kube_deployment_status_replicas_available{%s,deployment=\"%s-primary\"} 2+0x80\n", sel, app)
	fmt.Fprintf(&b, "  kube_deployment_status_replicas_unavailable{%s,deployment=\"%s-primary\"} 0+0x80\n", sel, app)
	for _, m := range []string{"status_desired_replicas", "spec_min_replicas", "spec_max_replicas"} {
		fmt.Fprintf(&b, "  kube_horizontalpodautoscaler_%s{%s,horizontalpodautoscaler=\"%s-primary\"} 2+0x80\n", m, sel, app)
	}
	return b.String()
}

// TestQueriesReadWhatAppsExpose (issue 28): Flagger's analysis, the
// dashboard and the alerts read the same series. Over the scrape of an
// app instrumented as the platform's vocabulary says, Prometheus' own
// engine evaluates each rendered query, after Flagger's and Grafana's
// template substitution: the canary checks measure the new version's pods
// alone and return the success rate and p99 the data hold; every
// dashboard panel returns data; the error alert fires on errors only.
func TestQueriesReadWhatAppsExpose(t *testing.T) {
	tree := render(t)
	dir := filepath.Join(tree, "apps", cluster, team, app)

	// Flagger's queries, rendered as Flagger renders them for the
	// Canary's metrics (its analysis interval).
	var canary struct {
		Spec struct {
			Analysis struct {
				Metrics []struct {
					Name        string `json:"name"`
					Interval    string `json:"interval"`
					TemplateRef struct {
						Name string `json:"name"`
					} `json:"templateRef"`
				} `json:"metrics"`
			} `json:"analysis"`
		} `json:"spec"`
	}
	read(t, filepath.Join(dir, "flagger.app_v1beta1_canary_"+app+".yaml"), &canary)
	flagger := map[string]string{} // template name → query
	for _, m := range canary.Spec.Analysis.Metrics {
		var mt struct {
			Spec struct {
				Query string `json:"query"`
			} `json:"spec"`
		}
		read(t, filepath.Join(dir, "flagger.app_v1beta1_metrictemplate_"+m.TemplateRef.Name+".yaml"), &mt)
		model := flaggerv1.MetricTemplateModel{Name: app, Namespace: team, Target: app, Service: app, Interval: m.Interval}
		tpl, err := template.New("tmpl").Option("missingkey=error").Funcs(model.TemplateFunctions()).Parse(mt.Spec.Query)
		if err != nil {
			t.Fatalf("%s: Flagger cannot parse the query: %v", m.TemplateRef.Name, err)
		}
		var q bytes.Buffer
		if err := tpl.Execute(&q, nil); err != nil {
			t.Fatalf("%s: Flagger cannot render the query: %v", m.TemplateRef.Name, err)
		}
		flagger[m.TemplateRef.Name] = q.String()
	}
	if len(flagger) != 2 {
		t.Fatalf("the canary of %s/%s has %d metric templates, want the success rate and the duration", team, app, len(flagger))
	}

	// 4 ok and 0.2 failed requests per second on each pod; ok requests:
	// 30 ≤ 50 ms, 15 more ≤ 100 ms, 12 more ≤ 250 ms, 3 more ≤ 500 ms.
	healthy := storageOf(t, series(60, 3, [4]int{30, 45, 57, 60}))
	at := time.Unix(0, 0).Add(15 * time.Minute)

	rate := eval(t, healthy, flagger[app+"-request-success-rate"], at)
	if len(rate) != 1 || math.Abs(rate[0]-100*60.0/63.0) > 1e-6 {
		t.Errorf("canary success rate = %v, want one value, %.4f (the new version's pod alone)", rate, 100*60.0/63.0)
	}
	// p99 of 63 requests a pod per 15 s: rank 62.37 lies in (250 ms,
	// 500 ms], which holds ranks 57 to 63: 250 + 250 × 5.37/6 ms.
	p99 := eval(t, healthy, flagger[app+"-request-duration"], at)
	if want := 250 + 250*5.37/6; len(p99) != 1 || math.Abs(p99[0]-want) > 1e-6 {
		t.Errorf("canary p99 = %v ms, want %.3f", p99, want)
	}
	// A query that also counted the primary's pods would not see the
	// canary's errors alone: give only the primary errors.
	primaryOnly := storageOf(t, strings.ReplaceAll(series(60, 3, [4]int{30, 45, 57, 60}), canaryPod, "ignored-pod-zzzzz"))
	if r := eval(t, primaryOnly, flagger[app+"-request-success-rate"], at); len(r) != 0 {
		t.Errorf("the canary success rate reads pods other than the new version's: %v", r)
	}

	// The dashboard, as Grafana runs it: one cluster, the team's
	// namespace, its rate interval.
	var cm struct {
		Data map[string]string `json:"data"`
	}
	read(t, filepath.Join(dir, "core_v1_configmap_"+app+"-dashboard.yaml"), &cm)
	var exprs []string
	for _, js := range cm.Data {
		var db struct {
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal([]byte(js), &db); err != nil {
			t.Fatal(err)
		}
		for _, p := range db.Panels {
			for _, tg := range p.Targets {
				exprs = append(exprs, tg.Expr)
			}
		}
	}
	grafana := strings.NewReplacer("$cluster", cluster, "$namespace", team, "$__rate_interval", "1m")
	http := 0
	for _, e := range exprs {
		if strings.Contains(e, "http_server_request_duration_seconds") {
			http++
		}
		if v := eval(t, healthy, grafana.Replace(e), at); len(v) == 0 {
			t.Errorf("dashboard query returns no data: %s", e)
		}
	}
	if http < 3 || len(exprs) < 10 {
		t.Errorf("the dashboard has %d queries, %d of them on the HTTP histogram: want the golden signals", len(exprs), http)
	}

	// The HTTP error alert: quiet at 4.8% errors, firing at 20%.
	var rule struct {
		Spec struct {
			Groups []struct {
				Rules []struct {
					Alert string `json:"alert"`
					Expr  string `json:"expr"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	read(t, filepath.Join(dir, "monitoring.coreos.com_v1_prometheusrule_"+app+".yaml"), &rule)
	found := false
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert != "PavedAppHTTPErrors" {
				continue
			}
			found = true
			if v := eval(t, healthy, r.Expr, at); len(v) != 0 {
				t.Errorf("%s fires at 4.8%% errors: %v", r.Alert, v)
			}
			failing := storageOf(t, series(60, 15, [4]int{30, 45, 57, 60}))
			if v := eval(t, failing, r.Expr, at); len(v) != 1 {
				t.Errorf("%s does not fire at 20%% errors: %v", r.Alert, v)
			}
		}
	}
	if !found {
		t.Errorf("no PavedAppHTTPErrors alert for web app %s/%s", team, app)
	}
}

// render renders the examples with paved, built from this repository.
func render(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	bin := filepath.Join(work, "paved")
	build := exec.Command("go", "build", "-o", bin, "./cmd/paved")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build paved: %v\n%s", err, out)
	}
	out := filepath.Join(work, "fleet")
	cmd := exec.Command(bin, "render", filepath.Join(root, "examples"), "--out", out)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1700000000")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("paved render: %v\n%s", err, b)
	}
	return out
}

func read(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func storageOf(t *testing.T, load string) storage.Storage {
	t.Helper()
	return promqltest.LoadedStorage(t, load)
}

// eval runs an instant query with Prometheus' engine and returns the
// samples' values (sorted by the engine).
func eval(t *testing.T, st storage.Storage, expr string, at time.Time) []float64 {
	t.Helper()
	engine := promqltest.NewTestEngineWithOpts(t, promql.EngineOpts{MaxSamples: 1_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	q, err := engine.NewInstantQuery(context.Background(), st, nil, expr, at)
	if err != nil {
		t.Fatalf("Prometheus cannot parse %q: %v", expr, err)
	}
	defer q.Close()
	res := q.Exec(context.Background())
	if res.Err != nil {
		t.Fatalf("Prometheus cannot evaluate %q: %v", expr, res.Err)
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		out := make([]float64, len(v))
		for i, s := range v {
			out[i] = s.F
		}
		return out
	case promql.Scalar:
		return []float64{v.V}
	default:
		t.Fatalf("%q: unexpected result type %T", expr, res.Value)
		return nil
	}
}
