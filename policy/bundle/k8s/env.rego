# Container environment: secrets, duplicates, telemetry settings.
package paved.k8s

import data.paved.lib.k8s
import data.paved.lib.platform

# Secret-looking names: one of these words as a part of the name, parts being
# separated by _ - or . (DB_PASSWORD, stripe-api-key, APIKEY), in any case.
# Names ending in _FILE or _PATH point to a mounted file, not a value.
_secret_name_pattern := `(?i)(^|[_.-])(passwd|password|secrets?|tokens?|api[_.-]?key|private[_.-]?key|credentials?)($|[_.-])`

_is_secret_name(name) if {
	is_string(name)
	regex.match(_secret_name_pattern, name)
	not regex.match(`(?i)[_.-](file|path)$`, name)
}

# METADATA
# title: Secret-like environment variables must come from a Secret
# description: A literal value in the manifest is stored in Git, in the fleet repository and in the PR diff, where anyone with read access sees it.
# custom:
#   security-severity: "8.0"
#   tags: [security]
#   remediation: Move the value to the secret store and reference it under secrets in app.cue; paved renders an ExternalSecret and a secretKeyRef.
deny_secret_in_env contains result if {
	some c in k8s.input_containers
	some i, env in k8s.get(c.container, "env", [])
	_is_secret_name(env.name)
	k8s.get(env, "value", "") != ""
	path := array.concat(c.path, ["env", i, "value"])
	result := k8s.result(sprintf("container %q sets %s to a literal value; use a secret reference", [k8s.container_name(c), env.name]), path)
}

# METADATA
# title: Environment variable names must be unique within a container
# description: With duplicates only the last value takes effect, silently overriding what the spec or a platform default intended.
# custom:
#   security-severity: "3.0"
#   tags: [reliability, hygiene]
#   remediation: Remove the duplicate from env or secrets in app.cue, or from the patch that adds it; platform defaults (LOG_FORMAT, OTEL_*) are set by paved.
deny_duplicate_env contains result if {
	some c in k8s.input_containers
	envs := k8s.get(c.container, "env", [])
	count({e.name | some e in envs}) < count(envs) # a name repeats, or lacks
	some i, env in envs
	some j, other in envs
	j < i
	other.name == env.name
	path := array.concat(c.path, ["env", i, "name"])
	result := k8s.result(sprintf("container %q sets %s more than once (env[%d] and env[%d])", [k8s.container_name(c), env.name, j, i]), path)
}

# _envs are a container's env entries with the given name.
_envs(container, name) := [env |
	some env in k8s.get(container, "env", [])
	env.name == name
]

# METADATA
# title: Workloads should export traces, or justify opting out
# description: Without OTEL_EXPORTER_OTLP_ENDPOINT requests through this app break the trace; a warning because it degrades diagnosis, not the running service, and the schema already demands a justification.
# custom:
#   security-severity: "2.0"
#   tags: [observability]
#   remediation: Keep paved's OpenTelemetry env, or set observability.tracing enabled false with a justification in app.cue.
warn_tracing_configured contains result if {
	k8s.input_is_pod_bearing
	not k8s.input_opted_out("tracing")
	some c in k8s.input_app_containers
	not _configured(c.container, "OTEL_EXPORTER_OTLP_ENDPOINT")
	path := k8s.closest(input, array.concat(c.path, ["env"]))
	result := k8s.result(sprintf("container %q sets no OTEL_EXPORTER_OTLP_ENDPOINT and %s has no opt-out.paved.dev/tracing justification", [k8s.container_name(c), k8s.input_display]), path)
}

# Set to a literal value or taken from a ConfigMap/Secret.
_configured(container, name) if {
	some env in _envs(container, name)
	k8s.get(env, "value", "") != ""
}

_configured(container, name) if {
	some env in _envs(container, name)
	env.valueFrom
}

# METADATA
# title: Workloads should log JSON, or justify opting out
# description: The log pipeline parses and routes JSON lines; plain-text logs lose levels, trace IDs and team routing. A warning because it degrades diagnosis, not the running service.
# custom:
#   security-severity: "2.0"
#   tags: [observability]
#   remediation: Keep paved's LOG_FORMAT=json env, or set observability.logging enabled false with a justification in app.cue.
warn_json_logs contains result if {
	k8s.input_is_pod_bearing
	not k8s.input_opted_out("logging")
	some c in k8s.input_app_containers
	not _logs_json(c.container)
	path := k8s.closest(input, array.concat(c.path, ["env"]))
	result := k8s.result(sprintf("container %q does not set LOG_FORMAT=json and %s has no opt-out.paved.dev/logging justification", [k8s.container_name(c), k8s.input_display]), path)
}

_logs_json(container) if {
	some env in _envs(container, "LOG_FORMAT")
	is_string(env.value)
	lower(env.value) == "json"
}

# A value from a ConfigMap or Secret cannot be checked here; trust it.
_logs_json(container) if {
	some env in _envs(container, "LOG_FORMAT")
	env.valueFrom
}

# METADATA
# title: ExternalSecrets read only their team's part of the secret store
# description: Every team's ExternalSecrets go through one shared store; without this rule one team's app could read another team's secrets by naming their key.
# custom:
#   security-severity: "9.0"
#   tags: [security]
#   remediation: Reference keys under your team's part of the store (<team>/...) in secrets; a key another team owns needs a grant in the platform (secretStore.grants).
deny_secret_outside_team contains result if {
	input.kind == "ExternalSecret"
	team := platform.team_of(input)
	some i, d in k8s.get(input.spec, "data", [])
	key := k8s.get(d, ["remoteRef", "key"], "")
	not platform.secret_allowed(team, key)
	result := k8s.result(sprintf("ExternalSecret %s in namespace %q reads key %q, outside team %s's part of the secret store", [input.metadata.name, team, key, team]), ["spec", "data", i, "remoteRef", "key"])
}

deny_secret_outside_team contains result if {
	input.kind == "ExternalSecret"
	team := platform.team_of(input)
	some i, d in k8s.get(input.spec, "dataFrom", [])
	k8s.get(d, "extract", null) != null
	key := k8s.get(d, ["extract", "key"], "")
	not platform.secret_allowed(team, key)
	result := k8s.result(sprintf("ExternalSecret %s in namespace %q extracts key %q, outside team %s's part of the secret store", [input.metadata.name, team, key, team]), ["spec", "dataFrom", i, "extract", "key"])
}

deny_secret_outside_team contains result if {
	input.kind == "ExternalSecret"
	some i, d in k8s.get(input.spec, "dataFrom", [])
	k8s.get(d, "find", null) != null
	result := k8s.result(sprintf("ExternalSecret %s finds keys by pattern across the secret store: name each key of the team's part instead", [input.metadata.name]), ["spec", "dataFrom", i, "find"])
}
