package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshprobe/meshprobe/internal/benchdata"
	"github.com/meshprobe/meshprobe/internal/host"
)

// TestOldEnvoyPollOneoff runs enough /metrics requests for several garbage
// collections on a host that answers poll_oneoff as Envoy before 1.39 does.
// The Go toolchain's own output must die there exactly as it does in those
// Envoys (so the host mode is proven to reproduce it); what `make build`
// ships must not.
func TestOldEnvoyPollOneoff(t *testing.T) {
	const maxRequests = 20_000
	toolchain, err := os.ReadFile(filepath.Join("..", "build", "meshprobe.go.wasm"))
	if err != nil {
		t.Fatalf("%v: run `make build` first", err)
	}
	run := func(t *testing.T, wasm []byte, old bool, requests int) (served int, err error) {
		h, err := host.New(context.Background(), host.Options{Wasm: wasm, PluginConfig: []byte(benchdata.Config(20)),
			Workers: 1, OldEnvoy: old, Properties: map[string]string{"plugin_name": "meshprobe"}})
		if err != nil {
			return 0, err
		}
		defer h.Close()
		headers := benchdata.ProbeHeaders("/health/metrics")
		for served < requests {
			s := h.VM(0).RequestWithProperties(headers, benchLoopback)
			r := s.Reply()
			s.Close()
			if err := h.Err(); err != nil {
				return served, err
			}
			if r == nil || r.Status != 200 {
				t.Fatalf("request %d: want a 200 /metrics reply, got %v", served, r)
			}
			served++
		}
		return served, nil
	}

	crashedAt, err := run(t, toolchain, true, maxRequests)
	if err == nil || !strings.Contains(err.Error(), "poll_oneoff failed") {
		t.Fatalf("the toolchain's module served %d requests on old Envoy, err %v: want Go's fatal error \"poll_oneoff failed\"", crashedAt, err)
	}
	t.Logf("the toolchain's module died on old Envoy at request %d", crashedAt+1)
	// Three times as many requests: at least three times the collections
	// that were enough to kill it.
	for _, c := range []struct {
		name string
		wasm []byte
		old  bool
	}{
		{"shipped module on old Envoy", pluginWasm(t), true},
		{"shipped module on a full wasip1 host", pluginWasm(t), false},
		{"toolchain's module on a full wasip1 host", toolchain, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if served, err := run(t, c.wasm, c.old, 3*(crashedAt+1)); err != nil {
				t.Fatalf("failed after %d requests: %v", served, err)
			}
		})
	}
}
