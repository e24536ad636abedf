// Command meshprobe is the proxy-wasm entry point: it only registers the VM
// context. Build with GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/meshprobe/meshprobe/plugin"
)

func init() { proxywasm.SetVMContext(plugin.NewVMContext()) }

func main() {}
