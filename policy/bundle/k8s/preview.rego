# Pull requests' previews (paved preview up), apart from the real
# environments.
package paved.k8s

import data.paved.lib.k8s
import data.paved.lib.platform

# METADATA
# title: A preview never shares a namespace or a host with a real environment
# description: A pull request's preview (objects labelled paved.dev/preview) runs in its own namespace, never a team's or the platform's, and publishes only a host one label below the platform's previews.domain; no real environment publishes a host under that domain. So a preview can neither replace nor take traffic from what a team runs, and its wildcard certificate covers previews only.
# custom:
#   security-severity: "8.0"
#   tags: [security, isolation, previews]
#   remediation: Previews are rendered by paved preview up into <team>-<app>-pr<N> and <app>-pr<N>-<team>.<previews.domain>; do not patch their namespace, their host or the paved.dev/preview label, and give the real environments' ingress hosts a name outside previews.domain.
deny_preview_isolation contains result if {
	_is_preview
	ns := _namespace_of(input)
	ns != "" # cluster-scoped: its admission policies
	platform.shared_namespace(ns)
	result := k8s.result(
		sprintf("%s is a pull request's preview in namespace %q, a real environment's (a team's or the platform's): a preview has its own namespace", [k8s.input_display, ns]),
		k8s.closest(input, ["metadata", "namespace"]),
	)
}

deny_preview_isolation contains result if {
	_is_preview
	input.kind == "Ingress"
	domain := platform.previews_domain
	some i, rule in k8s.get(input, ["spec", "rules"], [])
	host := k8s.get(rule, ["host"], "")
	not _one_label_below(host, domain)
	result := k8s.result(
		sprintf("%s is a pull request's preview publishing %q: a preview publishes only a host one label below the previews' domain %s", [k8s.input_display, host, domain]),
		["spec", "rules", i, "host"],
	)
}

deny_preview_isolation contains result if {
	not _is_preview
	input.kind == "Ingress"
	domain := platform.previews_domain
	domain != ""
	some i, rule in k8s.get(input, ["spec", "rules"], [])
	host := k8s.get(rule, ["host"], "")
	_under(host, domain)
	result := k8s.result(
		sprintf("%s publishes %q under the previews' domain %s: only pull requests' previews publish there", [k8s.input_display, host, domain]),
		["spec", "rules", i, "host"],
	)
}

deny_preview_isolation contains result if {
	not _is_preview
	input.kind == "Ingress"
	domain := platform.previews_domain
	domain != ""
	some i, tls in k8s.get(input, ["spec", "tls"], [])
	some j, host in k8s.get(tls, ["hosts"], [])
	_under(host, domain)
	result := k8s.result(
		sprintf("%s claims a certificate for %q under the previews' domain %s: only pull requests' previews publish there", [k8s.input_display, host, domain]),
		["spec", "tls", i, "hosts", j],
	)
}

_is_preview if k8s.get_string(k8s.labels(input), ["paved.dev/preview"]) != ""

_namespace_of(obj) := obj.metadata.name if obj.kind == "Namespace"

_namespace_of(obj) := k8s.get(obj, ["metadata", "namespace"], "") if obj.kind != "Namespace"

_under(host, domain) if endswith(lower(host), concat("", [".", lower(domain)]))

_under(host, domain) if lower(host) == lower(domain)

_one_label_below(host, domain) if {
	endswith(host, concat("", [".", domain]))
	label := trim_suffix(host, concat("", [".", domain]))
	not contains(label, ".")
	label != ""
}
