// Command misbehave is a test plugin, not one anyone deploys: it breaks the
// rules a host enforces, so tests can prove the host (Envoy, and internal/testing/wasmhost
// mirroring it) and the shipped configuration react as documented.
//
//   - Built with -ldflags '-X main.initCall=get_property', its init (run in
//     _initialize) calls proxy_get_property, which Envoy forbids there.
//   - GET /crash panics: the VM traps, as a plugin bug would.
//   - GET /health/probes/liveness is answered locally with 200 "misbehave".
//   - GET /timer arms and stops a Go timer, as crypto/rand.Read does, and
//     leaves 64 KiB of garbage: with a timer armed, Go's runtime calls
//     poll_oneoff at a garbage collection (see TestOldEnvoyPollOneoff).
//   - PUT /shared writes the shared data key named by header x-key with the
//     value hex-encoded in header x-value (and x-pad zero bytes after it:
//     a value too large for a header), unconditionally; GET /shared
//     answers the key's value, hex-encoded. Configured with the vm_id of
//     another plugin, it reads and writes that plugin's shared data (Envoy
//     keeps shared data per vm_id): a fault injector.
//   - Everything else continues.
package main

import (
	"encoding/hex"
	"strconv"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// initCall is set at build time (see above).
var initCall string

func init() {
	if initCall == "get_property" {
		proxywasm.GetProperty([]string{"plugin_name"})
	}
	proxywasm.SetVMContext(&vmContext{})
}

func main() {}

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct{ types.DefaultPluginContext }

func (*pluginContext) NewHttpContext(uint32) types.HttpContext { return &httpContext{} }

type httpContext struct{ types.DefaultHttpContext }

func (*httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	switch path, _ := proxywasm.GetHttpRequestHeader(":path"); path {
	case "/crash":
		panic("misbehave: crashing on request, as a plugin bug would")
	case "/health/probes/liveness":
		proxywasm.SendHttpResponse(200, [][2]string{{"content-type", "text/plain"}}, []byte("misbehave"), -1)
		return types.ActionPause
	case "/shared":
		shared()
		return types.ActionPause
	case "/timer":
		time.AfterFunc(time.Minute, func() {}).Stop()
		garbage = make([]byte, 64<<10)
		proxywasm.SendHttpResponse(200, nil, nil, -1)
		return types.ActionPause
	}
	return types.ActionContinue
}

// garbage keeps /timer's allocation from being optimized away.
var garbage []byte

func shared() {
	method, _ := proxywasm.GetHttpRequestHeader(":method")
	key, _ := proxywasm.GetHttpRequestHeader("x-key")
	reply := func(status uint32, body string) {
		proxywasm.SendHttpResponse(status, [][2]string{{"content-type", "text/plain"}}, []byte(body), -1)
	}
	if method == "PUT" {
		v, _ := proxywasm.GetHttpRequestHeader("x-value")
		value, err := hex.DecodeString(v)
		if err != nil {
			reply(400, err.Error())
			return
		}
		if p, _ := proxywasm.GetHttpRequestHeader("x-pad"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 {
				reply(400, "bad x-pad")
				return
			}
			value = append(value, make([]byte, n)...)
		}
		if err := proxywasm.SetSharedData(key, value, 0); err != nil {
			reply(500, err.Error())
			return
		}
		reply(200, "")
		return
	}
	value, _, err := proxywasm.GetSharedData(key)
	if err != nil {
		reply(404, err.Error())
		return
	}
	reply(200, hex.EncodeToString(value))
}
