package plugin

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/meshprobe/meshprobe/checks"
)

type httpContext struct {
	types.DefaultHttpContext
	p       *pluginContext
	id      uint32
	waiting bool // paused on an on_request flight
	idle    bool // back on the plugin's idle list
}

// OnHttpRequestHeaders is on the path of every request through the proxy:
// anything that is not a configured health path continues untouched after
// one header read and a route lookup (checks.Router.Match: no hashing, no
// allocation).
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
	switch {
	case route.Write && method != "POST" && method != "DELETE":
		h.p.respond(route, checks.ReplyMethodNotAllowed, allowDrain)
	case route.Write:
		h.p.respond(route, h.p.serveDrain(method == "POST"), "")
	case method != "GET" && method != "HEAD":
		h.p.respond(route, checks.ReplyMethodNotAllowed, allowRead)
	case h.p.cfg.Refresh.Mode == checks.RefreshOnRequest && needsState(route.Endpoint) &&
		h.p.refreshOnRequest(waiter{h.id, route, checks.Query(path)}):
		h.waiting = true // answered when the flight lands
	default:
		h.p.respond(route, h.p.answer(route, checks.Query(path)), "")
	}
	return types.ActionPause
}

// OnHttpStreamDone is the stream's last callback (the SDK runs it on
// proxy_on_log; proxy_on_delete then only forgets the id), so the context
// can serve a new stream. A second call for the same stream (mid-stream
// access logging) must not list it twice, or two streams would share it.
func (h *httpContext) OnHttpStreamDone() {
	if h.idle {
		return
	}
	if h.waiting {
		h.p.streamDone(h.id)
	}
	if p := h.p; len(p.idle) < maxIdleContexts {
		h.idle = true
		p.idle = append(p.idle, h)
	}
}

// answer renders a read route. Only the endpoints whose answer depends on
// check results read the shared state.
func (p *pluginContext) answer(r *checks.Route, query string) checks.Reply {
	if (r.Endpoint == checks.StdReadiness || r.Endpoint == checks.StdDependencies) && wantsHealthJSON() {
		return checks.HealthJSON(r.Endpoint, p.view(r, query), p.svc)
	}
	switch r.Endpoint {
	case checks.StdLiveness:
		return p.std.Liveness()
	case checks.StdReadiness:
		return p.std.Readiness(p.summary()) // one shared-data read, no decode
	case checks.StdStartup:
		return p.std.Startup(p.summary())
	case checks.StdUp:
		return p.std.Up(now())
	case checks.LibertyHealth:
		return p.libertyHealth
	case checks.StdInfo, checks.LibertyInfo:
		if !p.cfg.Details.Allows(peer{}) {
			return checks.ReplyForbidden
		}
		return p.std.Info()
	case checks.StdMetrics: // latencies and check names are details
		if !p.cfg.Details.Allows(peer{}) {
			return checks.ReplyForbidden
		}
		return checks.Metrics(&checks.View{Cfg: p.cfg, State: p.state(), Details: true}, p.svc, p.stats.probeCounts())
	}
	v := p.view(r, query)
	if r.Endpoint == checks.StdStatus {
		return checks.StatusPage(v, p.svc, now().UnixMilli())
	}
	switch r.Dialect {
	case checks.DialectStandard:
		return p.std.Dependencies(v.State, v.Details)
	case checks.DialectKubernetes:
		if r.Check != "" {
			return checks.KubernetesCheck(r.Endpoint, r.Check, v)
		}
		return checks.Kubernetes(r.Endpoint, v)
	case checks.DialectPrivacyIDEA:
		return checks.PrivacyIDEA(r.Endpoint, v)
	case checks.DialectAurora:
		return checks.Aurora(r.Endpoint, v)
	case checks.DialectAmsdal:
		return checks.Amsdal(r.Endpoint, v)
	}
	return checks.ReplyNotFound
}

// view is what a renderer needs; the shared state is read only for routes
// whose answer depends on it.
func (p *pluginContext) view(r *checks.Route, query string) *checks.View {
	v := &checks.View{Cfg: p.cfg, State: &checks.State{}, Query: query}
	if needsState(r.Endpoint) {
		v.State, v.Details = p.state(), p.cfg.Details.Allows(peer{})
	}
	return v
}

// wantsHealthJSON: the client asked for the IETF health check format.
func wantsHealthJSON() bool {
	accept, _ := proxywasm.GetHttpRequestHeader("accept")
	return checks.AcceptsHealthJSON(accept)
}
