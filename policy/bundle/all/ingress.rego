# Rules across apps: evaluated once over every rendered object of the run.
# input: {"units": [{dir, kind, cluster, environment, team, app, objects}]}
package paved.all

import data.paved.lib.k8s

# METADATA
# title: One host and path per cluster belongs to one Ingress
# description: Two Ingresses claiming the same host and path in a cluster make the ingress controller pick one at random, so one app silently takes the other's traffic.
# custom:
#   security-severity: "6.5"
#   tags: [networking, reliability]
#   remediation: Give the app its own ingress.host (or path) in app.cue, or remove the other app's claim.
deny_ingress_host_conflict contains result if {
	# Pairs within a cluster/host/path group only: comparing every claim
	# with every other is quadratic in the fleet's Ingresses.
	some group in _claims_by_route
	count(group) > 1
	some claim in group
	some other in group
	claim.id < other.id
	result := {
		"msg": sprintf("%s claims host %s path %s, which %s also claims in cluster %s", [claim.display, claim.host, claim.path, other.display, claim.cluster]),
		"path": claim.at,
		"object": claim.ref,
		"cluster": claim.cluster,
	}
}

# _claims lists every (host, path) an Ingress routes, with where it is.
_claims_by_route[route] contains claim if {
	some claim in _claims
	route := [claim.cluster, claim.host, claim.path]
}

_claims contains claim if {
	some u in input.units
	some obj in u.objects
	obj.kind == "Ingress"
	some i, rule in k8s.get_array(obj, ["spec", "rules"])
	host := object.get(rule, "host", "")
	some j, p in k8s.get_array(rule, ["http", "paths"])
	claim := {
		"cluster": u.cluster,
		"host": host,
		"path": object.get(p, "path", "/"),
		"id": sprintf("%s/%s/%s", [u.cluster, k8s.namespace(obj), obj.metadata.name]),
		"display": sprintf("Ingress %s/%s", [k8s.namespace(obj), obj.metadata.name]),
		"ref": k8s.ref(obj),
		"at": ["spec", "rules", i, "http", "paths", j, "path"],
	}
}
