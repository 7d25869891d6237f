# An app's identity, as other apps' NetworkPolicies see it.
package paved.all

import data.paved.lib.k8s

# METADATA
# title: An app's pods carry its own name
# description: A callee that accepts one app of another team (acceptsFrom "team/app") admits the pods labelled app.kubernetes.io/instance with that app's name, so a patch that labels another app's pods so would let that app call in its place. The label is the app's identity in the cluster, and no app may claim another's.
# custom:
#   security-severity: "7.5"
#   tags: [networking, security]
#   remediation: Do not change app.kubernetes.io/instance (or the selector that matches it) in patches, since paved sets it to the app's name.
deny_pod_identity contains result if {
	some u in input.units
	u.kind == "app"
	some obj in u.objects
	k8s.pod_spec(obj)
	instance := object.get(k8s.pod_labels(obj), "app.kubernetes.io/instance", "")
	instance != u.app
	result := {
		"msg": sprintf("the pods of %s of app %s/%s are labelled app.kubernetes.io/instance: %q: an app's pods carry its own name, which callees admit it by", [k8s.display(obj), u.team, u.app, instance]),
		"path": array.concat(k8s.pod_metadata_path(obj), ["labels", "app.kubernetes.io/instance"]),
		"object": k8s.ref(obj),
		"cluster": u.cluster,
	}
}
