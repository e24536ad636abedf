// Command floor-reply is a benchmark floor, not a plugin anyone deploys.
// It does the least any proxy-wasm HTTP filter in Go can do to answer a
// request locally: read ":path" and send one constant reply with the two
// headers every meshprobe reply must carry (content-type and cache-control:
// no-store). meshprobe's probe endpoints are reported as ratios to this
// (e2e/bench_test.go, make bench), so the figures show what meshprobe adds
// rather than what the SDK, the Go runtime and the host cost anyway.
//
// The plugin configuration lists options, comma-separated. "method" also
// reads ":method" and answers 405 to anything but GET and HEAD, as DESIGN
// requires of every read route: that measures what the method check alone
// costs. "raw" sends the reply through the proxy_send_local_response
// hostcall with its headers serialized once, as meshprobe does on wasm,
// instead of through the SDK, which serializes them on every call: that
// measures what the SDK's way costs, so the table can show meshprobe against
// a floor that saves it too. Built like the plugin, with the same SDK and flags:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags='-s -w' \
//		-o build/floor-reply.wasm ./e2e/testdata/floor-reply
package main

import (
	"strings"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func init() { proxywasm.SetVMContext(&vmContext{}) }

func main() {}

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type options struct{ readMethod, raw bool }

type pluginContext struct {
	types.DefaultPluginContext
	options
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	config, _ := proxywasm.GetPluginConfiguration()
	for _, o := range strings.Split(string(config), ",") {
		p.readMethod = p.readMethod || o == "method"
		p.raw = p.raw || o == "raw"
	}
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	return &httpContext{options: p.options}
}

type httpContext struct {
	types.DefaultHttpContext
	options
}

var (
	headers    = [][2]string{{"content-type", "application/json"}, {"cache-control", "no-store"}}
	body       = []byte(`{"status":"up"}`)
	notAllowed = []byte(`{"status":"error"}`)
	// headers as proxy_send_local_response reads them: the pair count, each
	// key and value length (u32 little endian), each key and value + NUL.
	headersWire = []byte("\x02\x00\x00\x00" + "\x0c\x00\x00\x00\x10\x00\x00\x00" + "\x0d\x00\x00\x00\x08\x00\x00\x00" +
		"content-type\x00application/json\x00cache-control\x00no-store\x00")
)

//go:wasmimport env proxy_send_local_response
func proxySendLocalResponse(status uint32, detailsData *byte, detailsSize int32,
	bodyData *byte, bodySize int32, headersData *byte, headersSize int32, grpcStatus int32) uint32

func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	path, _ := proxywasm.GetHttpRequestHeader(":path")
	_ = path
	status, reply := uint32(200), body
	if h.readMethod {
		if m, _ := proxywasm.GetHttpRequestHeader(":method"); m != "GET" && m != "HEAD" {
			status, reply = 405, notAllowed
		}
	}
	if h.raw {
		if st := proxySendLocalResponse(status, nil, 0, &reply[0], int32(len(reply)), &headersWire[0], int32(len(headersWire)), -1); st != 0 {
			proxywasm.LogWarnf("floor-reply: host status %d", st)
		}
	} else if err := proxywasm.SendHttpResponse(status, headers, reply, -1); err != nil {
		proxywasm.LogWarnf("floor-reply: %v", err)
	}
	return types.ActionPause
}
