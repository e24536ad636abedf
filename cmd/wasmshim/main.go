// Command wasmshim makes meshprobe's .wasm provide
// wasi_snapshot_preview1.poll_oneoff itself (see internal/buildstep/wasmshim), so the
// Go runtime never meets the ENOSYS of Envoy releases before 1.39. `make
// build` runs it on the Go toolchain's output:
//
//	go run ./cmd/wasmshim -in build/meshprobe.go.wasm -out build/meshprobe.wasm
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/meshprobe/meshprobe/internal/buildstep/wasmshim"
)

func main() {
	in := flag.String("in", "", "module the Go toolchain built")
	out := flag.String("out", "", "module to write")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "wasmshim:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	if in == "" || out == "" {
		return errors.New("-in and -out are required")
	}
	mod, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	patched, err := wasmshim.ProvidePollOneoff(mod)
	switch {
	case errors.Is(err, wasmshim.ErrNoImport):
		// A Go release that stops importing it needs no shim.
		fmt.Fprintln(os.Stderr, "wasmshim: no poll_oneoff import to provide; module copied unchanged")
		patched = mod
	case err != nil:
		return fmt.Errorf("%s: providing wasi_snapshot_preview1.poll_oneoff: %w", in, err)
	}
	return os.WriteFile(out, patched, 0o644)
}
