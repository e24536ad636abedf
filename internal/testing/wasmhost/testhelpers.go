package wasmhost

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// PluginPath is the built plugin the tests run: $MESHPROBE_WASM if set,
// else build/meshprobe.wasm under the repository root, root being the
// caller's path to it (e.g. ".." from a package directory).
func PluginPath(root string) string {
	if p := os.Getenv("MESHPROBE_WASM"); p != "" {
		return p
	}
	return filepath.Join(root, "build", "meshprobe.wasm")
}

// ShortSkip is what a run on the compiled plugin says when -short skips it.
const ShortSkip = "SKIPPED under -short: runs on the compiled plugin (make check); make test runs them"

var plugins sync.Map // path → []byte, read once per test binary

// Plugin is the compiled plugin for a test: it skips the test under -short,
// and fails it with what to run when the plugin has not been built.
func Plugin(tb testing.TB, root string) []byte {
	tb.Helper()
	if testing.Short() {
		tb.Skip(ShortSkip)
	}
	path := PluginPath(root)
	if b, ok := plugins.Load(path); ok {
		return b.([]byte)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("no compiled plugin (%v): run `make build` first", err)
	}
	plugins.Store(path, b)
	return b
}

// Start starts a host for a test: a failure to start fails it, the host is
// closed when it ends, and a host error fails it unless o.OnError says
// otherwise.
func Start(tb testing.TB, o Options) *Host {
	tb.Helper()
	if o.OnError == nil {
		o.OnError = func(err error) { tb.Errorf("wasm host: %v", err) }
	}
	h, err := New(context.Background(), o)
	if err != nil {
		tb.Fatalf("starting the wasm host: %v", err)
	}
	tb.Cleanup(func() { h.Close() })
	return h
}

// RequireConfigured fails the test unless every worker VM accepted its
// plugin configuration.
func (h *Host) RequireConfigured(tb testing.TB) {
	tb.Helper()
	for i := range h.Workers() {
		if vm := h.VM(i); !vm.Configured() {
			tb.Fatalf("worker %d refused the configuration: %v", i, vm.Logs())
		}
	}
}
