# Shared helpers for the paved policy bundle: where pod specs and
# containers live in each workload kind, labels, selectors, result objects.
# Library package: defines no deny/warn rules.
package paved.lib.k8s

# Path from the object root to the pod spec, per pod-bearing kind.
pod_spec_paths := {
	"Pod": ["spec"],
	"Deployment": ["spec", "template", "spec"],
	"StatefulSet": ["spec", "template", "spec"],
	"DaemonSet": ["spec", "template", "spec"],
	"ReplicaSet": ["spec", "template", "spec"],
	"ReplicationController": ["spec", "template", "spec"],
	"Job": ["spec", "template", "spec"],
	"CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
}

# Kinds that run pods forever (probes, replicas, spreading apply to them).
long_running_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"}

# Kinds that run to completion.
batch_kinds := {"Job", "CronJob"}

# Kinds whose replica count is meaningful (spec.replicas, HPA targets).
replicated_kinds := {"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"}

# The three container lists of a pod spec.
container_fields := ["initContainers", "containers", "ephemeralContainers"]

# Well-known cluster-scoped kinds (core, common add-ons). Every other kind is
# treated as namespaced.
cluster_scoped_kinds := {
	"APIService", "CertificateSigningRequest", "ClusterIssuer", "ClusterExternalSecret",
	"ClusterPolicy", "ClusterRole", "ClusterRoleBinding", "ClusterSecretStore",
	"ClusterTrustBundle", "ComponentStatus", "CSIDriver", "CSINode", "CustomResourceDefinition",
	"DeviceClass", "FlowSchema", "GatewayClass", "IngressClass", "IPAddress",
	"MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
	"MutatingWebhookConfiguration", "Namespace", "Node", "PersistentVolume",
	"PodSecurityPolicy", "PriorityClass", "PriorityLevelConfiguration", "ResourceSlice",
	"RuntimeClass", "SelfSubjectAccessReview", "SelfSubjectReview", "SelfSubjectRulesReview",
	"ServiceCIDR", "StorageClass", "StorageVersionMigration", "SubjectAccessReview", "TokenReview",
	"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
	"ValidatingWebhookConfiguration", "VolumeAttachment", "VolumeAttributesClass",
	"VolumeSnapshotClass",
}

# result is the value every deny/warn rule of paved.k8s returns.
result(msg, path) := {"msg": msg, "path": path}

# fleet_result adds the object a cross-object finding is about.
fleet_result(obj, msg, path) := {"msg": msg, "path": path, "object": ref(obj)}

# ref identifies an object (namespace "" when cluster-scoped or unset).
ref(obj) := {
	"apiVersion": get_string(obj, ["apiVersion"]),
	"kind": get_string(obj, ["kind"]),
	"namespace": get_string(obj, ["metadata", "namespace"]),
	"name": get_string(obj, ["metadata", "name"]),
}

# display is "Kind/name" for messages.
display(obj) := sprintf("%s/%s", [get(obj, "kind", "object"), get(obj, ["metadata", "name"], "")])

# get is object.get that tolerates a non-object (null, a string...) where an
# object was expected and returns the default: lint must not abort on odd
# input (the engine evaluates with strict built-in errors).
get(obj, path, default_value) := object.get(obj, path, default_value) if {
	is_object(obj)
} else := default_value

# get_object, get_array and get_string return the value at path when it has
# the expected type, else an empty value ("key:" with no value is null).
get_object(obj, path) := v if {
	v := get(obj, path, {})
	is_object(v)
} else := {}

get_array(obj, path) := v if {
	v := get(obj, path, [])
	is_array(v)
} else := []

get_string(obj, path) := v if {
	v := get(obj, path, "")
	is_string(v)
} else := ""

_missing := "__paved_missing__"

has_path(obj, path) if get(obj, path, _missing) != _missing

# closest returns the longest prefix of path that exists in obj, so a finding
# about a missing field points at its nearest existing parent.
closest(obj, path) := array.slice(path, 0, n) if {
	n := max({i | some i in numbers.range(0, count(path)); has_path(obj, array.slice(path, 0, i))})
}

# size is the number of elements of an array, object or set, and 0 for
# null or a missing field (YAML "key:" with no value is null).
size(x) := count(x) if {
	is_array(x)
} else := count(x) if {
	is_object(x)
} else := count(x) if {
	is_set(x)
} else := 0

# ---------------------------------------------------------------- pods

is_pod_bearing(obj) if pod_spec_paths[obj.kind]

pod_spec_path(obj) := pod_spec_paths[obj.kind]

pod_spec(obj) := spec if {
	spec := get(obj, pod_spec_path(obj), null)
	is_object(spec)
}

# Path of the pod template's metadata (the object's own metadata for a Pod).
pod_metadata_path(obj) := ["metadata"] if obj.kind == "Pod"

pod_metadata_path(obj) := array.concat(array.slice(p, 0, count(p) - 1), ["metadata"]) if {
	obj.kind != "Pod"
	p := pod_spec_path(obj)
}

pod_labels(obj) := get_object(obj, array.concat(pod_metadata_path(obj), ["labels"]))

pod_annotations(obj) := get_object(obj, array.concat(pod_metadata_path(obj), ["annotations"]))

# containers returns every container of obj's pod spec as
# {"container": <container>, "path": <path of the container>, "field": <list name>}.
containers(obj) := {c |
	spec := pod_spec(obj)
	prefix := pod_spec_path(obj)
	some field in container_fields
	some i, ctr in get(spec, field, [])
	is_object(ctr)
	c := {"container": ctr, "path": array.concat(prefix, [field, i]), "field": field}
}

