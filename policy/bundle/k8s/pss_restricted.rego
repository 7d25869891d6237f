# Pod Security Standards, restricted profile, plus read-only root
# filesystem. paved's namespaces enforce "restricted", so a violation here
# would also be rejected by the API server at apply time.
package paved.k8s

import data.paved.lib.k8s
import data.paved.lib.platform

# Volume types the restricted profile allows. hostPath is reported by
# host-path (baseline) and not repeated here.
restricted_volume_types := {
	"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
	"persistentVolumeClaim", "projected", "secret", "image",
}

# METADATA
# title: Containers must set allowPrivilegeEscalation to false
# description: Without it a process can gain more privileges than its parent through setuid binaries or file capabilities.
# custom:
#   security-severity: "7.0"
#   tags: [security, pss-restricted]
#   remediation: Set securityContext.allowPrivilegeEscalation false on the container; paved's blueprints set it, so check the patches in app.cue.
deny_privilege_escalation contains result if {
	not k8s.input_is_windows
	some c in k8s.input_containers
	k8s.container_security(c, "allowPrivilegeEscalation", null) != false
	path := k8s.closest(input, array.concat(c.path, ["securityContext", "allowPrivilegeEscalation"]))
	result := k8s.result(sprintf("container %q must set securityContext.allowPrivilegeEscalation: false", [k8s.container_name(c)]), path)
}

# METADATA
# title: Containers must run as a non-root user
# description: A process running as UID 0 is root on the node as soon as it escapes the container.
# custom:
#   security-severity: "7.0"
#   tags: [security, pss-restricted]
#   remediation: Set runAsNonRoot true and a non-zero runAsUser in the pod securityContext (paved's default) and remove root overrides from patches.
deny_run_as_non_root contains result if {
	# runAsNonRoot true at pod level, or on every container that does not override it.
	some c in k8s.input_containers
	k8s.input_pod_security("runAsNonRoot", null) != true
	k8s.container_security(c, "runAsNonRoot", null) != true
	path := k8s.closest(input, array.concat(c.path, ["securityContext", "runAsNonRoot"]))
	result := k8s.result(sprintf("container %q must run with runAsNonRoot: true (set in the pod or the container securityContext)", [k8s.container_name(c)]), path)
}

deny_run_as_non_root contains result if {
	# A container may not switch off the pod-level setting.
	some c in k8s.input_containers
	k8s.input_pod_security("runAsNonRoot", null) == true
	k8s.container_security(c, "runAsNonRoot", null) == false
	path := array.concat(c.path, ["securityContext", "runAsNonRoot"])
	result := k8s.result(sprintf("container %q sets runAsNonRoot: false", [k8s.container_name(c)]), path)
}

deny_run_as_non_root contains result if {
	k8s.input_pod_security("runAsUser", null) == 0
	path := array.concat(k8s.input_pod_spec_path, ["securityContext", "runAsUser"])
	result := k8s.result(sprintf("%s sets runAsUser: 0 (root) in the pod securityContext", [k8s.input_display]), path)
}

deny_run_as_non_root contains result if {
	some c in k8s.input_containers
	k8s.container_security(c, "runAsUser", null) == 0
	path := array.concat(c.path, ["securityContext", "runAsUser"])
	result := k8s.result(sprintf("container %q sets runAsUser: 0 (root)", [k8s.container_name(c)]), path)
}

# METADATA
# title: Pods must use the RuntimeDefault or a Localhost seccomp profile
# description: Without a seccomp profile every syscall is allowed, widening the kernel attack surface.
# custom:
#   security-severity: "6.0"
#   tags: [security, pss-restricted]
#   remediation: Set securityContext.seccompProfile.type RuntimeDefault on the pod (paved's default) or on every container.
deny_seccomp_required contains result if {
	# The effective profile is the container's, else the pod's. Unconfined is
	# reported by seccomp-unconfined (baseline) and not repeated here.
	not k8s.input_is_windows
	some c in k8s.input_containers
	type := _effective_seccomp(c)
	not type in {"RuntimeDefault", "Localhost", "Unconfined"}
	path := k8s.closest(input, array.concat(c.path, ["securityContext", "seccompProfile", "type"]))
	result := k8s.result(sprintf("container %q has no RuntimeDefault or Localhost seccomp profile (pod or container securityContext.seccompProfile)", [k8s.container_name(c)]), path)
}

