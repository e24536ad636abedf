// Command wasmsize prints how many bytes of a Go-built .wasm's code section
// each Go package holds, largest first, so the module's size can be
// re-measured after a change. Without -wasm it builds the plugin first, as
// `make build` does but keeping the name section (-s strips it):
//
//	go run ./cmd/wasmsize            # build . and print the table
//	go run ./cmd/wasmsize -top 20    # only the 20 largest rows
//	go run ./cmd/wasmsize -wasm x.wasm -funcs encoding/json
//	go run ./cmd/wasmsize -vs ./e2e/testdata/floor-reply -top 25   # markdown, against a floor
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
	top := flag.Int("top", 0, "print only this many rows (0: all)")
	funcs := flag.String("funcs", "", "list this package's functions by size instead")
	vs := flag.String("vs", "", "also build this package and print a markdown table of both, per package")
	flag.Parse()
	err := func() error {
		m, err := measure(*wasm, *pkg, *funcs)
		if err != nil || *vs == "" {
			if err == nil {
				m.print(*top)
			}
			return err
		}
		floor, err := measure("", *vs, "")
		if err == nil {
			markdown(m, floor, label(*pkg), label(*vs), *top)
		}
		return err
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasmsize:", err)
		os.Exit(1)
	}
}

// sizes is one module's code bytes per package (or per function of one
// package, with -funcs).
type sizes struct {
	module, code, functions int
	by                      map[string]int
}

func measure(wasm, pkg, funcs string) (sizes, error) {
	if wasm == "" {
		dir, err := os.MkdirTemp("", "wasmsize")
		if err != nil {
			return sizes{}, err
		}
		defer os.RemoveAll(dir)
		wasm = filepath.Join(dir, "m.wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", wasm, pkg)
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return sizes{}, fmt.Errorf("go build: %w", err)
		}
	}
	list := exec.Command("go", "list", "-deps", pkg)
	list.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	deps, err := list.Output()
	if err != nil {
		return sizes{}, fmt.Errorf("go list -deps %s: %w", pkg, err)
	}
	pkgs := newPackages(strings.Fields(string(deps)))
	mod, err := os.ReadFile(wasm)
	if err != nil {
		return sizes{}, err
	}
	fns, err := functions(mod)
	if err != nil {
		return sizes{}, err
	}
	s := sizes{module: len(mod), functions: len(fns), by: map[string]int{}}
	for _, f := range fns {
		key := pkgs.of(f.name)
		if funcs != "" {
			if key != funcs {
				continue
			}
			key = f.name
		}
		s.by[key] += f.size
		s.code += f.size
	}
	return s, nil
}

// largest is s's keys, largest first.
func (s sizes) largest() []string {
	keys := make([]string, 0, len(s.by))
	for k := range s.by {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if s.by[keys[i]] != s.by[keys[j]] {
			return s.by[keys[i]] > s.by[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

func (s sizes) print(top int) {
	fmt.Printf("module %d bytes, code %d bytes in %d functions\n", s.module, s.code, s.functions)
	for i, k := range s.largest() {
		if top > 0 && i == top {
			break
		}
		fmt.Printf("%9d %6.1f KiB  %s\n", s.by[k], float64(s.by[k])/1024, k)
	}
}

// label names a package's module: "meshprobe" for the plugin (.), else its
// directory's name.
func label(pkg string) string {
	if pkg == "." {
		return "meshprobe"
	}
	return filepath.Base(pkg)
}

// markdown prints both modules' code per package, in KiB, the first's
// largest rows first, the rest summed in one row.
func markdown(m, floor sizes, name, floorName string, top int) {
	kib := func(n int) string { return fmt.Sprintf("%.1f", float64(n)/1024) }
	fmt.Printf("| package | %s | %s | difference |\n|---|---:|---:|---:|\n", name, floorName)
	rest, restFloor := m.code, floor.code
	seen := map[string]bool{}
	for i, k := range m.largest() {
		if top > 0 && i == top {
			break
		}
		seen[k] = true
		rest, restFloor = rest-m.by[k], restFloor-floor.by[k]
		fmt.Printf("| %s | %s | %s | %+.1f |\n", k, kib(m.by[k]), kib(floor.by[k]), float64(m.by[k]-floor.by[k])/1024)
	}
	fmt.Printf("| all other packages | %s | %s | %+.1f |\n", kib(rest), kib(restFloor), float64(rest-restFloor)/1024)
	fmt.Printf("| **code section** | %s | %s | %+.1f |\n", kib(m.code), kib(floor.code), float64(m.code-floor.code)/1024)
	fmt.Printf("| module, with the name section | %s | %s | %+.1f |\n", kib(m.module), kib(floor.module), float64(m.module-floor.module)/1024)
}
