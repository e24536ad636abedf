# meshprobe: `make test` builds the plugin and runs every test; `make run` runs it.
GO      ?= go
WASM    := build/meshprobe.wasm
FUZZTIME ?= 10s
SOURCES := $(shell find . -name '*.go' -not -path './e2e/*' -not -name '*_test.go') go.mod go.sum

.PHONY: build test tools fuzz run lint oci clean

build: $(WASM)

$(WASM): $(SOURCES)
	@mkdir -p build
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -ldflags='-s -w' -o $@ .
	@echo "built $@ ($$(stat -c %s $@) bytes)"

# Every test: checks/ natively, plugin/ natively and on the compiled .wasm, e2e.
test: build lint tools
	MESHPROBE_REQUIRE_PROMTOOL=1 $(GO) test -count=1 -timeout 10m ./...
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

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if grep -rl 'proxy-wasm-go-sdk' checks --include='*.go'; then echo "checks/ must not import the SDK"; exit 1; fi

run: build
	@if command -v envoy >/dev/null 2>&1; then \
		echo "starting Envoy with envoy/envoy.yaml (meshprobe at http://localhost:10000/health/probes/readiness)"; \
		envoy -c envoy/envoy.yaml --concurrency 2; \
	else \
		echo "envoy is not on PATH. Install Envoy >= 1.33 and run 'make run' again,"; \
		echo "or load $(WASM) with envoy/envoy.yaml on a machine that has it."; \
		exit 1; \
	fi

# OCI image of the plugin (Istio's "compat" wasm image) for a WasmPlugin `url: oci://...`.
OCI_TAG ?= 0.1.0
oci: build
	$(GO) run ./e2e/cmd/oci -wasm $(WASM) -out build/oci -tag $(OCI_TAG)

clean:
	rm -rf build
