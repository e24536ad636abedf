// Command misbehave is a test plugin, not one anyone deploys: it breaks the
// rules a host enforces, so tests can prove the host (Envoy, and e2e/host
// mirroring it) and the shipped configuration react as documented.
//
//   - Built with -ldflags '-X main.initCall=get_property', its init (run in
//     _initialize) calls proxy_get_property, which Envoy forbids there.
//   - GET /crash panics: the VM traps, as a plugin bug would.
//   - GET /health/probes/liveness is answered locally with 200 "misbehave".
//   - Everything else continues.
package main

import (
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
	}
	return types.ActionContinue
}
