package e2e

import (
	"flag"
	"fmt"
	"os"
	"testing"
)

// Every e2e test runs the compiled plugin, on internal/testing/wasmhost or in Envoy:
// under -short (make check) none runs, and without a built plugin the
// package says in one line what to run.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: SKIPPED under -short (every test here runs the compiled plugin); make test runs them")
		os.Exit(0)
	}
	if _, err := os.Stat(pluginPath()); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: no compiled plugin (%v): run `make build` first\n", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
