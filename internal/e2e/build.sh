#!/usr/bin/env bash
# Builds the binaries the end-to-end test runs — kube-apiserver, etcd,
# source-controller and kustomize-controller — from their Go modules, once
# per version, into the cache directory, and collects the CRDs the test
# installs. Prints shell `export` lines naming them for the test (stdout);
# progress and build times go to stderr.
#
#   eval "$(internal/e2e/build.sh)"
#
# Cache: $PAVED_E2E_CACHE, else ${XDG_CACHE_HOME:-$HOME/.cache}/paved-e2e.
# A binary present in the cache is reused; delete its directory to rebuild.
# Needs only Go (the go command fetches the toolchain and modules through
# the module proxy) and about 10 GB of disk for a cold build.
set -euo pipefail

KUBERNETES_VERSION=v1.36.3
ETCD_VERSION=v3.6.8
SOURCE_CONTROLLER_VERSION=v1.9.6
KUSTOMIZE_CONTROLLER_VERSION=v1.9.5
# source-controller v1.9.6 requires github.com/fluxcd/pkg/artifact v0.18.3,
# which the module proxy refuses; v0.18.0 builds.
FLUX_ARTIFACT_VERSION=v0.18.0
# CRDs of the kinds paved renders besides the core ones.
PROMETHEUS_OPERATOR_VERSION=v0.85.0
EXTERNAL_SECRETS_VERSION=v1.3.2
# Flagger's CRDs (Canary, MetricTemplate): a module download, no build.
FLAGGER_VERSION=v1.36.1

# This directory (the builds below change the working directory).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.4}"
export GOFLAGS="${GOFLAGS:-} -mod=mod"
cache="${PAVED_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/paved-e2e}"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"

log() { echo "build.sh: $*" >&2; }

# moddir MODULE@VERSION: the module's directory in the module cache.
moddir() {
	go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

# Scratch directories (under the cache) are removed on exit.
scratch_dirs=()
cleanup() { for d in ${scratch_dirs[@]+"${scratch_dirs[@]}"}; do chmod -R u+w "$d" 2>/dev/null; rm -rf "$d"; done; }
trap cleanup EXIT

# build NAME VERSION FUNC: runs FUNC SCRATCHDIR OUTFILE unless
# $cache/NAME-VERSION/NAME exists; the binary appears atomically.
build() {
	local name=$1 version=$2 fn=$3
	local dir="$cache/$name-$version"
	if [ -x "$dir/$name" ]; then
		log "$name $version: cached ($dir/$name)"
		return
	fi
	mkdir -p "$dir"
	local s start
	mkdir -p "$cache/scratch"
	s="$(mktemp -d "$cache/scratch/$name-$version.XXXXXX")"
	scratch_dirs+=("$s")
	start=$(date +%s)
	log "$name $version: building in $s"
	"$fn" "$s" "$dir/$name.tmp"
	mv "$dir/$name.tmp" "$dir/$name"
	log "$name $version: built in $(( $(date +%s) - start ))s"
}

# kube-apiserver from k8s.io/kubernetes in a scratch module: each staging
# module the kubernetes go.mod requires as v0.0.0 (a replace to ./staging
# there) is replaced with its published v0.N.P tag.
build_kube_apiserver() {
	local s=$1 out=$2 minor staging
	minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
	staging="v0.${KUBERNETES_VERSION#v1.}"
	cd "$s"
	printf 'module paved-e2e-build/kube-apiserver\n\ngo 1.26.0\n' > go.mod
	local gomod
	gomod="$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
	local m
	for m in $(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$gomod"); do
		go mod edit -replace="$m=$m@$staging"
	done
	go get "k8s.io/kubernetes/cmd/kube-apiserver@$KUBERNETES_VERSION" >&2
	go build -trimpath -o "$out" -ldflags "-X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor" k8s.io/kubernetes/cmd/kube-apiserver >&2
}

# etcd from go.etcd.io/etcd/server/v3 (its main package) in a scratch module
# pinning the etcd modules (go install refuses: etcd's go.mod has replaces).
build_etcd() {
	local s=$1 out=$2
	cd "$s"
	printf 'module paved-e2e-build/etcd\n\ngo 1.26.0\n' > go.mod
	go get go.etcd.io/etcd/{api/v3,client/pkg/v3,client/v3,pkg/v3,server/v3}@"$ETCD_VERSION" >&2
	go build -trimpath -o "$out" go.etcd.io/etcd/server/v3 >&2
}

# A Flux controller: its module copied out of the module cache, with the
# replace of its api module to ./api dropped (the published api is used).
copy_flux() {
	local s=$1 name=$2 version=$3 dir
	dir="$(moddir "github.com/fluxcd/$name@$version")"
	cp -R "$dir/." "$s/src"
	chmod -R u+w "$s/src"
	cd "$s/src"
	go mod edit -dropreplace="github.com/fluxcd/$name/api"
}

build_source_controller() {
	local s=$1 out=$2
	mkdir "$s/src"
	copy_flux "$s" source-controller "$SOURCE_CONTROLLER_VERSION"
	go mod edit -replace="github.com/fluxcd/pkg/artifact=github.com/fluxcd/pkg/artifact@$FLUX_ARTIFACT_VERSION"
	GONOSUMDB=github.com/fluxcd/pkg/artifact go build -trimpath -o "$out" . >&2
}

build_kustomize_controller() {
	local s=$1 out=$2
	mkdir "$s/src"
	copy_flux "$s" kustomize-controller "$KUSTOMIZE_CONTROLLER_VERSION"
	go build -trimpath -o "$out" . >&2
}

only="${1:-all}"
case "$only" in all|kube-apiserver) build kube-apiserver "$KUBERNETES_VERSION" build_kube_apiserver ;; esac
case "$only" in all|etcd) build etcd "$ETCD_VERSION" build_etcd ;; esac
case "$only" in all|source-controller) build source-controller "$SOURCE_CONTROLLER_VERSION" build_source_controller ;; esac
case "$only" in all|kustomize-controller) build kustomize-controller "$KUSTOMIZE_CONTROLLER_VERSION" build_kustomize_controller ;; esac
[ "$only" = all ] || exit 0

