# Object metadata: labels, namespaces, selectors, API versions.
package paved.k8s

import data.paved.lib.k8s
import data.paved.lib.platform

# Labels every object paved renders carries (tenants and Flux objects too).
required_labels := ["app.kubernetes.io/managed-by", "paved.dev/team"]

# Kinds that make up an app and must also say which app they belong to:
# k8s.long_running_kinds, k8s.batch_kinds and these (a literal: a union
# would be computed again for every object).
app_component_kinds := {
	"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController",
	"Job", "CronJob",
	"Pod", "Service", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget",
}

# METADATA
# title: Objects must carry the ownership labels
# description: Cost reports, alert routing, NetworkPolicies and the PR comment find an object's team and app through these labels.
# custom:
#   security-severity: "2.0"
#   tags: [hygiene]
#   remediation: Keep paved's labels (app.kubernetes.io/name, app.kubernetes.io/managed-by, paved.dev/team); patches in app.cue must not remove them.
deny_required_labels contains result if {
	some label in _required_labels
	not _non_empty(object.get(k8s.input_labels, label, ""))
	path := k8s.closest(input, ["metadata", "labels"])
	result := k8s.result(sprintf("%s has no %s label", [k8s.input_display, label]), path)
}

deny_required_labels contains result if {
	# Pod templates carry the app name: selectors, NetworkPolicies and
	# ServiceMonitors select pods by it.
	k8s.input_is_pod_bearing
	input.kind != "Pod"
	not _non_empty(k8s.get(k8s.input_pod_labels, "app.kubernetes.io/name", ""))
	path := k8s.closest(input, array.concat(k8s.input_pod_metadata_path, ["labels"]))
	result := k8s.result(sprintf("the pod template of %s has no app.kubernetes.io/name label", [k8s.input_display]), path)
}

_required_labels := array.concat(["app.kubernetes.io/name"], required_labels) if {
	input.kind in app_component_kinds
} else := required_labels

_non_empty(value) if {
	is_string(value)
	value != ""
}

# METADATA
# title: Namespaced objects must set a namespace other than default
# description: An object without a namespace lands wherever it is applied, and the default namespace has no tenant quota, NetworkPolicy or RBAC.
# custom:
#   security-severity: "4.0"
#   tags: [hygiene, security]
#   remediation: Let paved set metadata.namespace to the team's namespace; do not override it in patches.
deny_namespace_required contains result if {
	k8s.input_is_namespaced
	k8s.input_namespace == ""
	result := k8s.result(sprintf("%s sets no metadata.namespace", [k8s.input_display]), k8s.closest(input, ["metadata", "namespace"]))
}

deny_namespace_required contains result if {
	k8s.input_namespace == "default"
	result := k8s.result(sprintf("%s is in the default namespace", [k8s.input_display]), ["metadata", "namespace"])
}

# METADATA
# title: Workload selectors must match the pod template labels
# description: A selector that does not match the template is rejected by the API server or, for older kinds, orphans the pods it creates.
# custom:
#   security-severity: "3.0"
#   tags: [reliability, hygiene]
#   remediation: Keep spec.selector and spec.template.metadata.labels in sync; paved selects on app.kubernetes.io/name and instance.
deny_selector_matches_labels contains result if {
	input.kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}
	not input.spec.selector
	result := k8s.result(sprintf("%s has no spec.selector", [k8s.input_display]), k8s.closest(input, ["spec", "selector"]))
}

deny_selector_matches_labels contains result if {
	# Label selectors; a Job only when it sets a manual selector.
	input.kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
	selector := input.spec.selector
	not k8s.label_selector_matches(selector, k8s.input_pod_labels)
	result := k8s.result(sprintf("spec.selector of %s does not match its pod template labels", [k8s.input_display]), ["spec", "selector"])
}

deny_selector_matches_labels contains result if {
	input.kind == "ReplicationController"
	selector := input.spec.selector
	not k8s.map_selector_matches(selector, k8s.input_pod_labels)
	result := k8s.result(sprintf("spec.selector of %s does not match its pod template labels", [k8s.input_display]), ["spec", "selector"])
}

