// Command meshprobe is the proxy-wasm entry point: it only registers the VM
// context. Build with GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared.
package main

import (
	"os"
	"runtime/debug"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/meshprobe/meshprobe/plugin"
)

func init() {
	// A VM's linear memory never shrinks, and Go's smallest heap goal scales
	// with GOGC (4 MiB at 100) while the plugin keeps well under 1 MiB live,
	// so 50 keeps each VM smaller (BENCHMARKS.md, "Memory", measures it). A
	// GOGC the VM's environment sets (Envoy's vm_config environment_variables)
	// wins: the soak uses it to collect more often.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	proxywasm.SetVMContext(plugin.NewVMContext())
}

func main() {}
