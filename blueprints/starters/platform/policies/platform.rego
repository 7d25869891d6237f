# The platform's own policies, added to paved's built-in bundle: Rego v1,
# conftest's conventions (deny_<id>, warn_<id>, violation_<id>), each rule
# with a METADATA block (title, description, remediation) that `paved policy
# list` and `paved policy doc` show. data/ holds their data.
package paved.platform

import data.paved.lib.k8s

# METADATA
# title: Workloads scale to at most the platform's replica limit
# description: Capacity planning assumes that no app scales past the limit in data/limits.yaml.
# custom:
#   security-severity: "3.0"
#   tags: [reliability]
#   remediation: Lower replicas.max, or ask the platform team to raise the limit.
deny_max_replicas contains {"msg": msg, "path": ["spec", "maxReplicas"]} if {
	input.kind == "HorizontalPodAutoscaler"
	input.spec.maxReplicas > data.limits.maxReplicas
	msg := sprintf("%s %s may scale to %d replicas, the platform allows %d", [input.spec.scaleTargetRef.kind, input.spec.scaleTargetRef.name, input.spec.maxReplicas, data.limits.maxReplicas])
}

# METADATA
# title: Workloads carry their team label
# description: Cost and alert routing read paved.dev/team.
# custom:
#   tags: [operations]
#   remediation: Render the app with paved; do not hand-write workloads.
warn_team_label contains {"msg": "workload has no paved.dev/team label", "path": ["metadata", "labels"]} if {
	k8s.is_pod_bearing(input)
	not input.metadata.labels["paved.dev/team"]
}
