package plugin

import (
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/meshprobe/meshprobe/checks"
)

type httpContext struct {
	types.DefaultHttpContext
	p *pluginContext
}

// OnHttpRequestHeaders is on the path of every request through the proxy:
// anything that is not a configured health path continues untouched after
// one header read and one map lookup.
func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	path, err := proxywasm.GetHttpRequestHeader(":path")
	if err != nil {
		return types.ActionContinue
	}
	route := h.p.router.Match(path)
	if route == nil {
		return types.ActionContinue
	}
	method, _ := proxywasm.GetHttpRequestHeader(":method")
	if method != "GET" && method != "HEAD" {
		send(checks.ReplyMethodNotAllowed, false, allowRead)
		return types.ActionPause
	}
	send(h.p.answer(route), method == "HEAD")
	return types.ActionPause
}

// answer renders a read route from the current state.
func (p *pluginContext) answer(r *checks.Route) checks.Reply {
	switch r.Endpoint {
	case checks.StdLiveness:
		return p.std.Liveness()
	case checks.StdReadiness:
		return p.std.Readiness(p.state)
	case checks.StdStartup:
		return p.std.Startup(p.state)
	case checks.StdUp:
		return p.std.Up(time.Now())
	case checks.StdDependencies:
		return p.std.Dependencies(p.state)
	case checks.StdInfo:
		if !p.cfg.Details.Allows(peer{}) {
			return checks.ReplyForbidden
		}
		return p.std.Info()
	}
	return checks.ReplyNotFound
}
