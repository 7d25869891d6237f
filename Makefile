# paved — build, test, demo, bench and lint.
# The dependencies need Go 1.27; the go command fetches this toolchain
# through the module proxy when the local one is older.
export GOTOOLCHAIN := go1.27.4

GO          ?= go
BIN         := bin/paved
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
KUBESCORE   := github.com/zegl/kube-score/cmd/kube-score@v1.20.0
ACTIONLINT  := github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
FUZZTIME    ?= 20s
# Release tools, pinned in their own module (tools/release/go.mod) so that
# paved's go.mod does not carry them, built into bin/.
GORELEASER  := bin/goreleaser
RELEASE_TOOLS := $(GORELEASER) bin/cyclonedx-gomod bin/paved-image

.PHONY: build test demo demo-shared bench lint actionlint fuzz kube-score policy-doc catalog-check clean release-tools release-snapshot image release-check

build:
	$(GO) build -o $(BIN) ./cmd/paved

# make test runs every test once. The race detector (a build ~8x slower:
# render's tests take 55 s plain, 7-8 minutes raced) runs where paved's own
# concurrency is: the packages that start goroutines or share state across
# them (RACE_PKGS) whole, and in render and internal/cli the tests that
# drive their workers (RACE_RENDER, RACE_CLI); everything else of those
# two runs plain. Concurrent commits are separate processes, which no race
# build sees anyway. make test-race runs the whole suite raced, as before.
RACE_PKGS   := ./policy/... ./schema/... ./internal/fleet/... ./internal/lsp/... ./internal/cache/... \
	./internal/workpool/... ./internal/intern/... ./internal/discover/... ./internal/outdir/...
RACE_RENDER := ^(TestDeterministic|TestRenderSameWithCacheAndWorkers|TestRenderSharesEqualParts)$$
RACE_CLI    := ^(TestPlatformPool|TestProgressOnlyOnATerminal|TestTimings)$$
PLAIN_PKGS   = $$($(GO) list ./... | grep -v -E '/paved/(policy|schema|internal/(fleet|lsp|cache|workpool|intern|discover|outdir))(/|$$)')

# The plain and the raced halves run side by side (make -j2): each leaves a
# core idle while it compiles and links.
.PHONY: test-race test-plain test-raced
test:
	@$(MAKE) --no-print-directory -j2 test-plain test-raced
	cd internal/promcheck && $(GO) test -count=1 ./...

test-plain:
	$(GO) test -count=1 -timeout 30m $(PLAIN_PKGS)

test-raced:
	$(GO) test -race -count=1 -timeout 30m $(RACE_PKGS)
	$(GO) test -race -count=1 -timeout 30m -run '$(RACE_RENDER)' ./render
	$(GO) test -race -count=1 -timeout 30m -run '$(RACE_CLI)' ./internal/cli

test-race:
	$(GO) test -race -count=1 -timeout 60m ./...
	cd internal/promcheck && $(GO) test -count=1 ./...

