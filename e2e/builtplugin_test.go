package e2e

import (
	"testing"

	"github.com/meshprobe/meshprobe/internal/testing/wasmhost"
)

// pluginWasm reads the built plugin (MESHPROBE_WASM overrides the path). A
// missing file fails the test rather than skipping it, so a run without
// `make build` cannot pass by checking nothing.
func pluginWasm(t testing.TB) []byte {
	t.Helper()
	return wasmhost.Plugin(t, "..")
}

// pluginPath is where pluginWasm reads the plugin, and what Envoy loads.
func pluginPath() string { return wasmhost.PluginPath("..") }
