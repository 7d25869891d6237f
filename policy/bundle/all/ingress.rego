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

# METADATA
# title: A host belongs to one environment
# description: One host published in two environments (dev and prod, staging and prod) has external-dns and cert-manager in each environment's clusters fight over one DNS record and one certificate, and sends one environment's users to the other. Regions of production are clusters of one environment and share its hosts.
# custom:
#   security-severity: "6.5"
#   tags: [networking, reliability]
#   remediation: Keep the production host in ingress.host and leave environments.<env>.ingress.host out (paved publishes <name>.<team>.<cluster domain> there), or give the environment a host of its own.
deny_ingress_host_environments contains result if {
	# Claims within a host group only, as for the conflict above.
	some group in _claims_by_host
	count({c.environment | some c in group}) > 1
	some claim in group
	others := sort({sprintf("%s in cluster %s (%s)", [c.display, c.cluster, c.environment]) |
		some c in group
		c.environment != claim.environment
	})
	result := {
		"msg": sprintf("%s claims host %s in environment %s, which another environment claims too: %s", [claim.display, claim.host, claim.environment, concat(", ", others)]),
		"path": claim.host_at,
		"object": claim.ref,
		"cluster": claim.cluster,
	}
}

# _claims lists every (host, path) an Ingress routes, with where it is.
_claims_by_route[route] contains claim if {
	some claim in _claims
	route := [claim.cluster, claim.host, claim.path]
}

_claims_by_host[claim.host] contains claim if {
	some claim in _claims
	claim.host != ""
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
		"environment": u.environment,
		"host": host,
		"path": object.get(p, "path", "/"),
		"id": sprintf("%s/%s/%s", [u.cluster, k8s.namespace(obj), obj.metadata.name]),
		"display": sprintf("Ingress %s/%s", [k8s.namespace(obj), obj.metadata.name]),
		"ref": k8s.ref(obj),
		"at": ["spec", "rules", i, "http", "paths", j, "path"],
		"host_at": ["spec", "rules", i, "host"],
	}
}
