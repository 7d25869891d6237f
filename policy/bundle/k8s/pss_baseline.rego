# Pod Security Standards, baseline profile (k8s.io/pod-security-admission
# policy/check_*.go). Evaluated once per object; input is the object.
package paved.k8s

import data.paved.lib.k8s

# Capabilities the baseline profile allows in securityContext.capabilities.add.
baseline_capabilities := {
	"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
	"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}

# Namespaced sysctls the baseline profile considers safe.
safe_sysctls := {
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.ping_group_range",
	"net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_rmem",
	"net.ipv4.tcp_wmem",
}

# SELinux types the baseline profile allows.
allowed_selinux_types := {"container_t", "container_init_t", "container_kvm_t", "container_engine_t"}

# Host paths that hand a container control of the node.
sensitive_host_paths := {
	"/", "/etc", "/proc", "/sys", "/var/run", "/run", "/root", "/var/lib/kubelet",
	"/var/run/docker.sock", "/run/containerd/containerd.sock", "/var/run/crio/crio.sock",
}

# METADATA
# title: Pods must not use the host's network, PID or IPC namespace
# description: Host namespaces let a container sniff node traffic, signal node processes and read shared memory, bypassing isolation.
# custom:
#   security-severity: "8.0"
#   tags: [security, pss-baseline]
#   remediation: Remove hostNetwork, hostPID and hostIPC from the pod spec (a patch in app.cue sets them; paved never does).
deny_host_namespaces contains result if {
	spec := k8s.input_pod_spec
	some field in ["hostNetwork", "hostPID", "hostIPC"]
	spec[field] == true
	path := array.concat(k8s.input_pod_spec_path, [field])
	result := k8s.result(sprintf("%s sets %s: true", [k8s.input_display, field]), path)
}

# METADATA
# title: Containers must not run privileged
# description: A privileged container has every capability and all host devices, which is equivalent to root on the node.
# custom:
#   security-severity: "9.0"
#   tags: [security, pss-baseline]
#   remediation: Remove securityContext.privileged from the container (check the patches in app.cue).
deny_privileged contains result if {
	some c in k8s.input_containers
	k8s.container_security(c, "privileged", false) == true
	path := array.concat(c.path, ["securityContext", "privileged"])
	result := k8s.result(sprintf("container %q sets securityContext.privileged: true", [k8s.container_name(c)]), path)
}

# METADATA
# title: Containers may only add capabilities of the PSS baseline set
# description: Capabilities such as SYS_ADMIN, NET_ADMIN or NET_RAW give a container kernel-level powers usable to escape or attack the node network.
# custom:
#   security-severity: "8.0"
#   tags: [security, pss-baseline]
#   remediation: Remove the capability from securityContext.capabilities.add; paved drops ALL capabilities by default.
deny_capabilities_baseline contains result if {
	some c in k8s.input_containers
	some i, cap in k8s.get(c.container, ["securityContext", "capabilities", "add"], [])
	not cap in baseline_capabilities
	path := array.concat(c.path, ["securityContext", "capabilities", "add", i])
	result := k8s.result(sprintf("container %q adds capability %s, outside the PSS baseline set", [k8s.container_name(c), cap]), path)
}

# METADATA
# title: Pods must not mount hostPath volumes
# description: A hostPath volume exposes the node filesystem (container runtime sockets, kubelet credentials, /etc) to the pod.
# custom:
#   security-severity: "9.0"
#   tags: [security, pss-baseline]
#   remediation: Replace the hostPath volume with an emptyDir, a ConfigMap/Secret or a PersistentVolumeClaim.
deny_host_path contains result if {
	spec := k8s.input_pod_spec
	some i, volume in k8s.get(spec, "volumes", [])
	volume.hostPath
	path := array.concat(k8s.input_pod_spec_path, ["volumes", i, "hostPath"])
	result := k8s.result(sprintf("volume %q mounts host path %q%s", [volume.name, k8s.get(volume.hostPath, "path", ""), _sensitive_note(volume.hostPath)]), path)
}

_sensitive_note(host_path) := " (a sensitive node path)" if {
	trim_suffix(k8s.get_string(host_path, ["path"]), "/") in sensitive_host_paths
} else := " (a sensitive node path)" if {
	host_path.path == "/"
} else := ""

# METADATA
# title: Containers must not bind host ports
# description: A hostPort ties the pod to a node port, bypasses NetworkPolicy on many CNIs and limits scheduling.
# custom:
#   security-severity: "6.0"
#   tags: [security, pss-baseline, networking]
#   remediation: Remove hostPort from the container port and expose the app through a Service or Ingress.
deny_host_ports contains result if {
	some c in k8s.input_containers
	some i, port in k8s.get(c.container, "ports", [])
	k8s.get(port, "hostPort", 0) != 0
	path := array.concat(c.path, ["ports", i, "hostPort"])
	result := k8s.result(sprintf("container %q binds host port %v", [k8s.container_name(c), port.hostPort]), path)
}

# METADATA
# title: AppArmor profiles must be the runtime default or a localhost profile
# description: Setting AppArmor to unconfined removes a mandatory access control layer that contains container breakouts.
# custom:
#   security-severity: "7.0"
#   tags: [security, pss-baseline]
#   remediation: Remove the AppArmor override or use appArmorProfile type RuntimeDefault or Localhost.
deny_apparmor_profile contains result if {
	k8s.input_is_pod_bearing
	some key, value in k8s.input_pod_annotations
	startswith(key, "container.apparmor.security.beta.kubernetes.io/")
	not _allowed_apparmor_annotation(value)
	path := array.concat(k8s.input_pod_metadata_path, ["annotations", key])
	result := k8s.result(sprintf("annotation %s sets AppArmor profile %q", [key, value]), path)
}

deny_apparmor_profile contains result if {
	some sc in _security_contexts
	type := k8s.get(sc.context, ["appArmorProfile", "type"], "RuntimeDefault")
	not type in {"RuntimeDefault", "Localhost"}
	path := array.concat(sc.path, ["appArmorProfile", "type"])
	result := k8s.result(sprintf("%s sets appArmorProfile.type %q", [sc.what, type]), path)
}

_allowed_apparmor_annotation(value) if value == "runtime/default"

_allowed_apparmor_annotation(value) if {
	is_string(value)
	startswith(value, "localhost/")
}

# Every securityContext of the pod (pod level and each container) with its
# path and a description for messages.
_security_contexts contains sc if {
	spec := k8s.input_pod_spec
	context := spec.securityContext
	sc := {"context": context, "path": array.concat(k8s.input_pod_spec_path, ["securityContext"]), "what": "the pod securityContext"}
}

_security_contexts contains sc if {
	some c in k8s.input_containers
	context := c.container.securityContext
	sc := {"context": context, "path": array.concat(c.path, ["securityContext"]), "what": sprintf("container %q", [k8s.container_name(c)])}
}

# METADATA
# title: SELinux options must not set a custom type, user or role
# description: Custom SELinux labels can grant a container access to host files and processes labelled for other domains.
# custom:
#   security-severity: "7.0"
#   tags: [security, pss-baseline]
#   remediation: Remove seLinuxOptions.user and .role and use one of the container_t, container_init_t, container_kvm_t or container_engine_t types.
deny_selinux_options contains result if {
	some sc in _security_contexts
	type := k8s.get(sc.context, ["seLinuxOptions", "type"], "")
	type != ""
	not type in allowed_selinux_types
	path := array.concat(sc.path, ["seLinuxOptions", "type"])
	result := k8s.result(sprintf("%s sets seLinuxOptions.type %q", [sc.what, type]), path)
}

deny_selinux_options contains result if {
	some sc in _security_contexts
	some field in ["user", "role"]
	k8s.get(sc.context, ["seLinuxOptions", field], "") != ""
	path := array.concat(sc.path, ["seLinuxOptions", field])
	result := k8s.result(sprintf("%s sets seLinuxOptions.%s", [sc.what, field]), path)
}

# METADATA
# title: Containers must use the Default proc mount
# description: An Unmasked /proc exposes kernel interfaces the runtime normally hides, easing container escapes.
# custom:
#   security-severity: "7.0"
#   tags: [security, pss-baseline]
#   remediation: Remove securityContext.procMount from the container or set it to Default.
deny_proc_mount contains result if {
	some c in k8s.input_containers
	mount := k8s.container_security(c, "procMount", "Default")
	mount != "Default"
	path := array.concat(c.path, ["securityContext", "procMount"])
	result := k8s.result(sprintf("container %q sets procMount %q", [k8s.container_name(c), mount]), path)
}

# METADATA
# title: Seccomp must not be Unconfined
# description: An unconfined seccomp profile exposes every syscall, including those used by known kernel exploits.
# custom:
#   security-severity: "7.0"
#   tags: [security, pss-baseline]
#   remediation: Remove the Unconfined seccompProfile; paved sets RuntimeDefault on the pod.
deny_seccomp_unconfined contains result if {
	some sc in _security_contexts
	k8s.get(sc.context, ["seccompProfile", "type"], "") == "Unconfined"
	path := array.concat(sc.path, ["seccompProfile", "type"])
	result := k8s.result(sprintf("%s sets seccompProfile.type Unconfined", [sc.what]), path)
}

# METADATA
# title: Pods may only set sysctls of the PSS safe set
# description: Unsafe sysctls change kernel settings shared with every other pod on the node.
# custom:
#   security-severity: "6.0"
#   tags: [security, pss-baseline]
#   remediation: Remove the sysctl from the pod securityContext or ask the platform team for a node pool that allows it.
deny_unsafe_sysctls contains result if {
	spec := k8s.input_pod_spec
	some i, sysctl in k8s.get(spec, ["securityContext", "sysctls"], [])
	not sysctl.name in safe_sysctls
	path := array.concat(k8s.input_pod_spec_path, ["securityContext", "sysctls", i, "name"])
	result := k8s.result(sprintf("%s sets unsafe sysctl %s", [k8s.input_display, sysctl.name]), path)
}

# METADATA
# title: Pods must not run as Windows HostProcess containers
# description: A HostProcess container runs directly on the Windows node with host privileges.
# custom:
#   security-severity: "9.0"
#   tags: [security, pss-baseline]
#   remediation: Remove windowsOptions.hostProcess from the pod and container securityContexts.
deny_host_process contains result if {
	some sc in _security_contexts
	k8s.get(sc.context, ["windowsOptions", "hostProcess"], false) == true
	path := array.concat(sc.path, ["windowsOptions", "hostProcess"])
	result := k8s.result(sprintf("%s sets windowsOptions.hostProcess: true", [sc.what]), path)
}

# METADATA
# title: Probes and lifecycle hooks must not target another host
# description: A probe or hook host makes the kubelet send requests to arbitrary addresses, which can be abused to reach node-local services.
# custom:
#   security-severity: "6.0"
#   tags: [security, pss-baseline]
#   remediation: Remove the host field from the probe or lifecycle handler; the kubelet then targets the pod IP.
deny_probe_host contains result if {
	some c in k8s.input_containers
	some handler in _handlers(c)
	some kind in ["httpGet", "tcpSocket"]
	k8s.get(handler.value, [kind, "host"], "") != ""
	path := array.concat(handler.path, [kind, "host"])
	result := k8s.result(sprintf("container %q %s sets %s.host %q", [k8s.container_name(c), handler.what, kind, handler.value[kind].host]), path)
}

# Probe and lifecycle handlers of a container, with their paths.
_handlers(c) := array.concat(
	[h |
		some probe in ["livenessProbe", "readinessProbe", "startupProbe"]
		value := c.container[probe]
		h := {"value": value, "path": array.concat(c.path, [probe]), "what": probe}
	],
	[h |
		some hook in ["postStart", "preStop"]
		value := c.container.lifecycle[hook]
		h := {"value": value, "path": array.concat(c.path, ["lifecycle", hook]), "what": concat(".", ["lifecycle", hook])}
	],
)
