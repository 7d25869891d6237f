# Cross-object network isolation and metrics coverage.
package paved.fleet

import data.paved.lib.k8s

# NetworkPolicies of the unit that select w's pods (a missing podSelector is
# treated as {}: every pod of the namespace).
_network_policies_of(w) := [np |
	some np in _of_kind("NetworkPolicy")
	_same_namespace(np, w)
	k8s.label_selector_matches(k8s.get(np, ["spec", "podSelector"], {}), k8s.pod_labels(w))
]

# METADATA
# title: Every workload must be selected by a NetworkPolicy of its unit
# description: Tenants are default-deny; an app without its own NetworkPolicy either gets no traffic at all or, where no default-deny exists, accepts traffic from anywhere.
# custom:
#   security-severity: "6.0"
#   tags: [security, networking]
#   remediation: Keep paved's NetworkPolicy for the app (dependsOn adds allows), or disable it with a justification in app.cue.
deny_network_policy_coverage contains result if {
	some w in _workloads
	not k8s.opted_out(w, "network-policy")
	count(_network_policies_of(w)) == 0
	path := k8s.closest(w, array.concat(k8s.pod_metadata_path(w), ["labels"]))
	result := k8s.fleet_result(w, sprintf("no NetworkPolicy of the unit selects the pods of %s, and it has no opt-out.paved.dev/network-policy justification", [k8s.display(w)]), path)
}

# A default-deny policy: selects every pod, restricts both directions and
# allows nothing.
_default_deny(np) if {
	selector := k8s.get(np, ["spec", "podSelector"], {})
	k8s.size(k8s.get(selector, "matchLabels", {})) == 0
	k8s.size(k8s.get(selector, "matchExpressions", [])) == 0
	types := k8s.get(np, ["spec", "policyTypes"], [])
	"Ingress" in types
	"Egress" in types
	k8s.size(k8s.get(np, ["spec", "ingress"], [])) == 0
	k8s.size(k8s.get(np, ["spec", "egress"], [])) == 0
}

# METADATA
# title: Tenant namespaces must have a default-deny NetworkPolicy
# description: Without default-deny every pod of the namespace accepts traffic from, and sends traffic to, anything in the cluster.
# custom:
#   security-severity: "7.0"
#   tags: [security, networking]
#   remediation: Keep the tenant's default-deny NetworkPolicy (podSelector {}, policyTypes Ingress and Egress, no rules) that paved renders.
deny_tenant_default_deny contains result if {
	some ns in _of_kind("Namespace")
	not _has_default_deny(ns.metadata.name)
	result := k8s.fleet_result(ns, sprintf("Namespace %s has no default-deny NetworkPolicy (podSelector {}, policyTypes Ingress and Egress, no rules) in the unit", [ns.metadata.name]), ["metadata", "name"])
}

_has_default_deny(namespace) if {
	some np in _of_kind("NetworkPolicy")
	k8s.namespace(np) == namespace
	_default_deny(np)
}

# Services of the unit that select w's pods.
_services_of(w) := [svc |
	some svc in _of_kind("Service")
	_same_namespace(svc, w)
	k8s.map_selector_matches(k8s.get(svc, ["spec", "selector"], {}), k8s.pod_labels(w))
]

# A ServiceMonitor watches a Service: its selector matches the Service labels
# and its namespaceSelector (default: its own namespace) covers the Service.
_monitors_service(sm, svc) if {
	k8s.label_selector_matches(k8s.get(sm, ["spec", "selector"], null), k8s.labels(svc))
	_monitor_namespace_covers(sm, k8s.namespace(svc))
}

_monitor_namespace_covers(sm, _) if k8s.get(sm, ["spec", "namespaceSelector", "any"], false) == true

_monitor_namespace_covers(sm, namespace) if namespace in k8s.get(sm, ["spec", "namespaceSelector", "matchNames"], [])

_monitor_namespace_covers(sm, namespace) if {
	k8s.size(k8s.get(sm, ["spec", "namespaceSelector", "matchNames"], [])) == 0
	k8s.get(sm, ["spec", "namespaceSelector", "any"], false) != true
	k8s.namespace(sm) == namespace
}

_scraped(w) if {
	some svc in _services_of(w)
	some sm in _of_kind("ServiceMonitor")
	_monitors_service(sm, svc)
}

_scraped(w) if {
	some pm in _of_kind("PodMonitor")
	_same_namespace(pm, w)
	k8s.label_selector_matches(k8s.get(pm, ["spec", "selector"], null), k8s.pod_labels(w))
}

# METADATA
# title: Long-running workloads should be scraped for metrics, or justify opting out
# description: Without a ServiceMonitor the default alerts (availability, restarts, saturation) have no data and never fire. A warning because it blinds operators, not the running service.
# custom:
#   security-severity: "2.0"
#   tags: [observability]
#   remediation: Keep observability.metrics in app.cue (paved renders a Service port and ServiceMonitor), or disable it with a justification.
warn_metrics_scraped contains result if {
	some w in _workloads
	w.kind in {"Deployment", "StatefulSet"}
	not k8s.opted_out(w, "metrics")
	not _scraped(w)
	path := k8s.closest(w, array.concat(k8s.pod_metadata_path(w), ["labels"]))
	result := k8s.fleet_result(w, sprintf("no ServiceMonitor or PodMonitor of the unit scrapes %s, and it has no opt-out.paved.dev/metrics justification", [k8s.display(w)]), path)
}
