// Package plugin is meshprobe's proxy-wasm glue: contexts, routing, host
// property reads and replies. Every decision it takes comes from package checks.
package plugin

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

type vmContext struct {
	types.DefaultVMContext
}

// NewVMContext is the VM context main.go registers (tests register it too).
func NewVMContext() types.VMContext { return &vmContext{} }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }
