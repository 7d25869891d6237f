# RBAC: Roles, ClusterRoles and their bindings.
package paved.k8s

import data.paved.lib.k8s

_role_kinds := {"Role", "ClusterRole"}

# METADATA
# title: Bindings must not grant cluster-admin
# description: cluster-admin is full control of the cluster, far beyond what an app or a team owner needs.
# custom:
#   security-severity: "9.0"
#   tags: [security, rbac]
#   remediation: Bind a narrower role (edit, view or a Role listing the needed verbs); cluster-admin is reserved to the platform team.
deny_cluster_admin_binding contains result if {
	input.kind in {"RoleBinding", "ClusterRoleBinding"}
	input.roleRef.kind == "ClusterRole"
	input.roleRef.name == "cluster-admin"
	result := k8s.result(sprintf("%s binds the cluster-admin ClusterRole", [k8s.input_display]), ["roleRef", "name"])
}

# METADATA
# title: Roles must not use wildcards in verbs, resources or apiGroups
# description: A wildcard grants every present and future verb or resource, including secrets, escalate and impersonate.
# custom:
#   security-severity: "8.0"
#   tags: [security, rbac]
#   remediation: List the verbs, resources and apiGroups the role needs explicitly.
deny_rbac_wildcard contains result if {
	input.kind in _role_kinds
	some i, rule in k8s.get(input, "rules", [])
	some field in ["verbs", "resources", "apiGroups"]
	some j, value in k8s.get(rule, field, [])
	value == "*"
	result := k8s.result(sprintf("%s rule %d has * in %s", [k8s.input_display, i, field]), ["rules", i, field, j])
}

# METADATA
# title: Roles should not grant exec, attach or secret reads
# description: pods/exec and pods/attach give a shell in running pods; reading secrets exposes every credential of the namespace.
# custom:
#   security-severity: "6.0"
#   tags: [security, rbac]
#   remediation: Remove the rule, or scope it with resourceNames to the secrets the subject must read.
warn_rbac_sensitive_access contains result if {
	input.kind in _role_kinds
	some i, rule in k8s.get(input, "rules", [])
	_core_group(rule)
	some j, resource in k8s.get(rule, "resources", [])
	resource in {"pods/exec", "pods/attach"}
	result := k8s.result(sprintf("%s rule %d grants %s", [k8s.input_display, i, resource]), ["rules", i, "resources", j])
}

warn_rbac_sensitive_access contains result if {
	input.kind in _role_kinds
	some i, rule in k8s.get(input, "rules", [])
	_core_group(rule)
	some j, resource in k8s.get(rule, "resources", [])
	resource == "secrets"
	some verb in k8s.get(rule, "verbs", [])
	verb in {"get", "list", "watch"}
	k8s.size(k8s.get(rule, "resourceNames", [])) == 0
	result := k8s.result(sprintf("%s rule %d grants %s on all secrets", [k8s.input_display, i, verb]), ["rules", i, "resources", j])
}

# The rule applies to the core API group ("" or "*").
_core_group(rule) if {
	some group in k8s.get(rule, "apiGroups", [])
	group in {"", "*"}
}
