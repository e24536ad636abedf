package e2e

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/meshprobe/meshprobe/internal/buildstep/oci"
)

// TestOCIImageOfBuiltPlugin packages build/meshprobe.wasm as `make oci` does
// and reads plugin.wasm back the way Istio's agent does (compat variant).
// The layout's structure is checked in detail by internal/buildstep/oci on a small module;
// here it is the real plugin, byte for byte, with a reproducible digest.
func TestOCIImageOfBuiltPlugin(t *testing.T) {
	wasm := pluginWasm(t)
	dir := filepath.Join(t.TempDir(), "oci")
	digest, err := oci.Write(dir, wasm, "0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	got, err := oci.Read(dir)
	if err != nil {
		t.Fatalf("reading the layout back as Istio does: %v", err)
	}
	if !bytes.Equal(got, wasm) {
		t.Fatalf("image holds %d bytes of plugin, the built plugin is %d bytes", len(got), len(wasm))
	}
	// The same plugin gives the same digest (a WasmPlugin's sha256).
	again, err := oci.Write(filepath.Join(t.TempDir(), "oci"), wasm, "0.1.0")
	if err != nil || again != digest {
		t.Fatalf("second write: %s, %v; first: %s", again, err, digest)
	}
}
