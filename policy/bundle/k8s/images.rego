# Container images: pinned and from the platform's registries.
package paved.k8s

import data.paved.lib.k8s
import data.paved.lib.platform

# image_tag is the tag of an image reference without a digest ("" if none).
# The tag follows the last ":" of the last path segment, so a registry port
# (registry:5000/app) is not mistaken for a tag.
image_tag(image) := tag if {
	segments := split(image, "/")
	last := segments[count(segments) - 1]
	contains(last, ":")
	parts := split(last, ":")
	tag := parts[count(parts) - 1]
} else := ""

has_digest(image) if contains(image, "@")

# METADATA
# title: Images must be pinned to a tag other than latest, or to a digest
# description: An unpinned image changes under the same manifest, so a render no longer says what runs and rollbacks do not roll back.
# custom:
#   security-severity: "5.0"
#   tags: [supply-chain, reliability]
#   remediation: Set image in app.cue to an immutable version tag (app:1.4.2) or a digest (app@sha256:...).
deny_no_latest_tag contains result if {
	some c in k8s.input_containers
	image := c.container.image
	is_string(image)
	not has_digest(image)
	image_tag(image) in {"", "latest"}
	path := array.concat(c.path, ["image"])
	result := k8s.result(sprintf("container %q uses image %q without a version tag or digest", [k8s.container_name(c), image]), path)
}

# METADATA
# title: Images must come from an allowed registry
# description: Only the platform's registries are scanned, signed and mirrored; other sources are an unreviewed supply chain.
# custom:
#   security-severity: "7.0"
#   tags: [supply-chain, security]
#   remediation: Push the image to an allowed registry (data.paved.platform.registries) and reference it there in app.cue.
deny_allowed_registry contains result if {
	some c in k8s.input_containers
	image := c.container.image
	is_string(image)
	not _registry_allowed(image)
	path := array.concat(c.path, ["image"])
	result := k8s.result(sprintf("container %q uses image %q, not from an allowed registry (%s)", [k8s.container_name(c), image, concat(", ", platform.registries)]), path)
}

_registry_allowed(image) if {
	some prefix in platform.registries
	startswith(image, prefix)
}
