// Package oci packages the built plugin as an OCI image that Istio can pull
// with a WasmPlugin `url: oci://...`, and reads such an image back the way
// Istio does.
//
// Istio's fetcher (istio/istio pkg/wasm/imagefetcher.go, PrepareFetch) tries,
// for an OCI manifest, first the "compat" variant — the last layer must be
// application/vnd.oci.image.layer.v1.tar+gzip holding a file named
// plugin.wasm — and only then the "oci" artifact variant, which demands
// exactly two layers. Older Istio releases demanded exactly one layer for
// compat. The image written here is the compat variant with exactly one
// layer, which every Istio release with WasmPlugin accepts, uses only
// standard media types (any registry stores it), and carries the
// module.wasm.image/variant=compat annotation the spec asks for
// (solo-io/wasm spec/spec-compat.md).
package oci

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	// PluginFile is the file name Istio looks for in the layer.
	PluginFile = "plugin.wasm"
	// VariantAnnotation marks the manifest as the compat variant.
	VariantAnnotation = "module.wasm.image/variant"
	// RefNameAnnotation names the image in the layout's index.json.
	RefNameAnnotation = "org.opencontainers.image.ref.name"

	// LayerMediaType, ManifestMediaType and ConfigMediaType are the media
	// types of the written image.
	LayerMediaType    = types.OCILayer
	ManifestMediaType = types.OCIManifestSchema1
	ConfigMediaType   = types.OCIConfigJSON
)

var (
	wasmMagic = []byte("\x00asm")
	// An OCI / Docker tag.
	tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// checkWasm is Istio's own test (pkg/wasm/cache.go isValidWasmBinary):
// at least the 8-byte header, starting with the magic.
func checkWasm(b []byte) error {
	if len(b) < 8 || !bytes.Equal(b[:4], wasmMagic) {
		return errors.New(`oci: input is not a WebAssembly module (no "\0asm" magic in an 8-byte header)`)
	}
	return nil
}

// Image builds the compat-variant image: one gzipped tar layer with
// plugin.wasm, an OCI manifest and config. The output is deterministic.
func Image(wasm []byte) (v1.Image, error) {
	if err := checkWasm(wasm); err != nil {
		return nil, err
	}
	var tgz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&tgz, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     PluginFile,
		Mode:     0o644,
		Size:     int64(len(wasm)),
		ModTime:  time.Unix(0, 0),
		Format:   tar.FormatUSTAR,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(wasm); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	blob := tgz.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(blob)), nil
	}, tarball.WithMediaType(LayerMediaType))
	if err != nil {
		return nil, err
	}

	img := mutate.MediaType(empty.Image, ManifestMediaType)
	img = mutate.ConfigMediaType(img, ConfigMediaType)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: LayerMediaType})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "wasip1", "wasm" // how the plugin is built
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, err
	}
	return mutate.Annotations(img, map[string]string{VariantAnnotation: "compat"}).(v1.Image), nil
}

// Write writes the image for wasm as an OCI image layout in dir, its only
// entry named tag, and returns the manifest digest (the value for a
// WasmPlugin's sha256). An existing layout in dir is replaced; any other
// non-empty dir is refused.
func Write(dir string, wasm []byte, tag string) (v1.Hash, error) {
	if !tagRE.MatchString(tag) {
		return v1.Hash{}, fmt.Errorf("oci: %q is not a valid image tag", tag)
	}
	img, err := Image(wasm)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := resetLayout(dir); err != nil {
		return v1.Hash{}, err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{RefNameAnnotation: tag})); err != nil {
		return v1.Hash{}, err
	}
	return img.Digest()
}

// resetLayout empties dir if it holds an OCI layout, so the result has
// exactly one image (crane push wants that); it refuses to touch anything
// else.
func resetLayout(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		return fmt.Errorf("oci: %s is not empty and not an OCI image layout; refusing to overwrite it", dir)
	}
	for _, name := range []string{"blobs", "index.json", "oci-layout"} {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

// Read opens the layout in dir, which must hold exactly one image, and
// extracts plugin.wasm from it as Istio does.
func Read(dir string) ([]byte, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(m.Manifests) != 1 {
		return nil, fmt.Errorf("oci: layout %s holds %d entries, want 1", dir, len(m.Manifests))
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		return nil, err
	}
	return Extract(img)
}

// Extract mirrors Istio's compat-variant extraction (pkg/wasm/imagefetcher.go
// extractOCIStandardImage + extractWasmPluginBinary): the last layer must be
// an OCI tar+gzip layer, and the first entry whose base name is plugin.wasm
// is the module.
func Extract(img v1.Image) ([]byte, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	if len(layers) == 0 {
		return nil, errors.New("oci: image has no layers")
	}
	l := layers[len(layers)-1]
	mt, err := l.MediaType()
	if err != nil {
		return nil, err
	}
	if mt != LayerMediaType {
		return nil, fmt.Errorf("oci: layer media type %s, want %s", mt, LayerMediaType)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		return nil, fmt.Errorf("oci: layer is not gzip: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("oci: %s not found in the layer", PluginFile)
		}
		if err != nil {
			return nil, err
		}
		if filepath.Base(h.Name) == PluginFile {
			return io.ReadAll(tr)
		}
	}
}
