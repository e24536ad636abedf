package oci

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// A minimal module: the magic and version 1.
var tinyWasm = []byte("\x00asm\x01\x00\x00\x00")

// checkLayout asserts everything Istio and the push tools rely on and
// returns the one image.
func checkLayout(t *testing.T, dir string, wasm []byte, tag string, digest v1.Hash) v1.Image {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	var ociLayout struct{ ImageLayoutVersion string }
	if b, err := os.ReadFile(filepath.Join(dir, "oci-layout")); err != nil || json.Unmarshal(b, &ociLayout) != nil || ociLayout.ImageLayoutVersion != "1.0.0" {
		t.Errorf("oci-layout file: %q, %v", b, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("index.json has %d manifests, want 1", len(im.Manifests))
	}
	desc := im.Manifests[0]
	if desc.MediaType != ManifestMediaType {
		t.Errorf("index entry media type %s, want %s", desc.MediaType, ManifestMediaType)
	}
	if got := desc.Annotations[RefNameAnnotation]; got != tag {
		t.Errorf("%s = %q, want %q", RefNameAnnotation, got, tag)
	}
	if desc.Digest != digest {
		t.Errorf("index entry digest %s, Write returned %s", desc.Digest, digest)
	}

	img, err := idx.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Layers) != 1 {
		t.Fatalf("%d layers, want exactly 1", len(m.Layers))
	}
	// Every blob is on disk with the digest and size its descriptor claims
	// (what pkg/v1/validate would check; it needs go-cmp, not in go.mod).
	for _, d := range []v1.Descriptor{desc, m.Config, m.Layers[0]} {
		checkBlob(t, dir, d)
	}
	if m.MediaType != ManifestMediaType || m.Config.MediaType != ConfigMediaType {
		t.Errorf("manifest %s / config %s, want %s / %s", m.MediaType, m.Config.MediaType, ManifestMediaType, ConfigMediaType)
	}
	if got := m.Annotations[VariantAnnotation]; got != "compat" {
		t.Errorf("%s = %q, want compat", VariantAnnotation, got)
	}
	if m.Layers[0].MediaType != LayerMediaType {
		t.Errorf("layer media type %s, want %s", m.Layers[0].MediaType, LayerMediaType)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	uncompressed, err := img.LayerByDigest(m.Layers[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	diffID, err := uncompressed.DiffID()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := uncompressed.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	realDiffID, _, err := v1.SHA256(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.RootFS.DiffIDs) != 1 || cfg.RootFS.DiffIDs[0] != realDiffID || diffID != realDiffID {
		t.Errorf("config diff_ids %v, layer DiffID %s, sha256 of the tar %s", cfg.RootFS.DiffIDs, diffID, realDiffID)
	}
	if cfg.OS != "wasip1" || cfg.Architecture != "wasm" {
		t.Errorf("platform %s/%s, want wasip1/wasm", cfg.OS, cfg.Architecture)
	}

	got, err := Extract(img)
	if err != nil {
		t.Fatalf("extracting as Istio does: %v", err)
	}
	if sha256.Sum256(got) != sha256.Sum256(wasm) {
		t.Fatalf("%s in the image (%d bytes) differs from the input (%d bytes)", PluginFile, len(got), len(wasm))
	}
	if viaRead, err := Read(dir); err != nil || !bytes.Equal(viaRead, wasm) {
		t.Fatalf("Read: %d bytes, %v", len(viaRead), err)
	}
	return img
}

func checkBlob(t *testing.T, dir string, d v1.Descriptor) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "blobs", d.Digest.Algorithm, d.Digest.Hex))
	if err != nil {
		t.Fatalf("blob %s (%s): %v", d.Digest, d.MediaType, err)
	}
	got, _, _ := v1.SHA256(bytes.NewReader(b))
	if got != d.Digest || int64(len(b)) != d.Size {
		t.Errorf("blob %s (%s): sha256 %s, %d bytes; descriptor says %d bytes", d.Digest, d.MediaType, got, len(b), d.Size)
	}
}

func TestWriteOCILayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "oci")
	d, err := Write(dir, tinyWasm, "0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	checkLayout(t, dir, tinyWasm, "0.1.0", d)

	// Writing again replaces the layout (still one entry) and is reproducible.
	d2, err := Write(dir, tinyWasm, "0.2.0")
	if err != nil {
		t.Fatal(err)
	}
	if d2 != d {
		t.Errorf("same input gave digest %s, then %s", d, d2)
	}
	checkLayout(t, dir, tinyWasm, "0.2.0", d2)
}

func TestWriteOCIRefusesNonWasm(t *testing.T) {
	for name, in := range map[string][]byte{
		"empty":      nil,
		"text":       []byte("hello, not a module"),
		"gzip":       {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0},
		"magic only": []byte("\x00asm"),
	} {
		dir := filepath.Join(t.TempDir(), "oci")
		_, err := Write(dir, in, "0.1.0")
		if err == nil || !strings.Contains(err.Error(), "not a WebAssembly module") {
			t.Errorf("%s: err = %v, want a clear refusal", name, err)
		}
		if _, statErr := os.Stat(dir); statErr == nil {
			t.Errorf("%s: %s was created despite the refusal", name, dir)
		}
	}
}

func TestWriteOCIRefusesBadTagAndForeignDir(t *testing.T) {
	if _, err := Write(t.TempDir(), tinyWasm, "bad tag"); err == nil {
		t.Error("a tag with a space was accepted")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dir, tinyWasm, "0.1.0"); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("non-layout dir: err = %v, want a refusal", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "keep.txt")); err != nil {
		t.Errorf("foreign file was touched: %v", err)
	}
}
