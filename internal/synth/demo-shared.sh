#!/usr/bin/env bash
# make demo-shared: one fleet, the platform team and two source
# repositories, run as README "Sharing one fleet" describes.
set -euo pipefail
paved=$(realpath "$1")
export SOURCE_DATE_EPOCH=1700000000 PAVED_AUTHOR_NAME=paved-bot PAVED_AUTHOR_EMAIL=paved-bot@acme.dev
g() { git -c user.name=dev -c user.email=dev@acme.dev "$@"; }
root=out/shared
rm -rf "$root" && mkdir -p "$root" && cd "$root"
git init -q --bare -b main fleet.git

echo "== the platform team: paved platform init, bound teams, pushed as platform/"
git init -q -b main plat
"$paved" platform init plat/platform
g -C plat add -A && g -C plat commit -q -m 'platform' && g -C plat push -q ../fleet.git main

echo "== identity's repository (github.com/acme/identity-accounts) commits its apps"
cp -r ../../examples/identity accounts
git init -q -b main accounts && g -C accounts remote add origin https://github.com/acme/identity-accounts.git
g -C accounts add -A && g -C accounts commit -q -m 'identity apps'
"$paved" commit ./accounts --fleet fleet.git

echo "== payments' repository (github.com/acme/payments-shop) commits its apps"
cp -r ../../examples/payments shop
git init -q -b main shop && g -C shop remote add origin https://github.com/acme/payments-shop.git
g -C shop add -A && g -C shop commit -q -m 'payments apps'
"$paved" commit ./shop --fleet fleet.git

echo "== another organisation's repository declares team payments: refused (exit 2)"
mkdir evil && cp shop/checkout/app.cue evil/ && sed -i 's#checkout:1.4.2#checkout:6.6.6#' evil/app.cue
git init -q -b main evil && g -C evil remote add origin https://github.com/evil/e.git
g -C evil add -A && g -C evil commit -q -m mine
if "$paved" commit ./evil --fleet fleet.git; then echo "accepted?!"; exit 1; else echo "(exit $?)"; fi

echo "== the fleet checks itself"
"$paved" verify fleet.git --ref main

echo "== a token holder edits a Deployment by hand: verify fails, naming it"
git clone -q fleet.git co
sed -i 's#image: ghcr.io/acme/checkout:1.4.2#image: ghcr.io/evil/miner:1#' co/apps/prod-eu-1/payments/checkout/apps_v1_deployment_checkout.yaml
g -C co commit -q -am 'tweak'
if "$paved" verify co; then echo "passed?!"; exit 1; else echo "(exit $?)"; fi

echo "== the platform team makes 'small' bigger; paved rerender moves every app; verify passes"
g -C plat pull -q ../fleet.git main
sed -i 's/small: {cpuMillicores: 250,/small: {cpuMillicores: 300,/' plat/platform/platform.cue
g -C plat commit -q -am 'platform: small is 300m' && g -C plat push -q ../fleet.git main
"$paved" rerender --fleet fleet.git
"$paved" verify fleet.git --ref main
