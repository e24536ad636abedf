package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshprobe/meshprobe/internal/testing/benchdata"
	"github.com/meshprobe/meshprobe/internal/testing/wasmhost"
)

// TestOldEnvoyPollOneoff: once any Go timer has been armed, Go's runtime
// calls poll_oneoff when a garbage collection restarts the world, and aborts
// on the ENOSYS that Envoy before 1.39 answers (internal/testing/wasmhost's OldEnvoy
// mode). The misbehave plugin's /timer arms one, as crypto/rand.Read does,
// and makes garbage: the toolchain's module must die there, so the host mode
// is proven to reproduce it; the same module through cmd/wasmshim, as `make
// build` makes every .wasm, must not. Nor must the shipped plugin.
func TestOldEnvoyPollOneoff(t *testing.T) {
	const maxRequests = 20_000
	shimmed := buildMisbehave(t, "")
	read := func(path string) []byte {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	type load struct {
		wasm   []byte
		config []byte
		path   string
	}
	timer := func(path string) load { return load{read(path), nil, "/timer"} }
	metrics := func(wasm []byte) load { return load{wasm, []byte(benchdata.Config(20)), "/health/metrics"} }
	run := func(t *testing.T, l load, old bool, requests int) (served int, err error) {
		h, err := wasmhost.New(context.Background(), wasmhost.Options{Wasm: l.wasm, PluginConfig: l.config,
			Workers: 1, OldEnvoy: old, Properties: map[string]string{"plugin_name": "meshprobe"}})
		if err != nil {
			return 0, err
		}
		defer h.Close()
		headers := benchdata.ProbeHeaders(l.path)
		for served < requests {
			s := h.VM(0).RequestWithProperties(headers, benchLoopback)
			r := s.Reply()
			s.Close()
			if err := h.Err(); err != nil {
				return served, err
			}
			if r == nil || r.Status != 200 {
				t.Fatalf("request %d to %s: want a 200 reply, got %v", served, l.path, r)
			}
			served++
		}
		return served, nil
	}

	toolchain := timer(filepath.Join(filepath.Dir(shimmed), "misbehave.go.wasm"))
	crashedAt, err := run(t, toolchain, true, maxRequests)
	if err == nil || !strings.Contains(err.Error(), "poll_oneoff failed") {
		t.Fatalf("the toolchain's module served %d requests on old Envoy, err %v: want Go's fatal error \"poll_oneoff failed\"", crashedAt, err)
	}
	t.Logf("the toolchain's module died on old Envoy at request %d", crashedAt+1)
	// Three times as many requests: at least three times the collections
	// that were enough to kill it. The plugin's /metrics (20 checks) makes
	// garbage too; 2,000 of them run many collections.
	for _, c := range []struct {
		name     string
		load     load
		old      bool
		requests int
	}{
		{"shimmed module on old Envoy", timer(shimmed), true, 3 * (crashedAt + 1)},
		{"toolchain's module on a full wasip1 host", toolchain, false, 3 * (crashedAt + 1)},
		{"shipped plugin on old Envoy", metrics(pluginWasm(t)), true, 2_000},
	} {
		t.Run(c.name, func(t *testing.T) {
			if served, err := run(t, c.load, c.old, c.requests); err != nil {
				t.Fatalf("failed after %d requests: %v", served, err)
			}
		})
	}
}
