#!/usr/bin/env bash
# bench-changed: the pre-commit path of issue 5, `paved vet --changed` and
# `paved lint --changed` for one edited app of a generated monorepo, whole
# process (process start included), as a git hook runs it.
#
# Generates APPS apps (default 1,000, seed 1), commits them, clones the
# repository (a clone keeps its objects in a pack, as a developer's has),
# warms a private cache with one `paved lint .`, then RUNS times (default
# 15) per command: edit the app's image tag anew (so the edited app is
# never in the cache, as in a commit in progress), run the command, read
# its wall and CPU time. Prints median, quartiles, min and max.
#
# Usage: APPS=1000 RUNS=15 bash internal/synth/bench-changed.sh [BIN...]
#        (make bench-changed builds bin/paved and bin/paved-fleetgen)
# With several paved binaries (BIN...; default bin/paved) their runs are
# interleaved, so that a machine whose speed drifts (this one's does, by up
# to 40% over minutes) slows them alike: compare two builds with
#   bash internal/synth/bench-changed.sh /tmp/paved-old bin/paved
# APP is the app directory to edit (default team-005/catalog-stock-130,
# which no other app depends on; team-005/billing-api-127 has two
# dependents, which are linted too). KEEP=1 keeps the scratch directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
APPS=${APPS:-1000}
RUNS=${RUNS:-15}
APP=${APP:-team-005/catalog-stock-130}
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=(bin/paved)
for i in "${!bins[@]}"; do
	b=${bins[$i]}
	[[ $b = /* ]] || b=$root/$b
	[ -x "$b" ] || { echo "bench-changed: $b is not an executable" >&2; exit 2; }
	bins[$i]=$b
done
[ -x bin/paved-fleetgen ] || { echo "bench-changed: build bin/paved-fleetgen first (make bench-changed)" >&2; exit 2; }

scratch=$(mktemp -d /tmp/paved-bench-changed.XXXXXX)
if [ "${KEEP:-}" = 1 ]; then echo "scratch: $scratch" >&2; else trap 'rm -rf "$scratch"' EXIT; fi
bin/paved-fleetgen -apps "$APPS" -seed 1 -out "$scratch/src" >/dev/null
git -C "$scratch/src" init -q
git -C "$scratch/src" add -A
git -C "$scratch/src" -c user.name=bench -c user.email=bench@paved.invalid commit -qm fleet
git clone -q "file://$scratch/src" "$scratch/repo"
repo=$scratch/repo
spec=$repo/$APP/app.cue
[ -f "$spec" ] || { echo "bench-changed: no $APP in the generated fleet" >&2; exit 2; }
name=$(basename "$APP")
export PAVED_CACHE_DIR=$scratch/cache
export CI=true
for b in "${bins[@]}"; do (cd "$repo" && "$b" lint . -q >/dev/null); done

n=0
edit() {
	n=$((n + 1))
	sed -i -E "s#($name):[0-9][0-9.]*([\"@])#\\1:9.$n.$RANDOM\\2#" "$spec"
}
# run BIN CMD: one timed run after a fresh edit; prints "wall cpu" (s).
run() {
	edit
	local t0 t1 rc=0
	t0=$(date +%s%N)
	(cd "$repo" && /usr/bin/time -f '%U %S' -o "$scratch/time" "$1" "$2" --changed . -q >/dev/null 2>"$scratch/stderr") || rc=$?
	t1=$(date +%s%N)
	if [ "$rc" -gt 1 ]; then
		echo "bench-changed: $1 $2 --changed exited $rc:" >&2
		cat "$scratch/stderr" >&2
		exit 1
	fi
	tail -n 1 "$scratch/time" | awk -v w=$(( (t1 - t0) / 1000 )) '{printf "%.4f %.2f\n", w / 1e6, $1 + $2}'
}
# summary FILE: wall statistics and the CPU median of a file of "wall cpu".
summary() {
	local cpu
	cpu=$(cut -d' ' -f2 "$1" | sort -n | awk '{c[NR] = $1} END {print c[int((NR + 1) / 2)]}')
	cut -d' ' -f1 "$1" | sort -n | awk -v cpu="$cpu" '{w[NR] = $1} END {
		printf "wall median %.3f s (quartiles %.3f-%.3f, min %.3f, max %.3f), CPU median %.2f s, %d runs\n",
			w[int((NR + 1) / 2)], w[int((NR + 3) / 4)], w[int((3 * NR + 3) / 4)], w[1], w[NR], cpu, NR
	}'
}
echo "paved --changed, one edited app ($APP) of $APPS, packed clone, warm cache, $(nproc) CPUs"
for cmd in vet lint; do
	for k in "${!bins[@]}"; do : >"$scratch/$cmd-$k.txt"; done
	for i in $(seq "$RUNS"); do
		for k in "${!bins[@]}"; do run "${bins[$k]}" "$cmd" >>"$scratch/$cmd-$k.txt"; done
	done
	for k in "${!bins[@]}"; do
		printf '%-4s --changed  %s\n    %s\n' "$cmd" "${bins[$k]}" "$(summary "$scratch/$cmd-$k.txt")"
	done
done