# API versions, by apiVersion: the kinds, the release that deprecated them and the
# release that removed them (null: not scheduled), and the replacement.
# Sources: Kubernetes deprecated API migration guide.
api_versions := {
	"extensions/v1beta1": [
		{"apiVersion": "extensions/v1beta1", "kinds": {"Deployment", "DaemonSet", "ReplicaSet", "NetworkPolicy", "PodSecurityPolicy"}, "deprecated": "1.8", "removed": "1.16", "use": "apps/v1, networking.k8s.io/v1"},
		{"apiVersion": "extensions/v1beta1", "kinds": {"Ingress"}, "deprecated": "1.14", "removed": "1.22", "use": "networking.k8s.io/v1"},
	],
	"apps/v1beta1": [
		{"apiVersion": "apps/v1beta1", "kinds": {"Deployment", "StatefulSet", "ReplicaSet", "ControllerRevision"}, "deprecated": "1.9", "removed": "1.16", "use": "apps/v1"},
	],
	"apps/v1beta2": [
		{"apiVersion": "apps/v1beta2", "kinds": {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ControllerRevision"}, "deprecated": "1.9", "removed": "1.16", "use": "apps/v1"},
	],
	"batch/v2alpha1": [
		{"apiVersion": "batch/v2alpha1", "kinds": {"CronJob"}, "deprecated": "1.8", "removed": "1.21", "use": "batch/v1"},
	],
	"batch/v1beta1": [
		{"apiVersion": "batch/v1beta1", "kinds": {"CronJob"}, "deprecated": "1.21", "removed": "1.25", "use": "batch/v1"},
	],
	"policy/v1beta1": [
		{"apiVersion": "policy/v1beta1", "kinds": {"PodDisruptionBudget"}, "deprecated": "1.21", "removed": "1.25", "use": "policy/v1"},
		{"apiVersion": "policy/v1beta1", "kinds": {"PodSecurityPolicy"}, "deprecated": "1.21", "removed": "1.25", "use": "Pod Security Admission (namespace labels)"},
	],
	"autoscaling/v2beta1": [
		{"apiVersion": "autoscaling/v2beta1", "kinds": {"HorizontalPodAutoscaler"}, "deprecated": "1.22", "removed": "1.25", "use": "autoscaling/v2"},
	],
	"autoscaling/v2beta2": [
		{"apiVersion": "autoscaling/v2beta2", "kinds": {"HorizontalPodAutoscaler"}, "deprecated": "1.23", "removed": "1.26", "use": "autoscaling/v2"},
	],
	"networking.k8s.io/v1beta1": [
		{"apiVersion": "networking.k8s.io/v1beta1", "kinds": {"Ingress", "IngressClass"}, "deprecated": "1.19", "removed": "1.22", "use": "networking.k8s.io/v1"},
	],
	"rbac.authorization.k8s.io/v1alpha1": [
		{"apiVersion": "rbac.authorization.k8s.io/v1alpha1", "kinds": {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}, "deprecated": "1.17", "removed": "1.22", "use": "rbac.authorization.k8s.io/v1"},
	],
	"rbac.authorization.k8s.io/v1beta1": [
		{"apiVersion": "rbac.authorization.k8s.io/v1beta1", "kinds": {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}, "deprecated": "1.17", "removed": "1.22", "use": "rbac.authorization.k8s.io/v1"},
	],
	"apiextensions.k8s.io/v1beta1": [
		{"apiVersion": "apiextensions.k8s.io/v1beta1", "kinds": {"CustomResourceDefinition"}, "deprecated": "1.16", "removed": "1.22", "use": "apiextensions.k8s.io/v1"},
	],
	"admissionregistration.k8s.io/v1beta1": [
		{"apiVersion": "admissionregistration.k8s.io/v1beta1", "kinds": {"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}, "deprecated": "1.16", "removed": "1.22", "use": "admissionregistration.k8s.io/v1"},
	],
	"apiregistration.k8s.io/v1beta1": [
		{"apiVersion": "apiregistration.k8s.io/v1beta1", "kinds": {"APIService"}, "deprecated": "1.19", "removed": "1.22", "use": "apiregistration.k8s.io/v1"},
	],
	"certificates.k8s.io/v1beta1": [
		{"apiVersion": "certificates.k8s.io/v1beta1", "kinds": {"CertificateSigningRequest"}, "deprecated": "1.19", "removed": "1.22", "use": "certificates.k8s.io/v1"},
	],
	"coordination.k8s.io/v1beta1": [
		{"apiVersion": "coordination.k8s.io/v1beta1", "kinds": {"Lease"}, "deprecated": "1.19", "removed": "1.22", "use": "coordination.k8s.io/v1"},
	],
	"scheduling.k8s.io/v1beta1": [
		{"apiVersion": "scheduling.k8s.io/v1beta1", "kinds": {"PriorityClass"}, "deprecated": "1.14", "removed": "1.22", "use": "scheduling.k8s.io/v1"},
	],
	"storage.k8s.io/v1beta1": [
		{"apiVersion": "storage.k8s.io/v1beta1", "kinds": {"CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"}, "deprecated": "1.19", "removed": "1.22", "use": "storage.k8s.io/v1"},
		{"apiVersion": "storage.k8s.io/v1beta1", "kinds": {"CSIStorageCapacity"}, "deprecated": "1.24", "removed": "1.27", "use": "storage.k8s.io/v1"},
	],
	"discovery.k8s.io/v1beta1": [
		{"apiVersion": "discovery.k8s.io/v1beta1", "kinds": {"EndpointSlice"}, "deprecated": "1.21", "removed": "1.25", "use": "discovery.k8s.io/v1"},
	],
	"events.k8s.io/v1beta1": [
		{"apiVersion": "events.k8s.io/v1beta1", "kinds": {"Event"}, "deprecated": "1.19", "removed": "1.25", "use": "events.k8s.io/v1"},
	],
	"node.k8s.io/v1beta1": [
		{"apiVersion": "node.k8s.io/v1beta1", "kinds": {"RuntimeClass"}, "deprecated": "1.20", "removed": "1.25", "use": "node.k8s.io/v1"},
	],
	"flowcontrol.apiserver.k8s.io/v1beta1": [
		{"apiVersion": "flowcontrol.apiserver.k8s.io/v1beta1", "kinds": {"FlowSchema", "PriorityLevelConfiguration"}, "deprecated": "1.23", "removed": "1.26", "use": "flowcontrol.apiserver.k8s.io/v1"},
	],
	"flowcontrol.apiserver.k8s.io/v1beta2": [
		{"apiVersion": "flowcontrol.apiserver.k8s.io/v1beta2", "kinds": {"FlowSchema", "PriorityLevelConfiguration"}, "deprecated": "1.26", "removed": "1.29", "use": "flowcontrol.apiserver.k8s.io/v1"},
	],
	"flowcontrol.apiserver.k8s.io/v1beta3": [
		{"apiVersion": "flowcontrol.apiserver.k8s.io/v1beta3", "kinds": {"FlowSchema", "PriorityLevelConfiguration"}, "deprecated": "1.29", "removed": "1.32", "use": "flowcontrol.apiserver.k8s.io/v1"},
	],
	"v1": [
		{"apiVersion": "v1", "kinds": {"Endpoints"}, "deprecated": "1.33", "removed": null, "use": "discovery.k8s.io/v1 EndpointSlice"},
	],
}

# The table entry for this object's apiVersion and kind, if any: the table
# is keyed by apiVersion, so an object costs one lookup, not a scan.
_api_entry := entry if {
	some entry in api_versions[input.apiVersion]
	input.kind in entry.kinds
}

# METADATA
# title: Objects must not use an API version removed in the target Kubernetes version
# description: The API server of the target version rejects objects of a removed API version, so Flux cannot apply them.
# custom:
#   security-severity: "5.0"
#   tags: [reliability, hygiene]
#   remediation: Change apiVersion to the replacement named in the message (in the blueprint or the patch that sets it).
deny_removed_api contains result if {
	entry := _api_entry
	entry.removed != null
	k8s.version_at_least(platform.kubernetes_version, entry.removed)
	result := k8s.result(sprintf("%s %s was removed in Kubernetes %s (target %s); use %s", [input.apiVersion, input.kind, entry.removed, platform.kubernetes_version, entry.use]), ["apiVersion"])
}

# METADATA
# title: Objects should not use an API version deprecated in the target Kubernetes version
# description: Deprecated API versions are removed in a later release; migrating before the upgrade avoids a failed rollout.
# custom:
#   security-severity: "2.0"
#   tags: [hygiene]
#   remediation: Change apiVersion to the replacement named in the message before the cluster upgrade.
warn_deprecated_api contains result if {
	entry := _api_entry
	k8s.version_at_least(platform.kubernetes_version, entry.deprecated)
	not _removed_by_target(entry)
	result := k8s.result(sprintf("%s %s is deprecated since Kubernetes %s (target %s); use %s", [input.apiVersion, input.kind, entry.deprecated, platform.kubernetes_version, entry.use]), ["apiVersion"])
}

_removed_by_target(entry) if {
	entry.removed != null
	k8s.version_at_least(platform.kubernetes_version, entry.removed)
}