_effective_seccomp(c) := type if {
	type := c.container.securityContext.seccompProfile.type
} else := type if {
	type := k8s.input_pod_spec.securityContext.seccompProfile.type
} else := ""

# METADATA
# title: Containers must drop ALL capabilities and add at most NET_BIND_SERVICE
# description: Default container capabilities such as NET_RAW and CHOWN are rarely needed and enable spoofing and privilege attacks.
# custom:
#   security-severity: "6.0"
#   tags: [security, pss-restricted]
#   remediation: Set securityContext.capabilities.drop [ALL] on the container and add only NET_BIND_SERVICE if it must bind a port below 1024.
deny_capabilities_restricted contains result if {
	not k8s.input_is_windows
	some c in k8s.input_containers
	not "ALL" in k8s.get(c.container, ["securityContext", "capabilities", "drop"], [])
	path := k8s.closest(input, array.concat(c.path, ["securityContext", "capabilities", "drop"]))
	result := k8s.result(sprintf("container %q must drop ALL capabilities", [k8s.container_name(c)]), path)
}

deny_capabilities_restricted contains result if {
	# Capabilities outside the baseline set are reported by capabilities-baseline.
	not k8s.input_is_windows
	some c in k8s.input_containers
	some i, cap in k8s.get(c.container, ["securityContext", "capabilities", "add"], [])
	cap != "NET_BIND_SERVICE"
	cap in baseline_capabilities
	path := array.concat(c.path, ["securityContext", "capabilities", "add", i])
	result := k8s.result(sprintf("container %q adds capability %s; only NET_BIND_SERVICE may be added", [k8s.container_name(c), cap]), path)
}

# METADATA
# title: Pods may only use restricted volume types
# description: Volume types other than ConfigMap, Secret, emptyDir, PVC, projected, CSI and similar reach node or network storage directly and bypass the platform's storage controls.
# custom:
#   security-severity: "6.0"
#   tags: [security, pss-restricted]
#   remediation: Use a PersistentVolumeClaim, emptyDir, ConfigMap, Secret or projected volume instead.
deny_volume_types contains result if {
	spec := k8s.input_pod_spec
	some i, volume in k8s.get(spec, "volumes", [])
	some type, _ in volume
	type != "name"
	type != "hostPath"
	not type in restricted_volume_types
	path := array.concat(k8s.input_pod_spec_path, ["volumes", i, type])
	result := k8s.result(sprintf("volume %q uses type %s, not allowed by the restricted profile", [k8s.get(volume, "name", ""), type]), path)
}

# METADATA
# title: Containers should use a read-only root filesystem
# description: A writable root filesystem lets an attacker drop tools and persist changes; apps write to the emptyDir paved mounts at /tmp.
# custom:
#   security-severity: "4.0"
#   tags: [security]
#   remediation: Set securityContext.readOnlyRootFilesystem true and write to a mounted emptyDir (paved mounts /tmp).
warn_read_only_root_fs contains result if {
	# A platform that runs its apps with a writable root file system
	# (workload.securityContext.readOnlyRootFilesystem: false) decided so.
	platform.read_only_root_fs
	some c in k8s.input_runtime_containers
	k8s.container_security(c, "readOnlyRootFilesystem", false) != true
	path := k8s.closest(input, array.concat(c.path, ["securityContext", "readOnlyRootFilesystem"]))
	result := k8s.result(sprintf("container %q should set securityContext.readOnlyRootFilesystem: true", [k8s.container_name(c)]), path)
}

# METADATA
# title: Pods using the default ServiceAccount should not mount its token
# description: The default ServiceAccount is shared by every pod of the namespace; mounting its token hands any RBAC granted to it to this pod.
# custom:
#   security-severity: "4.0"
#   tags: [security, rbac]
#   remediation: Use the app's own ServiceAccount (paved's default) or set automountServiceAccountToken false in the pod spec.
warn_default_sa_token contains result if {
	spec := k8s.input_pod_spec
	k8s.get(spec, "serviceAccountName", k8s.get(spec, "serviceAccount", "default")) in {"", "default"}
	k8s.get(spec, "automountServiceAccountToken", true) != false
	path := k8s.closest(input, array.concat(k8s.input_pod_spec_path, ["automountServiceAccountToken"]))
	result := k8s.result(sprintf("%s runs as the default ServiceAccount and mounts its token; set automountServiceAccountToken: false", [k8s.input_display]), path)
}
