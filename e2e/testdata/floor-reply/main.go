// Command floor-reply is a benchmark floor, not a plugin anyone deploys.
// It does the least any proxy-wasm HTTP filter in Go can do to answer a
// request locally: read ":path" and send one constant reply with the two
// headers every meshprobe reply must carry (content-type and cache-control:
// no-store). meshprobe's probe endpoints are reported as ratios to this
// (e2e/bench_test.go, make bench), so the figures show what meshprobe adds
// rather than what the SDK, the Go runtime and the host cost anyway. Built
// like the plugin, with the same SDK and flags:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags='-s -w' \
//		-o build/floor-reply.wasm ./e2e/testdata/floor-reply
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

var (
	headers = [][2]string{{"content-type", "application/json"}, {"cache-control", "no-store"}}
	body    = []byte(`{"status":"up"}`)
)

func (*httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	path, _ := proxywasm.GetHttpRequestHeader(":path")
	_ = path
	if err := proxywasm.SendHttpResponse(200, headers, body, -1); err != nil {
		proxywasm.LogWarnf("floor-reply: %v", err)
	}
	return types.ActionPause
}
