# Progressive rollouts (Flagger Canary objects, flagger.app): the
# analysis that decides a promotion needs metrics to judge by.
package paved.fleet

import data.paved.lib.k8s

_canaries := [cd |
	some cd in _of_kind("Canary")
	startswith(k8s.get_string(cd, ["apiVersion"]), "flagger.app/")
]

# The workload a Canary targets (kind and name, same namespace).
_canary_targets(cd) := [w |
	some w in _workloads
	_same_namespace(cd, w)
	w.kind == k8s.get(cd, ["spec", "targetRef", "kind"], "")
	w.metadata.name == k8s.get(cd, ["spec", "targetRef", "name"], "")
]

# METADATA
# title: Canary and blue-green apps must expose metrics
# description: Flagger promotes or rolls back a new version by the metrics of its pods. With metrics turned off, or pods nobody scrapes, every check finds no data and no release ever completes, or, with the checks removed, a broken one is promoted blind.
# custom:
#   security-severity: "5.0"
#   tags: [reliability, observability]
#   remediation: Keep observability.metrics enabled in app.cue for an app with rollout.strategy canary or blue-green, or go back to the rolling strategy.
deny_canary_metrics contains result if {
	some cd in _canaries
	some w in _canary_targets(cd)
	k8s.opted_out(w, "metrics")
	result := k8s.fleet_result(cd, sprintf("%s rolls out %s, whose metrics are turned off (opt-out.paved.dev/metrics): the analysis has nothing to judge the new version by", [k8s.display(cd), k8s.display(w)]), ["spec", "targetRef"])
}

deny_canary_metrics contains result if {
	some cd in _canaries
	some w in _canary_targets(cd)
	not k8s.opted_out(w, "metrics")
	not _scraped(w)
	result := k8s.fleet_result(cd, sprintf("%s rolls out %s, whose pods no PodMonitor or ServiceMonitor of the unit scrapes: the analysis has nothing to judge the new version by", [k8s.display(cd), k8s.display(w)]), ["spec", "targetRef"])
}

# METADATA
# title: A canary analysis should be able to fail
# description: An analysis without metric checks passes whatever the new version does; Flagger then promotes it after the steps or iterations, like a slow rolling update.
# custom:
#   security-severity: "3.0"
#   tags: [reliability]
#   remediation: Keep at least one of rollout.analysis.requestSuccessRate and requestDuration enabled in app.cue.
warn_canary_analysis contains result if {
	some cd in _canaries
	not k8s.get(cd, ["spec", "skipAnalysis"], false) == true
	k8s.size(k8s.get(cd, ["spec", "analysis", "metrics"], [])) == 0
	result := k8s.fleet_result(cd, sprintf("%s has no metric checks: its analysis cannot fail, so every new version is promoted", [k8s.display(cd)]), k8s.closest(cd, ["spec", "analysis", "metrics"]))
}

warn_canary_analysis contains result if {
	some cd in _canaries
	k8s.get(cd, ["spec", "skipAnalysis"], false) == true
	result := k8s.fleet_result(cd, sprintf("%s skips its analysis: every new version is promoted unchecked", [k8s.display(cd)]), ["spec", "skipAnalysis"])
}
