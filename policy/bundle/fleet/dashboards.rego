# Dashboards against what the app exposes.
package paved.fleet

import data.paved.lib.k8s

# A ConfigMap the platform's Grafana sidecar picks up as a dashboard.
_dashboard(cm) if {
	label := data.paved.platform.dashboards.label
	k8s.labels(cm)[label.key] == label.value
}

# METADATA
# title: Dashboards should read only metrics the app exposes
# description: A dashboard whose panels query the app's HTTP server metrics while the app's metrics are turned off shows empty panels, which read as "no traffic" where there is no data.
# custom:
#   security-severity: "1.0"
#   tags: [observability]
#   remediation: Turn observability.metrics back on in app.cue, or observability.dashboard off with a justification; paved's own dashboard leaves the request panels out for an app without metrics, so a patch or a hand edit put them there.
warn_dashboard_metrics contains result if {
	some cm in _of_kind("ConfigMap")
	_dashboard(cm)
	some w in _workloads
	_same_namespace(cm, w)
	k8s.opted_out(w, "metrics")
	some key, body in k8s.get(cm, ["data"], {})
	metric := data.paved.platform.metrics.httpDuration
	contains(body, metric)
	result := k8s.fleet_result(cm, sprintf("dashboard %s reads %s, but %s does not expose metrics (opt-out.paved.dev/metrics)", [k8s.display(cm), metric, k8s.display(w)]), ["data", key])
}
