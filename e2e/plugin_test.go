package e2e

import (
	"os"
	"testing"

	"github.com/meshprobe/meshprobe/internal/host"
)

// pluginWasm reads the built plugin (MESHPROBE_WASM overrides the path). A
// missing file fails the test rather than skipping it, so a run without
// `make build` cannot pass by checking nothing.
func pluginWasm(t testing.TB) []byte {
	t.Helper()
	bin, err := os.ReadFile(pluginPath())
	if err != nil {
		t.Fatalf("cannot read the plugin (%v): run `make build` first, or set MESHPROBE_WASM to a built .wasm", err)
	}
	return bin
}

// pluginPath is where pluginWasm reads the plugin, and what Envoy loads.
func pluginPath() string { return host.PluginPath("..") }
