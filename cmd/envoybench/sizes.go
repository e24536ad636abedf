package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// modules are the .wasm files the tables run, in build/, rungs in order.
var modules = []struct{ name, label string }{
	{"floor-continue-wat", "runtime-free wasm (WAT) continue"},
	{"floor-reply-wat", "runtime-free wasm (WAT) reply"},
	{"floor-continue", "Go floor-continue"},
	{"floor-reply", "Go floor-reply"},
	{"meshprobe", "meshprobe"},
}

// moduleSizes prints each module's size in bytes, also as a ratio to Go
// floor-reply's, and returns the sizes by name.
func moduleSizes(p printf, root string) (map[string]int64, error) {
	sizes := map[string]int64{}
	for _, m := range modules {
		st, err := os.Stat(filepath.Join(root, "build", m.name+".wasm"))
		if err != nil {
			return nil, err
		}
		sizes[m.name] = st.Size()
	}
	p("#### Module sizes\n\n| module | bytes | × Go floor-reply |\n|---|---:|---:|\n")
	for _, m := range modules {
		x := fmt.Sprintf("%.3f", float64(sizes[m.name])/float64(sizes["floor-reply"]))
		if x == "0.000" {
			x = "< 0.001"
		}
		p("| %s (`build/%s.wasm`) | %d | %s |\n", m.label, m.name, sizes[m.name], x)
	}
	p("\n")
	return sizes, nil
}
