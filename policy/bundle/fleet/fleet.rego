# Cross-object checks, evaluated once per unit: one kustomization directory
# (one app in one cluster, or one team's tenant in one cluster).
# input: {"cluster": "prod-eu-1", "environment": "prod", "objects": [...]}.
# Every result names the object it is about in "object"; "path" is a path
# into that object.
package paved.fleet

import data.paved.lib.k8s

_objects := [o | some o in input.objects; is_object(o)]

# Objects of the unit of a kind.
_of_kind(kind) := [o | some o in _objects; o.kind == kind]

# Workloads that run pods (Deployment, StatefulSet, CronJob, ...).
_workloads := [w | some w in _objects; k8s.pod_spec(w)]

_same_namespace(a, b) if k8s.namespace(a) == k8s.namespace(b)

# HorizontalPodAutoscalers of the unit that scale workload w.
_hpas_of(w) := [hpa |
	some hpa in _of_kind("HorizontalPodAutoscaler")
	_same_namespace(hpa, w)
	k8s.get(hpa, ["spec", "scaleTargetRef", "kind"], "") == w.kind
	k8s.get(hpa, ["spec", "scaleTargetRef", "name"], "") == w.metadata.name
]

# The fewest replicas w runs: spec.replicas, or the minReplicas of the HPA
# that scales it (Kubernetes defaults: 1).
_min_replicas(w) := min([n | some hpa in _hpas_of(w); n := k8s.get(hpa, ["spec", "minReplicas"], 1)]) if {
	count(_hpas_of(w)) > 0
} else := k8s.get(w, ["spec", "replicas"], 1)

_replicated(w) if {
	w.kind in k8s.replicated_kinds
	_min_replicas(w) >= 2
}

# PodDisruptionBudgets of the unit whose selector selects w's pods (a null
# selector selects nothing, {} everything).
_pdbs_of(w) := [pdb |
	some pdb in _of_kind("PodDisruptionBudget")
	_same_namespace(pdb, w)
	k8s.label_selector_matches(k8s.get(pdb, ["spec", "selector"], null), k8s.pod_labels(w))
]

# METADATA
# title: Replicated prod workloads should have a PodDisruptionBudget
# description: Without a PDB a node drain or cluster upgrade may evict every replica at once, taking the app down.
# custom:
#   security-severity: "3.0"
#   tags: [reliability]
#   remediation: Keep replicas.min at 2 or more in app.cue so paved renders a PodDisruptionBudget, and do not remove it in patches.
warn_pdb_coverage contains result if {
	input.environment == "prod"
	some w in _workloads
	_replicated(w)
	count(_pdbs_of(w)) == 0
	path := k8s.closest(w, array.concat(k8s.pod_metadata_path(w), ["labels"]))
	result := k8s.fleet_result(w, sprintf("%s runs at least %d replicas in prod but no PodDisruptionBudget of the unit selects its pods", [k8s.display(w), _min_replicas(w)]), path)
}

# METADATA
# title: PodDisruptionBudgets should allow at least one eviction
# description: A PDB with maxUnavailable 0, or minAvailable at or above the replica count, blocks node drains and cluster upgrades forever.
# custom:
#   security-severity: "3.0"
#   tags: [reliability]
#   remediation: Use maxUnavailable 1 (paved's default) or a minAvailable below replicas.min.
warn_pdb_allows_eviction contains result if {
	some pdb in _of_kind("PodDisruptionBudget")
	k8s.get(pdb, ["spec", "maxUnavailable"], null) in {0, "0%"}
	result := k8s.fleet_result(pdb, sprintf("%s sets maxUnavailable %v, so no pod can ever be evicted", [k8s.display(pdb), pdb.spec.maxUnavailable]), ["spec", "maxUnavailable"])
}

warn_pdb_allows_eviction contains result if {
	some pdb in _of_kind("PodDisruptionBudget")
	k8s.get(pdb, ["spec", "minAvailable"], null) == "100%"
	result := k8s.fleet_result(pdb, sprintf("%s sets minAvailable 100%%, so no pod can ever be evicted", [k8s.display(pdb)]), ["spec", "minAvailable"])
}

warn_pdb_allows_eviction contains result if {
	some pdb in _of_kind("PodDisruptionBudget")
	min_available := k8s.get(pdb, ["spec", "minAvailable"], null)
	is_number(min_available)
	some w in _workloads
	w.kind in k8s.replicated_kinds
	_same_namespace(pdb, w)
	k8s.label_selector_matches(k8s.get(pdb, ["spec", "selector"], null), k8s.pod_labels(w))
	min_available >= _min_replicas(w)
	result := k8s.fleet_result(pdb, sprintf("%s requires %d pods available but %s may run only %d, so none can be evicted", [k8s.display(pdb), min_available, k8s.display(w), _min_replicas(w)]), ["spec", "minAvailable"])
}

# METADATA
# title: Workloads scaled by an HPA must not set spec.replicas
# description: Flux re-applies spec.replicas on every reconcile and fights the autoscaler, resetting the replica count every interval.
# custom:
#   security-severity: "4.0"
#   tags: [reliability]
#   remediation: Remove spec.replicas from the workload (paved omits it when it renders an HPA); check the patches in app.cue.
deny_hpa_replicas contains result if {
	some w in _workloads
	count(_hpas_of(w)) > 0
	k8s.get(w, ["spec", "replicas"], null) != null
	result := k8s.fleet_result(w, sprintf("%s sets spec.replicas %v but is scaled by HorizontalPodAutoscaler %s", [k8s.display(w), w.spec.replicas, _hpas_of(w)[0].metadata.name]), ["spec", "replicas"])
}

# METADATA
# title: HorizontalPodAutoscalers should target a workload of their unit
# description: An autoscaler whose target is missing or misspelt scales nothing, so the app never scales under load.
# custom:
#   security-severity: "2.0"
#   tags: [reliability, hygiene]
#   remediation: Point spec.scaleTargetRef at the app's Deployment or StatefulSet (kind and name).
warn_hpa_target contains result if {
	some hpa in _of_kind("HorizontalPodAutoscaler")
	not _hpa_target_exists(hpa)
	target := k8s.get(hpa, ["spec", "scaleTargetRef"], {})
	msg := sprintf("%s targets %v/%v, which is not in the unit", [k8s.display(hpa), k8s.get(target, "kind", ""), k8s.get(target, "name", "")])
	result := k8s.fleet_result(hpa, msg, k8s.closest(hpa, ["spec", "scaleTargetRef"]))
}

_hpa_target_exists(hpa) if {
	some w in _workloads
	hpa in _hpas_of(w)
}

# METADATA
# title: Services with a selector should select pods of their unit
# description: A Service whose selector matches no pod has no endpoints, so every request to it fails.
# custom:
#   security-severity: "2.0"
#   tags: [reliability, networking]
#   remediation: Make spec.selector of the Service match the pod template labels of the app's workload.
warn_service_selects_pods contains result if {
	some svc in _of_kind("Service")
	selector := k8s.get(svc, ["spec", "selector"], {})
	k8s.size(selector) > 0
	not _selects_workload(svc)
	result := k8s.fleet_result(svc, sprintf("%s selects no pod of the unit", [k8s.display(svc)]), ["spec", "selector"])
}

_selects_workload(svc) if {
	some w in _workloads
	_same_namespace(svc, w)
	k8s.map_selector_matches(svc.spec.selector, k8s.pod_labels(w))
}