# Containers that get resources and are not ephemeral (debug) containers.
runtime_containers(obj) := {c | some c in containers(obj); c.field != "ephemeralContainers"}

# The pod's main containers (spec.containers).
app_containers(obj) := {c | some c in containers(obj); c.field == "containers"}

container_name(c) := get(c.container, "name", "")

# Pod-level securityContext field, or the default.
pod_security(obj, field, default_value) := get(pod_spec(obj), ["securityContext", field], default_value)

# Container-level securityContext field, or the default.
container_security(c, field, default_value) := get(c.container, ["securityContext", field], default_value)

# Windows pods (spec.os.name windows): the restricted profile exempts them
# from the Linux-only seccomp, capabilities and privilege escalation checks.
is_windows(obj) if get(pod_spec(obj), ["os", "name"], "") == "windows"

# Long-running: controllers that keep pods running, and bare Pods that restart.
is_long_running(obj) if obj.kind in long_running_kinds

is_long_running(obj) if {
	obj.kind == "Pod"
	not get(obj, ["spec", "restartPolicy"], "Always") in {"Never", "OnFailure"}
}

# ---------------------------------------------------------------- metadata

labels(obj) := get_object(obj, ["metadata", "labels"])

annotations(obj) := get_object(obj, ["metadata", "annotations"])

namespace(obj) := get_string(obj, ["metadata", "namespace"])

is_namespaced(obj) if not obj.kind in cluster_scoped_kinds

# environment of an object, from the paved.dev/environment label of the
# object or of its pod template.
environment(obj) := env if {
	env := labels(obj)["paved.dev/environment"]
} else := env if {
	env := pod_labels(obj)["paved.dev/environment"]
} else := ""

# opted_out holds when the app turned a golden-path default off with a written
# justification: a non-empty opt-out.paved.dev/<what> annotation on the
# workload or on its pod template.
opted_out(obj, what) if _justified(annotations(obj), what)

opted_out(obj, what) if {
	is_pod_bearing(obj)
	_justified(pod_annotations(obj), what)
}

_justified(annots, what) if {
	value := annots[concat("", ["opt-out.paved.dev/", what])]
	is_string(value)
	trim_space(value) != ""
}

# ---------------------------------------------------------------- selectors

# label_selector_matches implements metav1.LabelSelector semantics: every
# matchLabels pair and every matchExpressions requirement must hold; an empty
# selector matches everything. Callers decide what a null selector means.
label_selector_matches(selector, lbls) if {
	is_object(selector)
	every k, v in get(selector, "matchLabels", {}) {
		lbls[k] == v
	}
	every req in get(selector, "matchExpressions", []) {
		_requirement_matches(req, lbls)
	}
}

_requirement_matches(req, lbls) if {
	req.operator == "In"
	lbls[req.key] in get(req, "values", [])
}

# A missing key matches NotIn. (get, not lbls[req.key]: a ref inside
# "not ... in" would make the whole expression undefined.)
_requirement_matches(req, lbls) if {
	req.operator == "NotIn"
	not get(lbls, req.key, null) in get(req, "values", [])
}

_requirement_matches(req, lbls) if {
	req.operator == "Exists"
	_ = lbls[req.key]
}

_requirement_matches(req, lbls) if {
	req.operator == "DoesNotExist"
	not _has_key(lbls, req.key)
}

_has_key(obj, key) if _ = obj[key]

# map_selector_matches implements Service / ReplicationController selectors
# (a plain map); an empty or missing map selects nothing.
map_selector_matches(selector, lbls) if {
	is_object(selector)
	count(selector) > 0
	every k, v in selector {
		lbls[k] == v
	}
}

# ---------------------------------------------------------------- versions

# version_parts("1.34") == [1, 34]; a "v" prefix and a patch part are ignored.
version_parts(v) := [to_number(parts[0]), to_number(parts[1])] if {
	parts := split(trim_prefix(v, "v"), ".")
}

# version_at_least(a, b): Kubernetes version a >= b ("major.minor").
version_at_least(a, b) if {
	pa := version_parts(a)
	pb := version_parts(b)
	pa[0] > pb[0]
}

version_at_least(a, b) if {
	pa := version_parts(a)
	pb := version_parts(b)
	pa[0] == pb[0]
	pa[1] >= pb[1]
}

# ------------------------------------------------- per-object shortcuts

# The per-object package evaluates every rule on one object: these rules
# compute what the rules ask of it (containers, pod spec, labels, ...) once
# per evaluation. A rule without arguments is evaluated once; the same
# function called on input in many rules is evaluated again and again.
input_containers := containers(input)

input_runtime_containers := runtime_containers(input)

input_app_containers := app_containers(input)

input_pod_spec := pod_spec(input)

input_pod_spec_path := pod_spec_path(input)

input_is_pod_bearing if is_pod_bearing(input)

input_pod_metadata_path := pod_metadata_path(input)

input_pod_labels := pod_labels(input)

input_pod_annotations := pod_annotations(input)

input_labels := labels(input)

input_annotations := annotations(input)

input_namespace := namespace(input)

input_display := display(input)

input_environment := environment(input)

input_is_namespaced if is_namespaced(input)

input_is_long_running if is_long_running(input)

input_is_windows if get(input_pod_spec, ["os", "name"], "") == "windows"

input_pod_security(field, default_value) := get(input_pod_spec, ["securityContext", field], default_value)

input_opted_out(what) if _justified(input_annotations, what)

input_opted_out(what) if {
	input_is_pod_bearing
	_justified(input_pod_annotations, what)
}
