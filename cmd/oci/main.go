// Command oci writes the built plugin as an OCI image layout that Istio can
// pull with a WasmPlugin `url: oci://...` once it is pushed to a registry:
//
//	go run ./cmd/oci -wasm build/meshprobe.wasm -out build/oci [-tag 0.1.0]
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/meshprobe/meshprobe/internal/buildstep/oci"
)

func main() {
	wasmPath := flag.String("wasm", "build/meshprobe.wasm", "the built plugin")
	out := flag.String("out", "build/oci", "OCI image layout directory to write (an existing layout there is replaced)")
	tag := flag.String("tag", "0.1.0", "tag recorded as org.opencontainers.image.ref.name")
	flag.Parse()

	wasm, err := os.ReadFile(*wasmPath)
	if err != nil {
		fail(err)
	}
	digest, err := oci.Write(*out, wasm, *tag)
	if err != nil {
		fail(err)
	}
	fmt.Printf(`wrote %s: OCI image layout, one image (Wasm image spec "compat" variant, %s in one tar+gzip layer)
  tag    %s
  digest %s

push it with any of (REGISTRY/REPO e.g. ghcr.io/you/meshprobe; log in first):
  crane push %[1]s REGISTRY/REPO:%[3]s
  oras cp --from-oci-layout %[1]s:%[3]s REGISTRY/REPO:%[3]s
  skopeo copy oci:%[1]s:%[3]s docker://REGISTRY/REPO:%[3]s
then in the WasmPlugin:
  url: oci://REGISTRY/REPO:%[3]s
  sha256: %[5]s   # optional; Istio checks it against this manifest digest
`, *out, oci.PluginFile, *tag, digest, digest.Hex)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "oci:", strings.TrimPrefix(err.Error(), "oci: "))
	os.Exit(1)
}