# Render the examples on the embedded default platform into ./out/fleet and
# show what was written.
demo: build
	$(BIN) vet ./examples
	$(BIN) render ./examples --out ./out/fleet
	$(BIN) lint ./examples
	@echo
	@echo "Flux entry points and one app directory:"
	@find out/fleet/clusters/prod-eu-1 -type f | sort
	@find out/fleet/apps/prod-eu-1/payments/checkout -type f | sort
	@echo
	@echo "Deployment of payments/checkout in prod-eu-1:"
	@cat out/fleet/apps/prod-eu-1/payments/checkout/apps_v1_deployment_checkout.yaml
	@echo
	@echo "The catalog entry of payments/checkout (Backstage Component; catalog/all.yaml lists every entity):"
	@cat out/fleet/catalog/payments/checkout.yaml
	@echo
	@echo "Its Grafana dashboard in prod-eu-1 (a ConfigMap the Grafana sidecar picks up), first lines:"
	@head -n 40 out/fleet/apps/prod-eu-1/payments/checkout/core_v1_configmap_checkout-dashboard.yaml
	@echo "  ..."
	@echo
	@echo "Its canary in prod-eu-1 (Flagger; rolling in dev and staging):"
	@cat out/fleet/apps/prod-eu-1/payments/checkout/flagger.app_v1beta1_canary_checkout.yaml
	@echo
	@echo "identity/auth rolls out blue-green (prod-eu-1):"
	@cat out/fleet/apps/prod-eu-1/identity/auth/flagger.app_v1beta1_canary_auth.yaml
	@echo
	@echo "payments/orders owns a PostgreSQL database (CloudNativePG) - dev-eu-1, then prod-eu-1:"
	@cat out/fleet/apps/dev-eu-1/payments/orders/postgresql.cnpg.io_v1_cluster_orders-main.yaml
	@cat out/fleet/apps/prod-eu-1/payments/orders/postgresql.cnpg.io_v1_cluster_orders-main.yaml
	@echo "...and reads it by secretKeyRef:"
	@grep -A4 'name: DATABASE_URL' out/fleet/apps/prod-eu-1/payments/orders/apps_v1_deployment_orders.yaml
	@echo
	@echo "What a change would do: checkout 1.4.2 -> 1.5.0 and 3 more prod replicas, diffed against out/fleet:"
	@rm -rf out/change && mkdir -p out/change && cp -r examples/payments out/change/
	@sed -i 's#checkout:1.4.2#checkout:1.5.0#' out/change/payments/checkout/app.cue
	@sed -i 's#max: 12#max: 15#' out/change/payments/checkout/prod.cue
	@$(BIN) diff out/change --fleet out/fleet; test $$? -eq 1

# A fleet many teams share (README "Sharing one fleet"): the platform team
# puts a platform into a fleet repository (paved platform init), a service
# repository commits, another organisation's repository is refused, the
# fleet verifies, a hand edit fails verify, paved rerender follows a
# platform change. Everything under out/shared.
.PHONY: demo-shared
demo-shared: build
	@bash internal/synth/demo-shared.sh $(BIN)

# Go benchmarks: the fleet benchmarks (internal/cli/bench_test.go: vet,
# render, lint, diff, commit and --changed on synthetic monorepos of
# BENCH_APPS apps, default 1,100,1000,5000), lint and conftest's engine
# (policy), render of the examples. Figures: internal/synth/BENCH.md.
bench:
	@mkdir -p out
	$(GO) test -run '^$$' -bench . -benchmem -timeout 90m ./... | tee out/bench.txt

lint: actionlint $(GORELEASER)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	cd internal/promcheck && $(GO) vet ./...
	cd tools/release && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...
	$(GORELEASER) check

# The release tools: GoReleaser, cyclonedx-gomod (the SBOM) and
# paved-image (the container image), at the versions tools/release/go.mod
# pins. The first build of GoReleaser takes minutes; then the build cache
# has it.
release-tools: $(RELEASE_TOOLS)
bin/goreleaser: tools/release/go.mod
	cd tools/release && $(GO) build -o ../../$@ github.com/goreleaser/goreleaser/v2
bin/cyclonedx-gomod: tools/release/go.mod
	cd tools/release && $(GO) build -o ../../$@ github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod
bin/paved-image: tools/release/go.mod $(wildcard tools/release/cmd/paved-image/*.go)
	cd tools/release && $(GO) build -o ../../$@ ./cmd/paved-image

# What a release tag publishes, built locally into dist/ and published
# nowhere (.goreleaser.yaml): the archives for linux and darwin (amd64,
# arm64) and windows (amd64), their SHA-256 checksums and a CycloneDX SBOM.
# Its version is the next patch after the last tag, -snapshot+<commit>. A
# clone without a remote gets paved's URL for GoReleaser's git state
# (without one GoReleaser records no commit).
#
# RELEASE_TARGETS=linux_amd64 builds that platform alone (.ci/run does: on
# a CI machine with a cold build cache each other platform is a full
# compile of paved and its dependencies, minutes each).
RELEASE_TARGETS ?=
release-snapshot: release-tools
	@mkdir -p out
	@if [ "$(RELEASE_TARGETS)" = linux_amd64 ]; then \
		sed -e 's/^    goos: \[linux, darwin, windows\]$$/    goos: [linux]/' -e 's/^    goarch: \[amd64, arm64\]$$/    goarch: [amd64]/' .goreleaser.yaml > out/goreleaser-targets.yaml; \
		grep -q '^    goos: \[linux\]$$' out/goreleaser-targets.yaml; \
	elif [ -n "$(RELEASE_TARGETS)" ]; then echo "RELEASE_TARGETS: only linux_amd64 (or empty: all)"; exit 2; \
	else cp .goreleaser.yaml out/goreleaser-targets.yaml; fi
	@if [ -z "$$(git remote)" ]; then \
		export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url GIT_CONFIG_VALUE_0=https://github.com/paved-dev/paved.git; fi; \
	PATH="$(CURDIR)/bin:$$PATH" $(GORELEASER) release --snapshot --clean --config out/goreleaser-targets.yaml
	@ls dist/*.tar.gz dist/*checksums.txt dist/*.cdx.json

# The container image ghcr.io/paved-dev/paved as an OCI image layout in
# dist/oci, from the snapshot's linux/amd64 binary, without a container
# daemon (tools/release/cmd/paved-image). Its /bin/sh (for CI runners) is
# Debian's busybox-static, fetched with apt-get download, whose signature
# apt checks.
BUSYBOX_DEB = out/image/busybox-static.deb
image: bin/paved-image
	@test -f dist/metadata.json || { echo "image: no dist/metadata.json: run make release-snapshot first"; exit 1; }
	@mkdir -p out/image && rm -rf out/image/busybox
	@test -s $(BUSYBOX_DEB) || (cd out/image && apt-get download busybox-static:amd64 2>/dev/null && mv busybox-static_*.deb busybox-static.deb)
	dpkg-deb -x $(BUSYBOX_DEB) out/image/busybox
	bin/paved-image -dist dist -out dist/oci -busybox out/image/busybox/bin/busybox -created "$$(git log -1 --format=%cI)"

# The release and the image, tested as a user gets them: the linux/amd64
# archive unpacked, its checksum verified, its paved version run; the
# image's config and its binary (tools/release/release_test.go); the
# GitHub Action's install script against the snapshot served on
# 127.0.0.1, a checksum mismatch refused (tools/release/release_test.go);
# and paved's golang pre-commit hooks installed from a tag of a clone of
# this repository (internal/cli TestPreCommitTag: it builds paved).
release-check: release-snapshot image
	cd tools/release && PAVED_DIST=$(CURDIR)/dist PAVED_RELEASE_TARGETS=$(RELEASE_TARGETS) $(GO) test -count=1 ./...
	PAVED_PRECOMMIT_TAG=1 $(GO) test -count=1 -run '^TestPreCommitTag$$' ./internal/cli

# The GitHub workflows paved ships, checked with actionlint: the CI template
# and the workflow `paved init` scaffolds, as scaffolded. actionlint checks
# their run: scripts with shellcheck, which must be on PATH under CI (CI
# set); the GitLab template's scripts are shellchecked by internal/cli's
# TestGitLabScripts.
actionlint: build
	@command -v shellcheck >/dev/null || { \
		if [ -n "$$CI" ] && [ "$$CI" != false ]; then echo "actionlint: shellcheck is not installed (.ci/run installs it)"; exit 1; fi; \
		echo "actionlint: shellcheck is not installed: run: scripts go unchecked (apt-get install shellcheck)"; }
	@rm -rf out/actionlint && mkdir -p out/actionlint/shop && git init -q out/actionlint/shop && \
		$(BIN) init --team identity out/actionlint/shop >/dev/null
	$(GO) run $(ACTIONLINT) examples/ci/github-actions.yaml examples/ci/fleet-github-actions.yaml out/actionlint/shop/.github/workflows/paved.yaml

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzLoadApp -fuzztime $(FUZZTIME) ./schema
	$(GO) test -run '^$$' -fuzz FuzzRestoreApp -fuzztime $(FUZZTIME) ./schema
	$(GO) test -run '^$$' -fuzz FuzzPackageStruct -fuzztime $(FUZZTIME) ./schema
	$(GO) test -run '^$$' -fuzz FuzzSafe -fuzztime $(FUZZTIME) ./internal/outdir
	$(GO) test -run '^$$' -fuzz FuzzGitHubAnnotation -fuzztime $(FUZZTIME) ./policy
	$(GO) test -run '^$$' -fuzz FuzzMarkdown -fuzztime $(FUZZTIME) ./internal/diff
	$(GO) test -run '^$$' -fuzz FuzzSharedMarkdown -fuzztime $(FUZZTIME) ./internal/diff
	$(GO) test -run '^$$' -fuzz FuzzReadManifest -fuzztime $(FUZZTIME) ./internal/fleet
	$(GO) test -run '^$$' -fuzz FuzzSourceID -fuzztime $(FUZZTIME) ./internal/gitsource
	$(GO) test -run '^$$' -fuzz FuzzSanitizeOrigin -fuzztime $(FUZZTIME) ./internal/gitsource
	$(GO) test -run '^$$' -fuzz FuzzCursor -fuzztime $(FUZZTIME) ./internal/lsp

# Score every rendered cluster (apps + tenants) with kube-score; fails on
# any CRITICAL or WARNING finding, and when kube-score did not score.
kube-score: demo
	@for c in $$(ls out/fleet/apps); do \
		echo "kube-score $$c"; \
		$(GO) run $(KUBESCORE) score --output-format ci $$(find out/fleet/apps/$$c out/fleet/tenants/$$c -name '*.yaml' ! -name kustomization.yaml | sort) > out/kube-score-$$c.txt; \
		rc=$$?; if [ $$rc -gt 1 ]; then echo "kube-score failed (exit $$rc)"; exit 1; fi; \
		grep -q '^\[OK\]' out/kube-score-$$c.txt || { echo "kube-score scored nothing"; exit 1; }; \
		if grep -E '^\[(CRITICAL|WARNING)\]' out/kube-score-$$c.txt; then exit 1; fi; \
	done; echo "kube-score: no CRITICAL or WARNING findings"

# End to end with real Flux (internal/e2e, its own Go module): builds
# kube-apiserver, etcd, source-controller and kustomize-controller once
# (cached by version under ${XDG_CACHE_HOME:-~/.cache}/paved-e2e), runs
# them on 127.0.0.1 and has them reconcile what `paved commit` writes.
.PHONY: e2e
e2e:
	cd internal/e2e && env=$$(bash build.sh) && eval "$$env" && \
		$(GO) vet ./... && PAVED_E2E=1 $(GO) test -count=1 -v -timeout 30m ./...

# The same generated monorepo (APPS apps, default 100) through the naive CLI
# pipeline (cue export, kustomize build, conftest) and paved render + lint:
# wall time and peak RSS per stage and the ratios, into out/bench-compare-$APPS.txt.
.PHONY: bench-compare
bench-compare: build
	$(GO) build -o bin/paved-fleetgen ./cmd/paved-fleetgen
	bash internal/synth/bench-compare.sh

# The pre-commit path: vet --changed and lint --changed of one edited app
# in a generated monorepo of APPS apps (default 1,000), whole process,
# RUNS runs each (default 15): median, quartiles, min, max.
.PHONY: bench-changed
bench-changed: build
	$(GO) build -o bin/paved-fleetgen ./cmd/paved-fleetgen
	bash internal/synth/bench-changed.sh

# Validate the Backstage catalog paved renders for the examples with
# Backstage's own @backstage/catalog-model (pinned in
# internal/catalogcheck/package-lock.json), applied as the catalog backend
# applies it; references must resolve within the catalog or to the
# systems the embedded default platform declares.
CATALOG_KNOWN := system:default/shop system:default/search system:default/accounts
catalog-check: build
	rm -rf out/catalog-check
	$(BIN) render ./examples --out out/catalog-check --quiet
	cd internal/catalogcheck && npm ci --no-audit --no-fund --loglevel=error
	node internal/catalogcheck/check.mjs out/catalog-check/catalog $(foreach k,$(CATALOG_KNOWN),--known $(k))

# Regenerate the policy catalogue from the bundle's METADATA.
policy-doc: build
	$(BIN) policy doc > policy/POLICIES.md

clean:
	rm -rf bin out dist
