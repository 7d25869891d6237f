#!/usr/bin/env bash
# bench-compare: the same generated app monorepo through
#   (a) the naive CLI pipeline of issue 5, a user's Makefile over the same
#       CUE: one `cue export` per app (its objects in every cluster, from
#       schema/*.cue + blueprints/*.cue + the platform + a glue file; the
#       glue's inputs from one `cue export` of every app's raw spec and
#       one jq over them), one `kustomize build` per cluster directory
#       (apps/<cluster>/, a kustomization listing every app directory,
#       each listing the app's objects.yaml), and one `conftest test
#       --namespace paved.k8s` over the four built streams with the same
#       policy bundle and data.paved.platform;
#   (b) `paved render` + `paved lint`, twice: with --no-cache (each
#       command evaluates every app) and with the default cache starting
#       empty (a fresh CI machine: lint reuses render's evaluations);
# and reports wall time and peak RSS of each stage and the ratios, plus
# the policy stage of the cold lint alone (--timings), the work conftest
# does.
#
# Usage: APPS=100 SEED=1 bash internal/synth/bench-compare.sh
#        (make bench-compare builds bin/paved and bin/paved-fleetgen first;
#        APPS=1000 make bench-compare for the headline figures)
# Prints the table and writes it to out/bench-compare-$APPS.txt. KEEP=1
# keeps the scratch directory (printed) instead of removing it on exit.
# Each stage runs as `bash $0 --stage FUNC` under /usr/bin/time, both paved
# commands with --no-cache.
#
# Peak RSS is GNU time's %M for the stage: the largest single process of the
# stage (wait4 rusage), which is what a stage of sequential CLI calls needs.
#
# Glue (what paved computes in Go, done here with jq):
#   - env overrides: jq `*` (deep merge, arrays replaced) of the app's own
#     values with environments.<env>, like schema.merge; the result is
#     unified with #App in CUE by the glue (app: #App & ...), which applies
#     the defaults and checks the spec, as paved vet does;
#   - version label: the image tag; sampleRatio: the app's own or the
#     environment's tracingSampleRatio (in CUE); dependents/dependencies
#     (with the dependency's port) computed over all apps with jq;
#   - source path: <team>/<app> relative to the repo root.
# Differences from paved render + lint:
#   - tenants/<cluster>/<team> (#Tenant) and clusters/<cluster>/paved (Flux
#     objects) are not produced by the naive pipeline; only apps/ is
#     compared and counted;
#   - no paved.dev/source-revision stamping (no git revision either way);
#   - an app's kustomization.yaml lists its one objects.yaml, no patches
#     (the generator's patches, if any, are not applied);
#   - conftest runs the per-object package (paved.k8s) only; paved lint also
#     evaluates the kustomization-directory, fleet and budget policies, and
#     over apps and tenants, so it does strictly more work.
set -euo pipefail

APPS=${APPS:-100}
SEED=${SEED:-1}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOOLS=${PAVED_BENCH_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/paved-bench/bin}
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.4}
PAVED=$ROOT/bin/paved
FLEETGEN=$ROOT/bin/paved-fleetgen
RESULTS=$ROOT/out/bench-compare-$APPS.txt

mkdir -p "$TOOLS" "$ROOT/out"
install() { # name module@version
	[ -x "$TOOLS/$1" ] && return
	echo "installing $2 into $TOOLS" >&2
	GOBIN=$TOOLS go install "$2"
}
install cue cuelang.org/go/cmd/cue@v0.17.1
install kustomize sigs.k8s.io/kustomize/kustomize/v5@v5.8.2 # kustomize api v0.21.2, as paved
install conftest github.com/open-policy-agent/conftest@v0.71.1
CUE=$TOOLS/cue KUST=$TOOLS/kustomize CONFTEST=$TOOLS/conftest
export CUE KUST CONFTEST
for t in /usr/bin/time jq awk; do command -v $t >/dev/null || { echo "bench-compare: $t is required" >&2; exit 2; }; done

