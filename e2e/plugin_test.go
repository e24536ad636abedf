package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// pluginWasm reads the built plugin (MESHPROBE_WASM overrides the path). A
// missing file fails the test rather than skipping it, so a run without
// `make build` cannot pass by checking nothing.
func pluginWasm(t testing.TB) []byte {
	t.Helper()
	path := os.Getenv("MESHPROBE_WASM")
	if path == "" {
		path = filepath.Join("..", "build", "meshprobe.wasm")
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("cannot read the plugin (%v): run `make build` first, or set MESHPROBE_WASM to a built .wasm", err)
	}
	return bin
}
