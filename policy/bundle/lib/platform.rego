# Platform data (data.paved.platform) with the embedded defaults, so every
# policy reads it the same way and a missing or empty setting falls back to
# the default. Library package: defines no deny/warn rules.
package paved.lib.platform

default _platform := {}

_platform := data.paved.platform if is_object(data.paved.platform)

# Image reference prefixes the platform allows (e.g. "ghcr.io/acme/").
default registries := ["ghcr.io/acme/", "registry.acme.dev/"]

registries := r if {
	r := _strings(_platform.registries)
	count(r) > 0
}

# Service types the platform allows; NodePort and LoadBalancer need listing here.
default allowed_service_types := ["ClusterIP"]

allowed_service_types := t if {
	t := _strings(_platform.policy.allowedServiceTypes)
	count(t) > 0
}

# Whether Services may set spec.externalIPs (CVE-2020-8554).
default allow_external_ips := false

allow_external_ips := a if {
	a := _platform.policy.allowExternalIPs
	is_boolean(a)
}

# Target Kubernetes version, "major.minor".
default kubernetes_version := "1.34"

kubernetes_version := v if {
	v := _platform.policy.kubernetesVersion
	is_string(v)
	regex.match(`^v?[0-9]+\.[0-9]+(\.[0-9]+)?$`, v)
}

# Whether app containers run with a read-only root file system
# (workload.securityContext.readOnlyRootFilesystem).
default read_only_root_fs := true

read_only_root_fs := r if {
	r := _platform.workload.securityContext.readOnlyRootFilesystem
	is_boolean(r)
}

# The strings of a list (anything else is ignored).
_strings(list) := [s | some s in list; is_string(s)] if is_array(list)

# Key globs outside <team>/ each team may read from the secret store.
default secret_grants := {}

secret_grants := g if {
	g := _platform.secretStore.grants
	is_object(g)
}

# Keys the platform's own objects read (database backup credentials).
default platform_secret_keys := []

platform_secret_keys := k if {
	k := _strings(_platform.secretStore.platformKeys)
}

# secret_allowed holds when team may read key: its own part of the store
# (<team>/...), a grant, or a key the platform's own objects read.
secret_allowed(team, key) if {
	startswith(key, concat("", [team, "/"]))
	not contains(key, "..")
}

secret_allowed(team, key) if {
	some g in object.get(secret_grants, team, [])
	glob.match(g, ["/"], key)
}

secret_allowed(_, key) if {
	key in platform_secret_keys
}

# previews_domain is the domain pull requests' previews publish under
# ("" when the platform has none).
default previews_domain := ""

previews_domain := d if {
	d := _platform.previews.domain
	is_string(d)
}

# shared_namespace holds for a namespace of a real environment: a team's,
# or a reserved one (kube-*, default, flux-system, the platform's own and
# its reservedNames).
shared_namespace(ns) if _platform.teams[ns]

shared_namespace(ns) if startswith(ns, "kube-")

shared_namespace(ns) if ns in {"default", "flux-system"}

shared_namespace(ns) if ns in _strings(object.get(_platform, "reservedNames", []))

# team_of is the team an object belongs to: its namespace, or for a pull
# request's preview (labelled paved.dev/preview) in namespace
# <team>-<app>-pr<N>, the team its paved.dev/team label names.
team_of(obj) := team if {
	labels := object.get(obj, ["metadata", "labels"], {})
	object.get(labels, "paved.dev/preview", "") != ""
	team := object.get(labels, "paved.dev/team", "")
	team != ""
	startswith(object.get(obj, ["metadata", "namespace"], ""), concat("", [team, "-"]))
} else := object.get(obj, ["metadata", "namespace"], "")
