# Tests of the platform's policies: `paved policy test --platform <dir>`.
package paved.platform_test

import data.paved.platform

test_over_the_limit if {
	count(platform.deny_max_replicas) == 1 with input as {"kind": "HorizontalPodAutoscaler", "spec": {"maxReplicas": 51, "scaleTargetRef": {"kind": "Deployment", "name": "x"}}}
}

test_at_the_limit if {
	count(platform.deny_max_replicas) == 0 with input as {"kind": "HorizontalPodAutoscaler", "spec": {"maxReplicas": 50, "scaleTargetRef": {"kind": "Deployment", "name": "x"}}}
}