# Stage 1: cue export, one call per app (as a user's Makefile would run
# it): the app's objects in every cluster. The glue first: the raw specs of
# all apps (one cue export over every app directory) and, with one jq over
# them, each app's input per cluster (what paved computes in Go).
stage_cue() {
	local out=$WORK/naive
	rm -rf "$out" && mkdir -p "$out/in" "$out/objects"
	local dirs=()
	local d
	for d in "$SRC"/*/*/; do
		case $d in "$SRC"/paved.platform/*) continue ;; esac
		d=${d#"$SRC"/}
		dirs+=("./${d%/}")
	done
	(cd "$SRC" && "$CUE" export "${dirs[@]}" --out json) | jq -s '.' >"$out/all.json"
	jq -r --slurpfile envs "$WORK/envs.json" --rawfile cls "$WORK/clusters.txt" '
		def eff($a; $env): ($a | del(.environments)) * ($a.environments[$env] // {});
		. as $all
		| ($cls | split("\n") | map(select(. != "") | split(" "))) as $pairs
		| $all[] as $raw
		| {clusters: ([$pairs[] as [$env, $cl] | eff($raw; $env) as $e | {key: $cl, value: {
			app: $e, env: $env,
			version: ($e.image | split("@")[0] | split("/")[-1] | (split(":")[1] // "unknown")),
			dependents: [$all[] | select(.team == $raw.team and ((.dependsOn // []) | index($raw.name))) | .name] | sort,
			dependencies: [($e.dependsOn // [])[] as $d | $all[] | select(.team == $raw.team and .name == $d)
				| eff(.; $env) | {name: $d} + (if .port then {port: .port} else {} end)],
			sampleRatio: ($e.observability.tracing.sampleRatio // $envs[0][$env].tracingSampleRatio),
			source: {path: "\($raw.team)/\($raw.name)"}}}] | from_entries)}
		| "\($raw.team).\($raw.name)\t\(tojson)"' "$out/all.json" |
		while IFS=$'\t' read -r name js; do printf '%s\n' "$js" >"$out/in/$name.json"; done
	local f
	for f in "$out"/in/*.json; do
		local name g
		name=$(basename "$f" .json) g=$out/glue/$name
		mkdir -p "$g" && cp "$PKG"/*.cue "$g"/
		# the glue: per cluster, unify the input with the blueprint of the
		# app's kind; one YAML stream per cluster after a "### cluster" line.
		cat >"$g/glue.cue" <<EOF
package paved

import (
	"encoding/yaml"
	"strings"
)

_g: _
_g: $(cat "$f")
_out: {for cl, c in _g.clusters {(cl): (blueprint[c.app.kind] & {in: {
	app:     #App & c.app
	cluster: platform.environments[c.env].clusters[cl] & {name: cl, environment: c.env}
	version: c.version
	sampleRatio:  c.sampleRatio
	dependents:   c.dependents
	dependencies: c.dependencies
	source:       c.source
}}).objects}}
text: strings.Join([for cl, objs in _out {"### \(cl)\n" + yaml.MarshalStream(objs)}], "")
EOF
		"$CUE" export "$g"/*.cue -e text --out text >"$out/objects/$name.txt"
	done
}

# Stage 2: kustomize build per cluster directory. Each app's stream goes
# into apps/<cluster>/<team>/<app>/objects.yaml with a kustomization.yaml
# listing it, each cluster directory gets a kustomization.yaml listing its
# app directories, and `kustomize build apps/<cluster>` builds each cluster.
stage_kustomize() {
	local out=$WORK/kust built=$WORK/built
	rm -rf "$out" "$built" && mkdir -p "$out" "$built"
	local f
	for f in "$WORK"/naive/objects/*.txt; do
		local name team app
		name=$(basename "$f" .txt) team=${name%%.*} app=${name#*.}
		awk -v d="$out" -v rel="$team/$app" '
			/^### / { cl = $2; dir = d "/" cl "/" rel; system("mkdir -p " dir)
				f = dir "/objects.yaml"
				printf "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- objects.yaml\n" > (dir "/kustomization.yaml")
				close(dir "/kustomization.yaml"); next }
			f { print > f }' "$f"
	done
	local env cl
	while read -r env cl; do
		(cd "$out/$cl" && {
			printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n'
			for d in */*/; do printf -- '- %s\n' "${d%/}"; done
		} >kustomization.yaml)
		"$KUST" build "$out/$cl" >"$built/$cl.yaml"
	done <"$WORK/clusters.txt"
}

