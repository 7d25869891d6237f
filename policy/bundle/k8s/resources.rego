# Resources, probes, replicas: what keeps workloads schedulable and healthy.
package paved.k8s

import data.paved.lib.k8s

# METADATA
# title: Containers must request CPU and memory
# description: Without requests the scheduler packs pods blindly, the quota cannot account for them and cost estimates are wrong.
# custom:
#   security-severity: "3.0"
#   tags: [reliability, efficiency, budget]
#   remediation: Set size in app.cue (it sets requests) and do not remove resources.requests in patches.
deny_resource_requests contains result if {
	some c in k8s.input_runtime_containers
	some resource in ["cpu", "memory"]
	not _has_value(c.container, ["resources", "requests", resource])
	path := k8s.closest(input, array.concat(c.path, ["resources", "requests", resource]))
	result := k8s.result(sprintf("container %q has no %s request (resources.requests.%s)", [k8s.container_name(c), resource, resource]), path)
}

# METADATA
# title: Containers should set a memory limit
# description: Without a memory limit one leaking container can exhaust the node and get its neighbours OOM-killed.
# custom:
#   security-severity: "3.0"
#   tags: [reliability, efficiency]
#   remediation: Set size in app.cue (the memory limit equals the request) and do not remove resources.limits.memory in patches.
warn_memory_limit contains result if {
	some c in k8s.input_runtime_containers
	not _has_value(c.container, ["resources", "limits", "memory"])
	path := k8s.closest(input, array.concat(c.path, ["resources", "limits", "memory"]))
	result := k8s.result(sprintf("container %q has no memory limit (resources.limits.memory)", [k8s.container_name(c)]), path)
}

_has_value(obj, path) if k8s.get(obj, path, "") != ""

# METADATA
# title: Long-running containers should have readiness and liveness probes
# description: Without readiness, rollouts send traffic to pods that are not ready; without liveness, a hung process is never restarted.
# custom:
#   security-severity: "3.0"
#   tags: [reliability]
#   remediation: Set health in app.cue (web apps get /livez and /readyz by default) or turn probes off with a justification.
warn_probes_configured contains result if {
	k8s.input_is_long_running
	not k8s.input_opted_out("health")
	some c in k8s.input_app_containers
	some probe in ["readinessProbe", "livenessProbe"]
	not c.container[probe]
	result := k8s.result(sprintf("container %q has no %s", [k8s.container_name(c), probe]), c.path)
}

# METADATA
# title: Liveness and readiness probes should differ
# description: An identical liveness probe restarts pods that are merely busy or waiting on a dependency, turning an overload into a crash loop.
# custom:
#   security-severity: "3.0"
#   tags: [reliability]
#   remediation: Point health.liveness and health.readiness in app.cue at different endpoints (e.g. /livez and /readyz).
warn_probes_distinct contains result if {
	some c in k8s.input_app_containers
	liveness := c.container.livenessProbe
	readiness := c.container.readinessProbe
	is_object(liveness)
	is_object(readiness)
	_probe_handler(liveness) == _probe_handler(readiness)
	path := array.concat(c.path, ["livenessProbe"])
	result := k8s.result(sprintf("container %q uses the same check for its liveness and readiness probes", [k8s.container_name(c)]), path)
}

# The action of a probe, without its timing fields.
_probe_handler(probe) := object.filter(probe, ["exec", "grpc", "httpGet", "tcpSocket"])

_probes := ["livenessProbe", "readinessProbe", "startupProbe"]

# METADATA
# title: Probe ports must be declared by the container
# description: A probe on a port the container does not expose fails forever, so pods never become ready or restart in a loop.
# custom:
#   security-severity: "3.0"
#   tags: [reliability]
#   remediation: Probe a port listed in the container's ports (by name or number); paved probes the named port http.
deny_probe_port contains result if {
	some c in k8s.input_containers
	some probe in _probes
	some handler in ["httpGet", "tcpSocket", "grpc"]
	port := c.container[probe][handler].port
	not _declares_port(c.container, port)
	path := array.concat(c.path, [probe, handler, "port"])
	result := k8s.result(sprintf("container %q %s uses port %v, which the container does not declare", [k8s.container_name(c), probe, port]), path)
}

_declares_port(container, port) if {
	is_string(port)
	some p in k8s.get(container, "ports", [])
	p.name == port
}

_declares_port(container, port) if {
	is_number(port)
	some p in k8s.get(container, "ports", [])
	p.containerPort == port
}

# METADATA
# title: Probe timeouts should be shorter than their period
# description: A timeout as long as the period makes probes overlap, so one slow response counts as several failures.
# custom:
#   security-severity: "2.0"
#   tags: [reliability]
#   remediation: Keep probe timeoutSeconds below periodSeconds (Kubernetes defaults are 1s and 10s).
warn_probe_timeout contains result if {
	some c in k8s.input_containers
	some probe in _probes
	p := c.container[probe]
	is_object(p)
	timeout := k8s.get(p, "timeoutSeconds", 1)
	period := k8s.get(p, "periodSeconds", 10)
	is_number(timeout)
	is_number(period)
	timeout >= period
	path := k8s.closest(input, array.concat(c.path, [probe, "timeoutSeconds"]))
	result := k8s.result(sprintf("container %q %s has timeoutSeconds %v, not below periodSeconds %v", [k8s.container_name(c), probe, timeout, period]), path)
}

# METADATA
# title: Replicated prod workloads should spread across topology domains
# description: Without topology spread constraints all replicas of a prod workload can land in one zone and fail together.
# custom:
#   security-severity: "3.0"
#   tags: [reliability]
#   remediation: Keep paved's zone topologySpreadConstraints on the pod template (do not remove them in patches).
warn_topology_spread contains result if {
	# Replicated: spec.replicas >= 2, or no spec.replicas (an HPA owns the count,
	# which paved only renders for apps with several replicas).
	input.kind in {"Deployment", "StatefulSet"}
	k8s.input_environment == "prod"
	k8s.get(input, ["spec", "replicas"], 2) >= 2
	k8s.size(k8s.get(k8s.input_pod_spec, "topologySpreadConstraints", [])) == 0
	path := k8s.input_pod_spec_path
	result := k8s.result(sprintf("%s runs several prod replicas but its pod spec has no topologySpreadConstraints", [k8s.input_display]), path)
}
