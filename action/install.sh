#!/usr/bin/env bash
# Installs a released paved into PAVED_DIR: downloads the release archive
# for this machine and the release's checksums file, refuses an archive
# whose SHA-256 is not the one the checksums file names, and only then
# writes paved into PAVED_DIR. Run by action.yml (the GitHub Action); any
# CI can run it.
#
#   PAVED_VERSION   the release tag, vX.Y.Z (required)
#   PAVED_DIR       where paved goes (required)
#   PAVED_BASE_URL  where releases are (default: GitHub's releases of
#                   paved-dev/paved); a release is PAVED_BASE_URL/TAG/
#   PAVED_OS, PAVED_ARCH  the archive to take (default: this machine's)
set -euo pipefail

fail() {
	echo "::error title=paved install::$*" >&2
	exit 1
}

version=${PAVED_VERSION:-}
dir=${PAVED_DIR:-}
[ -n "$dir" ] || fail "PAVED_DIR is not set"
[[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]*)?$ ]] || fail "version must be a release tag such as v0.1.0, not \"$version\""
base=${PAVED_BASE_URL:-https://github.com/paved-dev/paved/releases/download}

os=${PAVED_OS:-$(uname -s | tr '[:upper:]' '[:lower:]')}
case $os in
linux | darwin) ext=tar.gz exe=paved ;;
windows | mingw* | msys* | cygwin*) os=windows ext=zip exe=paved.exe ;;
*) fail "no paved release for $os" ;;
esac
arch=${PAVED_ARCH:-$(uname -m)}
case $arch in
x86_64 | amd64 | X64) arch=amd64 ;;
aarch64 | arm64 | ARM64) arch=arm64 ;;
*) fail "no paved release for $arch" ;;
esac

# GoReleaser's names (.goreleaser.yaml): the version without its v.
archive="paved_${version#v}_${os}_${arch}.${ext}"
sums="paved_${version#v}_checksums.txt"
url="$base/$version"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "$sums" "$archive"; do
	curl --fail --silent --show-error --location --retry 3 --output "$tmp/$f" "$url/$f" ||
		fail "could not download $url/$f"
done

want=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1 }' "$tmp/$sums")
[ -n "$want" ] || fail "$sums names no $archive"
if command -v sha256sum >/dev/null; then
	got=$(sha256sum "$tmp/$archive" | awk '{ print $1 }')
else
	got=$(shasum -a 256 "$tmp/$archive" | awk '{ print $1 }')
fi
[ "$got" = "$want" ] || fail "$archive: SHA-256 $got, but $sums says $want: refused, nothing installed"

mkdir "$tmp/x"
if [ "$ext" = zip ]; then
	unzip -q "$tmp/$archive" "$exe" -d "$tmp/x"
else
	tar -xzf "$tmp/$archive" -C "$tmp/x" "$exe"
fi
mkdir -p "$dir"
install -m 0755 "$tmp/x/$exe" "$dir/$exe.new"
mv -f "$dir/$exe.new" "$dir/$exe"
echo "paved $version ($archive, sha256 $got) in $dir"
