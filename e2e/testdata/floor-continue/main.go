// Command floor-continue is a benchmark floor, not a plugin anyone deploys.
// It does the least any proxy-wasm HTTP filter in Go can do on a request that
// it lets through: read ":path" and continue. meshprobe's pass-through cost is
// reported as a ratio to this (e2e/bench_test.go, make bench), so the figure
// shows what meshprobe adds rather than what the SDK, the Go runtime and the
// host cost anyway. Built like the plugin, with the same SDK and flags:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags='-s -w' \
//		-o build/floor-continue.wasm ./e2e/testdata/floor-continue
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func init() { proxywasm.SetVMContext(&vmContext{}) }

func main() {}

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct{ types.DefaultPluginContext }

func (*pluginContext) NewHttpContext(uint32) types.HttpContext { return &httpContext{} }

type httpContext struct{ types.DefaultHttpContext }

func (*httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	path, _ := proxywasm.GetHttpRequestHeader(":path")
	_ = path
	return types.ActionContinue
}