# Stage 3: conftest over the built output, the per-object namespace.
stage_conftest() {
	local rc=0
	"$CONFTEST" test --no-color --policy "$ROOT/policy/bundle" --namespace paved.k8s \
		--data "$WORK/data.json" "$WORK"/built/*.yaml >"$WORK/conftest.out" 2>&1 || rc=$?
	[ "$rc" -le 1 ] || { tail -20 "$WORK/conftest.out" >&2; return "$rc"; }
}

# paved, cold: --no-cache, so each command evaluates every app. --timings
# gives the policy stage alone (`timing: lint`), the part conftest does.
stage_render() { "$PAVED" render "$SRC" --out "$WORK/paved-out" --no-cache -q >/dev/null; }
stage_lint() {
	local rc=0
	"$PAVED" lint "$SRC" --no-cache --timings -q -o json >"$WORK/lint.json" 2>"$WORK/lint.timings" || rc=$?
	[ "$rc" -le 1 ] || { cat "$WORK/lint.timings" >&2; return "$rc"; }
}
# paved as a CI job runs it: the default cache, starting empty (a fresh
# machine); render fills it, so lint reuses render's evaluations.
stage_render_cache() { PAVED_CACHE_DIR=$WORK/cache "$PAVED" render "$SRC" --out "$WORK/paved-out2" -q >/dev/null; }
stage_lint_cache() {
	local rc=0
	PAVED_CACHE_DIR=$WORK/cache "$PAVED" lint "$SRC" -q -o json >"$WORK/lint2.json" || rc=$?
	[ "$rc" -le 1 ] || return "$rc"
}

# A stage under GNU time, in a child of this script (the functions and the
# exported variables, not the setup): "name wall maxrss_kb" into times.txt.
run_stage() { # name function
	echo "stage $1 ..." >&2
	/usr/bin/time -f '%e %M' -o "$WORK/time.$1" bash "$0" --stage "$2"
	echo "$1 $(cat "$WORK/time.$1")" >>"$WORK/times.txt"
}

if [ "${1:-}" = --stage ]; then
	"$2"
	exit
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/paved-bench.XXXXXX")
if [ -n "${KEEP:-}" ]; then echo "bench-compare: keeping $WORK" >&2; else trap 'rm -rf "$WORK"' EXIT; fi
SRC=$WORK/src
"$FLEETGEN" -apps "$APPS" -seed "$SEED" -out "$SRC" >/dev/null

# The CUE package every app x cluster evaluation is built from: schema +
# blueprints + the platform directory, as paved loads them.
PKG=$WORK/pkg
mkdir -p "$PKG"
cp "$ROOT"/schema/*.cue "$ROOT"/blueprints/*.cue "$PKG"/
for f in "$SRC"/paved.platform/*.cue; do cp "$f" "$PKG/zz_platform_$(basename "$f")"; done
# cluster list: env cluster
"$CUE" export "$PKG"/*.cue -e 'platform.environments' --out json >"$WORK/envs.json"
jq -r 'to_entries[] | .key as $e | .value.clusters | keys[] | "\($e) \(.)"' "$WORK/envs.json" >"$WORK/clusters.txt"
# data.paved.platform for conftest, the same fields as policy/engine.go
"$CUE" export "$PKG"/*.cue -e 'platform' --out json | jq '{paved: {platform: {registries: .registries,
	policy: {notWaivable: (.policy.notWaivable // []), allowedServiceTypes: (.policy.allowedServiceTypes // []),
	allowExternalIPs: .policy.allowExternalIPs, kubernetesVersion: .policy.kubernetesVersion}}}}' >"$WORK/data.json"
export PKG WORK SRC

export ROOT PAVED

: >"$WORK/times.txt"
run_stage cue-export stage_cue
run_stage kustomize stage_kustomize
run_stage conftest stage_conftest
run_stage paved-render stage_render
run_stage paved-lint stage_lint
run_stage paved-render+cache stage_render_cache
run_stage paved-lint+cache stage_lint_cache
# The policy stage of the cold lint, seconds (and the compile, alongside).
awk '$1 == "timing:" && $2 == "lint" { printf "paved-lint:policies %.2f 0\n", $3 / 1000 }' "$WORK/lint.timings" >>"$WORK/times.txt"

# Objects per cluster: the naive pipeline's (kustomize build output) and
# paved render's apps/<cluster>/ files (kustomization.yaml excluded).
counts() {
	local env cl naive pav mism=0
	printf '%-16s %10s %10s\n' cluster naive paved
	while read -r env cl; do
		naive=$(grep -c '^kind:' "$WORK/built/$cl.yaml" || true)
		pav=$(find "$WORK/paved-out/apps/$cl" -type f -name '*.yaml' ! -name kustomization.yaml | wc -l)
		printf '%-16s %10s %10s%s\n' "$cl" "$naive" "$pav" "$([ "$naive" = "$pav" ] || echo '   MISMATCH')"
		[ "$naive" = "$pav" ] || mism=1
	done <"$WORK/clusters.txt"
	[ "$mism" = 0 ] || echo "object counts differ between the pipelines (reported, not fatal)"
}

report() {
	echo "bench-compare: APPS=$APPS SEED=$SEED, $(wc -l <"$WORK/clusters.txt") clusters, $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "tools: $("$CUE" version | head -1 | awk '{print $1, $3}'), kustomize $("$KUST" version), conftest v0.71.1, paved $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo
	awk '
		function mb(k) { return k / 1024 }
		{ w[$1] = $2; m[$1] = $3; order[++n] = $1 }
		function row(name, wall, rss) { printf "%-34s %10.2f %14s\n", name, wall, (rss > 0 ? sprintf("%.1f", mb(rss)) : "") }
		function ratio(name, a, b, ma, mb_) { printf "%-44s %7.1fx %9s\n", name, a / b, (mb_ > 0 ? sprintf("%.1fx", ma / mb_) : "") }
		function max(a, b) { return a > b ? a : b }
		END {
			printf "%-34s %10s %14s\n", "stage", "wall s", "peak RSS MiB"
			for (i = 1; i <= n; i++) row(order[i], w[order[i]], m[order[i]])
			nw = w["cue-export"] + w["kustomize"] + w["conftest"]
			nm = max(max(m["cue-export"], m["kustomize"]), m["conftest"])
			cw = w["paved-render"] + w["paved-lint"]; cm = max(m["paved-render"], m["paved-lint"])
			dw = w["paved-render+cache"] + w["paved-lint+cache"]; dm = max(m["paved-render+cache"], m["paved-lint+cache"])
			print ""
			row("naive total", nw, nm)
			row("paved render + lint, --no-cache", cw, cm)
			row("paved render + lint, empty cache", dw, dm)
			print ""
			printf "%-44s %8s %9s\n", "ratio", "wall", "peak RSS"
			ratio("naive / paved render + lint, --no-cache", nw, cw, nm, cm)
			ratio("naive / paved render + lint, empty cache", nw, dw, nm, dm)
			ratio("naive / paved lint (renders in memory)", nw, w["paved-lint"], nm, m["paved-lint"])
			ratio("conftest / paved lint", w["conftest"], w["paved-lint"], m["conftest"], m["paved-lint"])
			ratio("conftest / paved lint policy stage", w["conftest"], w["paved-lint:policies"], 0, 0)
		}' "$WORK/times.txt"
	echo
	echo "conftest: $(grep -E '[0-9]+ tests?, ' "$WORK/conftest.out" | tail -1)"
	echo "paved lint: $(jq -r '.summary | "\(.objects) objects (apps and tenants), \(.policies) policies, \(.deny) deny, \(.warn) warn, \(.waived) waived"' "$WORK/lint.json")"
	echo
	echo "objects per cluster (apps/ only):"
	counts
	if diff -r "$WORK/paved-out" "$WORK/paved-out2" >/dev/null; then
		echo "paved render with --no-cache and with the cache: byte-identical"
	else
		echo "paved render with --no-cache and with the cache: DIFFER"
	fi
}
report | tee "$RESULTS"
echo "written to ${RESULTS#"$ROOT"/}" >&2
