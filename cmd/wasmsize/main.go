// Command wasmsize prints how many bytes of a Go-built .wasm's code section
// each Go package holds, largest first, so the module's size can be
// re-measured after a change. Without -wasm it builds the plugin first, as
// `make build` does but keeping the name section (-s strips it):
//
//	go run ./cmd/wasmsize            # build . and print the table
//	go run ./cmd/wasmsize -top 20    # only the 20 largest rows
//	go run ./cmd/wasmsize -wasm x.wasm -funcs encoding/json
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	wasm := flag.String("wasm", "", "module to read (default: build the plugin with its name section)")
	pkg := flag.String("pkg", ".", "package to build when -wasm is not given")
	top := flag.Int("top", 0, "print only this many packages (0: all)")
	funcs := flag.String("funcs", "", "list this package's functions by size instead")
	flag.Parse()
	if err := run(*wasm, *pkg, *top, *funcs); err != nil {
		fmt.Fprintln(os.Stderr, "wasmsize:", err)
		os.Exit(1)
	}
}

func run(wasm, pkg string, top int, funcs string) error {
	if wasm == "" {
		dir, err := os.MkdirTemp("", "wasmsize")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		wasm = filepath.Join(dir, "m.wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", wasm, pkg)
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
	}
	list := exec.Command("go", "list", "-deps", pkg)
	list.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	deps, err := list.Output()
	if err != nil {
		return fmt.Errorf("go list -deps %s: %w", pkg, err)
	}
	pkgs := newPackages(strings.Fields(string(deps)))
	mod, err := os.ReadFile(wasm)
	if err != nil {
		return err
	}
	fns, err := functions(mod)
	if err != nil {
		return err
	}
	sizes := map[string]int{}
	total := 0
	for _, f := range fns {
		key := pkgs.of(f.name)
		if funcs != "" {
			if key != funcs {
				continue
			}
			key = f.name
		}
		sizes[key] += f.size
		total += f.size
	}
	keys := make([]string, 0, len(sizes))
	for k := range sizes {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if sizes[keys[i]] != sizes[keys[j]] {
			return sizes[keys[i]] > sizes[keys[j]]
		}
		return keys[i] < keys[j]
	})
	fmt.Printf("module %d bytes, code %d bytes in %d functions\n", len(mod), total, len(fns))
	for i, k := range keys {
		if top > 0 && i == top {
			break
		}
		fmt.Printf("%9d %6.1f KiB  %s\n", sizes[k], float64(sizes[k])/1024, k)
	}
	return nil
}
