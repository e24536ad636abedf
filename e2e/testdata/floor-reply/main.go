// Command floor-reply is a benchmark floor, not a plugin anyone deploys.
// It does the least any proxy-wasm HTTP filter in Go can do to answer a
// request locally: read ":path" and send one constant reply with the two
// headers every meshprobe reply must carry (content-type and cache-control:
// no-store). meshprobe's probe endpoints are reported as ratios to this
// (e2e/bench_test.go, make bench), so the figures show what meshprobe adds
// rather than what the SDK, the Go runtime and the host cost anyway.
//
// With the plugin configuration "method" it also reads ":method" and answers
// 405 to anything but GET and HEAD, as DESIGN requires of every read route:
// that measures what the method check alone costs. Built like the plugin,
// with the same SDK and flags:
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

type pluginContext struct {
	types.DefaultPluginContext
	readMethod bool
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	config, _ := proxywasm.GetPluginConfiguration()
	p.readMethod = string(config) == "method"
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	return &httpContext{readMethod: p.readMethod}
}

type httpContext struct {
	types.DefaultHttpContext
	readMethod bool
}

var (
	headers    = [][2]string{{"content-type", "application/json"}, {"cache-control", "no-store"}}
	body       = []byte(`{"status":"up"}`)
	notAllowed = []byte(`{"status":"error"}`)
)

func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	path, _ := proxywasm.GetHttpRequestHeader(":path")
	_ = path
	status, reply := uint32(200), body
	if h.readMethod {
		if m, _ := proxywasm.GetHttpRequestHeader(":method"); m != "GET" && m != "HEAD" {
			status, reply = 405, notAllowed
		}
	}
	if err := proxywasm.SendHttpResponse(status, headers, reply, -1); err != nil {
		proxywasm.LogWarnf("floor-reply: %v", err)
	}
	return types.ActionPause
}
