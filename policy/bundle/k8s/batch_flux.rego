# Jobs, CronJobs and Flux Kustomizations.
package paved.k8s

import data.paved.lib.k8s
import data.paved.lib.platform

# Path of the Job spec: the object's spec, or a CronJob's job template spec.
_job_spec_path := ["spec"] if input.kind == "Job"

_job_spec_path := ["spec", "jobTemplate", "spec"] if input.kind == "CronJob"

# METADATA
# title: Jobs should set activeDeadlineSeconds
# description: Without a deadline a hung job runs, and is billed, forever; for a CronJob with concurrencyPolicy Forbid it also blocks every later run.
# custom:
#   security-severity: "2.0"
#   tags: [reliability, efficiency]
#   remediation: Keep paved's activeDeadlineSeconds on the job template (do not remove it in patches).
warn_job_deadline contains result if {
	path := _job_spec_path
	k8s.get(input, array.concat(path, ["activeDeadlineSeconds"]), null) == null
	result := k8s.result(sprintf("%s sets no activeDeadlineSeconds", [k8s.input_display]), k8s.closest(input, path))
}

# METADATA
# title: Jobs should set ttlSecondsAfterFinished
# description: Finished Jobs and their pods otherwise pile up in the namespace, counting against quota and cluttering the API.
# custom:
#   security-severity: "1.0"
#   tags: [efficiency, hygiene]
#   remediation: Keep paved's ttlSecondsAfterFinished on the job template (do not remove it in patches).
warn_job_ttl contains result if {
	path := _job_spec_path
	k8s.get(input, array.concat(path, ["ttlSecondsAfterFinished"]), null) == null
	result := k8s.result(sprintf("%s sets no ttlSecondsAfterFinished", [k8s.input_display]), k8s.closest(input, path))
}

_is_flux_kustomization if {
	input.kind == "Kustomization"
	startswith(input.apiVersion, "kustomize.toolkit.fluxcd.io/")
}

# METADATA
# title: Flux Kustomizations should prune
# description: Without prune, objects removed from the fleet repository keep running in the cluster, so deleting an app does not delete it.
# custom:
#   security-severity: "3.0"
#   tags: [hygiene, reliability]
#   remediation: Set prune true in the platform's Flux settings (paved sets it by default).
warn_flux_prune contains result if {
	_is_flux_kustomization
	k8s.get(input, ["spec", "prune"], false) != true
	result := k8s.result(sprintf("Flux Kustomization %s does not set spec.prune: true", [input.metadata.name]), k8s.closest(input, ["spec", "prune"]))
}

# METADATA
# title: Flux Kustomizations must reference a source
# description: A Kustomization without a sourceRef kind and name never reconciles, so the app silently stops deploying.
# custom:
#   security-severity: "3.0"
#   tags: [reliability]
#   remediation: Set the Flux source (kind and name) in the platform's Flux settings.
deny_flux_source_ref contains result if {
	_is_flux_kustomization
	some field in ["kind", "name"]
	k8s.get(input, ["spec", "sourceRef", field], "") == ""
	result := k8s.result(sprintf("Flux Kustomization %s has no spec.sourceRef.%s", [input.metadata.name, field]), k8s.closest(input, ["spec", "sourceRef", field]))
}

# METADATA
# title: Objects that hold data are never pruned by Flux
# description: Flux deletes what leaves the fleet and everything a deleted Kustomization applied. For a CloudNativePG Cluster that deletes its volumes and its data; for a Namespace, everything in it. With kustomize.toolkit.fluxcd.io/prune disabled Flux leaves them in the cluster, so only a person deletes them.
# custom:
#   security-severity: "7.0"
#   tags: [reliability, data]
#   remediation: Keep paved's kustomize.toolkit.fluxcd.io/prune disabled annotation (do not remove it in patches). To delete a database, remove it from app.cue, commit with --allow-database-delete, then delete the orphaned object in the cluster.
deny_prune_protection contains result if {
	_holds_data
	not _prune_disabled
	not _disposable_preview
	result := k8s.result(
		sprintf("%s may be pruned by Flux: without the annotation kustomize.toolkit.fluxcd.io/prune: disabled, removing it from the fleet deletes its data", [k8s.input_display]),
		k8s.closest(input, ["metadata", "annotations", "kustomize.toolkit.fluxcd.io/prune"]),
	)
}

# A pull request's preview, in its own namespace (preview-isolation), is
# disposable: pruning it is how it goes when the pull request closes.
_disposable_preview if {
	_is_preview
	not platform.shared_namespace(_namespace_of(input))
}

_holds_data if {
	input.kind == "Cluster"
	startswith(input.apiVersion, "postgresql.cnpg.io/")
}

_holds_data if {
	input.kind in {"Namespace", "PersistentVolumeClaim"}
	input.apiVersion == "v1"
}

# Flux reads the setting from a label or an annotation, in any case.
_prune_disabled if {
	some where in [k8s.annotations(input), k8s.labels(input)]
	lower(k8s.get_string(where, ["kustomize.toolkit.fluxcd.io/prune"])) == "disabled"
}