# The CRDs, straight from the module cache: Flux's from each controller's
# config/crd/bases, and those of the kinds paved renders beyond the core
# ones (ServiceMonitor, PodMonitor, PrometheusRule, ExternalSecret, Flagger's
# Canary and MetricTemplate); CloudNativePG's (Cluster, ScheduledBackup),
# whose module the proxy refuses, are copied into testdata/crds.
sc="$(moddir "github.com/fluxcd/source-controller@$SOURCE_CONTROLLER_VERSION")"
kc="$(moddir "github.com/fluxcd/kustomize-controller@$KUSTOMIZE_CONTROLLER_VERSION")"
po="$(moddir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION")"
eso="$(moddir "github.com/external-secrets/external-secrets@$EXTERNAL_SECRETS_VERSION")"
flagger="$(moddir "github.com/fluxcd/flagger@$FLAGGER_VERSION")"
crds=(
	"$sc/config/crd/bases"
	"$kc/config/crd/bases"
	"$po/example/prometheus-operator-crd-full/monitoring.coreos.com_servicemonitors.yaml"
	"$po/example/prometheus-operator-crd-full/monitoring.coreos.com_podmonitors.yaml"
	"$po/example/prometheus-operator-crd-full/monitoring.coreos.com_prometheusrules.yaml"
	"$eso/config/crds/bases/external-secrets.io_externalsecrets.yaml"
	"$flagger/kustomize/base/flagger/crd.yaml"
	"$here/testdata/crds/cloudnative-pg/postgresql.cnpg.io_clusters.yaml"
	"$here/testdata/crds/cloudnative-pg/postgresql.cnpg.io_scheduledbackups.yaml"
)
for c in "${crds[@]}"; do
	[ -e "$c" ] || { log "missing CRD path $c"; exit 1; }
done

# quote S: S as a single-quoted shell word.
quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
crdlist="$(IFS=:; echo "${crds[*]}")"
echo "export PAVED_E2E_KUBE_APISERVER=$(quote "$cache/kube-apiserver-$KUBERNETES_VERSION/kube-apiserver")"
echo "export PAVED_E2E_ETCD=$(quote "$cache/etcd-$ETCD_VERSION/etcd")"
echo "export PAVED_E2E_SOURCE_CONTROLLER=$(quote "$cache/source-controller-$SOURCE_CONTROLLER_VERSION/source-controller")"
echo "export PAVED_E2E_KUSTOMIZE_CONTROLLER=$(quote "$cache/kustomize-controller-$KUSTOMIZE_CONTROLLER_VERSION/kustomize-controller")"
echo "export PAVED_E2E_CRDS=$(quote "$crdlist")"
