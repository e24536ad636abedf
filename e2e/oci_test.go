package e2e

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/meshprobe/meshprobe/e2e/oci"
)

// TestOCIImageOfBuiltPlugin packages build/meshprobe.wasm as `make oci` does
// and reads plugin.wasm back the way Istio's agent does (compat variant,
// pkg/wasm/imagefetcher.go). The layout's structure is checked in detail by
// e2e/oci; here it is the real plugin, byte for byte.
func TestOCIImageOfBuiltPlugin(t *testing.T) {
	wasm := pluginWasm(t)
	dir := filepath.Join(t.TempDir(), "oci")
	digest, err := oci.Write(dir, wasm, "0.1.0")
	if err != nil {
		t.Fatal(err)
	}

	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != digest ||
		im.Manifests[0].Annotations[oci.RefNameAnnotation] != "0.1.0" {
		t.Fatalf("index.json entries %+v, want one, %s, tagged 0.1.0", im.Manifests, digest)
	}
	img, err := idx.Image(digest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != oci.ManifestMediaType || m.Config.MediaType != oci.ConfigMediaType ||
		len(m.Layers) != 1 || m.Layers[0].MediaType != oci.LayerMediaType ||
		m.Annotations[oci.VariantAnnotation] != "compat" {
		t.Fatalf("manifest is not the one-layer compat variant: %+v", m)
	}

	got, err := oci.Extract(img)
	if err != nil {
		t.Fatalf("Istio's compat extraction: %v", err)
	}
	if !bytes.Equal(got, wasm) {
		t.Fatalf("image holds %d bytes of plugin, the built plugin is %d bytes", len(got), len(wasm))
	}

	// Reproducible: the same plugin gives the same digest (the WasmPlugin sha256).
	again, err := oci.Write(filepath.Join(t.TempDir(), "oci"), wasm, "0.1.0")
	if err != nil || again != digest {
		t.Fatalf("second write: %s, %v; first: %s", again, err, digest)
	}
}
