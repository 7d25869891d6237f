# Exposure: Services and Ingresses.
package paved.k8s

import data.paved.lib.k8s
import data.paved.lib.platform

# METADATA
# title: Services must not use a type the platform does not allow
# description: NodePort and LoadBalancer Services open the app outside the cluster, bypassing the shared ingress with its TLS and WAF.
# custom:
#   security-severity: "6.0"
#   tags: [security, networking]
#   remediation: Use a ClusterIP Service and ingress in app.cue, or ask the platform team to allow the type (policy.allowedServiceTypes).
deny_service_type contains result if {
	input.kind == "Service"
	type := k8s.get(input, ["spec", "type"], "ClusterIP")
	type in {"NodePort", "LoadBalancer"}
	not type in platform.allowed_service_types
	result := k8s.result(sprintf("Service %s has type %s; the platform allows %s", [input.metadata.name, type, concat(", ", platform.allowed_service_types)]), ["spec", "type"])
}

# METADATA
# title: Services must not set externalIPs
# description: externalIPs let any Service owner intercept traffic to arbitrary IPs cluster-wide (CVE-2020-8554).
# custom:
#   security-severity: "7.0"
#   tags: [security, networking]
#   remediation: Remove spec.externalIPs and expose the app through ingress, or ask the platform team to allow it (policy.allowExternalIPs).
deny_service_external_ips contains result if {
	input.kind == "Service"
	k8s.size(k8s.get(input, ["spec", "externalIPs"], [])) > 0
	not platform.allow_external_ips
	result := k8s.result(sprintf("Service %s sets spec.externalIPs %v", [input.metadata.name, input.spec.externalIPs]), ["spec", "externalIPs"])
}

# METADATA
# title: Ingresses must serve every host over TLS
# description: A host without a TLS entry is served over plain HTTP, exposing sessions and credentials in transit.
# custom:
#   security-severity: "6.0"
#   tags: [security, networking]
#   remediation: Keep paved's tls section and cert-manager annotation on the Ingress; every rule host must be listed in spec.tls[].hosts.
deny_ingress_tls contains result if {
	input.kind == "Ingress"
	k8s.size(k8s.get(input, ["spec", "tls"], [])) == 0
	result := k8s.result(sprintf("Ingress %s has no spec.tls section", [input.metadata.name]), k8s.closest(input, ["spec", "tls"]))
}

deny_ingress_tls contains result if {
	input.kind == "Ingress"
	k8s.size(k8s.get(input, ["spec", "tls"], [])) > 0
	some i, rule in k8s.get(input, ["spec", "rules"], [])
	host := k8s.get(rule, "host", "")
	host != ""
	not _tls_covers(host)
	result := k8s.result(sprintf("Ingress %s host %q is not listed in spec.tls[].hosts", [input.metadata.name, host]), ["spec", "rules", i, "host"])
}

_tls_covers(host) if {
	some tls in input.spec.tls
	some pattern in k8s.get(tls, "hosts", [])
	_host_matches(pattern, host)
}

_host_matches(pattern, host) if pattern == host

# A wildcard covers exactly one DNS label: *.acme.dev covers a.acme.dev.
_host_matches(pattern, host) if {
	is_string(pattern)
	startswith(pattern, "*.")
	glob.match(pattern, ["."], host)
}

# METADATA
# title: Ingress rules should name a host
# description: A rule without a host catches every hostname on the shared ingress controller, which can shadow other teams' apps.
# custom:
#   security-severity: "4.0"
#   tags: [networking, hygiene]
#   remediation: Set ingress.host in app.cue.
warn_ingress_host contains result if {
	input.kind == "Ingress"
	some i, rule in k8s.get(input, ["spec", "rules"], [])
	k8s.get(rule, "host", "") == ""
	result := k8s.result(sprintf("Ingress %s rule %d has no host", [input.metadata.name, i]), ["spec", "rules", i])
}
