package host

import (
	"os"
	"path/filepath"
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
