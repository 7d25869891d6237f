package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/paved-dev/paved/schema"
)

// DashboardUID is the UID of an app's Grafana dashboard: paved-<team>-<app>,
// or, beyond Grafana's 40 characters, paved- and a digest of team/app.
func DashboardUID(team, app string) string {
	uid := "paved-" + team + "-" + app
	if len(uid) <= 40 {
		return uid
	}
	sum := sha256.Sum256([]byte(team + "/" + app))
	return "paved-" + hex.EncodeToString(sum[:])[:20]
}

// dashboardJSON builds the Grafana dashboard of an app in one environment
// (its clusters share it: the dashboard selects the cluster) with
// the Grafana Foundation SDK's typed builders: the golden signals from the
// metrics the app is scraped for (request rate, errors and latency
// percentiles of a web app's HTTP server histogram, when its metrics are
// on), saturation (CPU and memory against requests and limits), restarts
// and replicas (HPA bounds when it has one); a cron job gets its runs and
// saturation. Template variables pick the cluster and namespace; links
// open the app's traces and logs in Explore. The JSON is compact (a
// fifth of a 1,000-app fleet's bytes were a dashboard's indentation);
// diff shows it indented.
func dashboardJSON(p *schema.Platform, spec schema.Spec) ([]byte, error) {
	d := p.Data.Dashboards
	metrics := common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr(d.Datasources.Metrics)}
	app, team := spec.Name, spec.Team
	podRegex, deployment := workloadNames(spec)
	sel := `cluster=~"$cluster", namespace="$namespace"`
	pods := fmt.Sprintf(`%s, pod=~"%s", container="app"`, sel, podRegex)
	// The app's own metrics by its pods: a ServiceMonitor and a PodMonitor
	// (a progressive app's, whose Services Flagger owns) both label them
	// with the pod.
	svc := fmt.Sprintf(`%s, pod=~"%s"`, sel, podRegex)

	// The v1 dashboard model, deprecated in the SDK for dashboardv2, is
	// what Grafana's file provisioning and its dashboard sidecar read
	// from a ConfigMap; v2 is the app platform's API resource, which a
	// provisioned file cannot carry.
	//lint:ignore SA1019 the sidecar provisions the v1 JSON model
	b := dashboard.NewDashboardBuilder(team+"/"+app).
		Uid(DashboardUID(team, app)).
		Description(fmt.Sprintf("Golden signals of %s/%s (%s), rendered by paved.", team, app, spec.Kind)).
		Tags([]string{"paved", team, spec.Kind}).
		Editable().
		Refresh("1m").
		Time("now-6h", "now").
		Timezone(common.TimeZoneBrowser).
		WithVariable(queryVariable("cluster", "Cluster", metrics, `label_values(kube_pod_info, cluster)`, true, "")).
		WithVariable(queryVariable("namespace", "Namespace", metrics, `label_values(kube_pod_info{cluster=~"$cluster"}, namespace)`, false, team)).
		Link(exploreLink("Traces", "tempo", d.Datasources.Traces, map[string]any{
			"refId": "A", "queryType": "traceql", "query": fmt.Sprintf(`{resource.service.name="%s"}`, app),
		})).
		Link(exploreLink("Logs", "loki", d.Datasources.Logs, map[string]any{
			"refId": "A", "expr": fmt.Sprintf(`{namespace="%s", pod=~"%s", container="app"}`, team, podRegex),
		}))

	// Panels and rows are numbered in order, as Grafana numbers them.
	var id uint32
	next := func() uint32 { id++; return id }
	row := func(title string) *dashboard.RowBuilder { return dashboard.NewRowBuilder(title).Id(next()) }
	series := func(title, unit, desc string, targets ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
		pb := timeseries.NewPanelBuilder().Id(next()).Title(title).Description(desc).Unit(unit).Datasource(metrics).Height(8).Span(12).Min(0).
			Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom).Calcs([]string{})).
			Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderNone))
		for i, t := range targets {
			pb.WithTarget(t.RefId(string(rune('A' + i))))
		}
		return pb
	}
	q := func(expr, legend string) *prometheus.DataqueryBuilder {
		return prometheus.NewDataqueryBuilder().Expr(expr).LegendFormat(legend)
	}

	if spec.Kind == "web" && spec.Observability.Metrics.Enabled {
		h, status := p.Data.Metrics.HTTPDuration, p.Data.Metrics.StatusLabel
		b.WithRow(row("Traffic")).
			WithPanel(series("Request rate", "reqps", "Requests per second served, by status code.",
				q(fmt.Sprintf(`sum by (%s) (rate(%s_count{%s}[$__rate_interval]))`, status, h, svc), "{{"+status+"}}"))).
			WithPanel(series("Errors", "percentunit", "Share of requests answered with a 5xx status.",
				q(fmt.Sprintf(`sum(rate(%s_count{%s, %s=~"5.."}[$__rate_interval])) / sum(rate(%s_count{%s}[$__rate_interval]))`, h, svc, status, h, svc), "5xx"))).
			WithPanel(series("Latency", "s", "Request duration percentiles.",
				q(fmt.Sprintf(`histogram_quantile(0.5, sum by (le) (rate(%s_bucket{%s}[$__rate_interval])))`, h, svc), "p50"),
				q(fmt.Sprintf(`histogram_quantile(0.95, sum by (le) (rate(%s_bucket{%s}[$__rate_interval])))`, h, svc), "p95"),
				q(fmt.Sprintf(`histogram_quantile(0.99, sum by (le) (rate(%s_bucket{%s}[$__rate_interval])))`, h, svc), "p99")))
	}
	if spec.Kind == "cron" {
		b.WithRow(row("Runs")).
			WithPanel(series("Job runs", "short", "Jobs of the CronJob that succeeded and failed.",
				q(fmt.Sprintf(`sum(kube_job_status_succeeded{%s, job_name=~"%s-[0-9]+"})`, sel, app), "succeeded"),
				q(fmt.Sprintf(`sum(kube_job_status_failed{%s, job_name=~"%s-[0-9]+"})`, sel, app), "failed"))).
			WithPanel(stat.NewPanelBuilder().Id(next()).Title("Since the last success").Description("Time since the CronJob last completed a run.").
				Unit("s").Datasource(metrics).Height(8).Span(12).Orientation(common.VizOrientationAuto).
				ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false)).
				WithTarget(q(fmt.Sprintf(`time() - max(kube_cronjob_status_last_successful_time{%s, cronjob="%s"})`, sel, app), "").RefId("A")))
	}
	resources := func(resource, usage, unit, title string) *timeseries.PanelBuilder {
		return series(title, unit, fmt.Sprintf("Use of the app container against its %s requests and limits.", resource),
			q(usage, "used"),
			q(fmt.Sprintf(`sum(kube_pod_container_resource_requests{%s, resource="%s"})`, pods, resource), "requested"),
			q(fmt.Sprintf(`sum(kube_pod_container_resource_limits{%s, resource="%s"})`, pods, resource), "limit"))
	}
	b.WithRow(row("Saturation")).
		WithPanel(resources("cpu", fmt.Sprintf(`sum(rate(container_cpu_usage_seconds_total{%s}[$__rate_interval]))`, pods), "short", "CPU (cores)")).
		WithPanel(resources("memory", fmt.Sprintf(`sum(container_memory_working_set_bytes{%s})`, pods), "bytes", "Memory")).
		WithPanel(series("Restarts", "short", "Container restarts over the last 15 minutes.",
			q(fmt.Sprintf(`sum(increase(kube_pod_container_status_restarts_total{%s}[15m]))`, pods), "restarts")))
	if spec.Kind != "cron" {
		targets := []*prometheus.DataqueryBuilder{
			q(fmt.Sprintf(`sum(kube_deployment_status_replicas_available{%s, deployment="%s"})`, sel, deployment), "available"),
		}
		// Flagger's primary has the HPA of a progressive app's pods.
		if r := spec.Replicas; r != nil && r.Max > r.Min || spec.Rollout.Progressive() {
			hpa := fmt.Sprintf(`%s, horizontalpodautoscaler="%s"`, sel, deployment)
			targets = append(targets,
				q(fmt.Sprintf(`max(kube_horizontalpodautoscaler_status_desired_replicas{%s})`, hpa), "desired"),
				q(fmt.Sprintf(`max(kube_horizontalpodautoscaler_spec_min_replicas{%s})`, hpa), "min"),
				q(fmt.Sprintf(`max(kube_horizontalpodautoscaler_spec_max_replicas{%s})`, hpa), "max"))
		}
		b.WithPanel(series("Replicas", "short", "Available replicas, and the autoscaler's target and bounds.", targets...))
	}
	db, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("dashboard of %s/%s: %w", team, app, err)
	}
	if err := db.Validate(); err != nil {
		return nil, fmt.Errorf("dashboard of %s/%s: %w", team, app, err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(db); err != nil {
		return nil, err
	}
	// With its final newline the file holds it as a YAML literal block, on
	// one line, rather than as a quoted string folded at spaces.
	return buf.Bytes(), nil
}

// fillDashboard puts the app's dashboard (dashboardJSON) into the
// ConfigMap the blueprint made for it (<app>-dashboard, key
// <team>-<app>.json).
func fillDashboard(spec schema.Spec, objs []Object, js string) error {
	for _, o := range objs {
		md, _ := o["metadata"].(map[string]any)
		if o["kind"] != "ConfigMap" || md["name"] != spec.Name+"-dashboard" {
			continue
		}
		o["data"] = map[string]any{spec.Team + "-" + spec.Name + ".json": js}
		return nil
	}
	return fmt.Errorf("blueprint %s made no ConfigMap %s-dashboard", spec.Kind, spec.Name)
}

func queryVariable(name, label string, ds common.DataSourceRef, query string, all bool, current string) *dashboard.QueryVariableBuilder {
	v := dashboard.NewQueryVariableBuilder(name).Label(label).Datasource(ds).
		Query(dashboard.StringOrMap{String: cog.ToPtr(query)}).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc)
	if all {
		v.IncludeAll(true).AllValue(".*")
	}
	if current != "" {
		v.Current(dashboard.VariableOption{
			Text:  dashboard.StringOrArrayOfString{String: cog.ToPtr(current)},
			Value: dashboard.StringOrArrayOfString{String: cog.ToPtr(current)},
		})
	}
	return v
}

// exploreLink opens Explore on a datasource with one query, over the
// dashboard's time range.
func exploreLink(title, dsType, uid string, query map[string]any) *dashboard.DashboardLinkBuilder {
	query["datasource"] = map[string]string{"type": dsType, "uid": uid}
	panes := map[string]any{"paved": map[string]any{
		"datasource": uid,
		"queries":    []any{query},
		"range":      map[string]string{"from": "now-1h", "to": "now"},
	}}
	js, _ := json.Marshal(panes) // maps of strings: cannot fail
	return dashboard.NewDashboardLinkBuilder(title).
		Type(dashboard.DashboardLinkTypeLink).
		Url("/explore?schemaVersion=1&panes=" + url.QueryEscape(string(js))).
		Icon("external link").
		Tooltip(title + " of this app in Explore").
		TargetBlank(true).
		KeepTime(true).
		IncludeVars(false).
		Tags([]string{}).
		AsDropdown(false)
}
