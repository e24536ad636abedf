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
	waiting bool // paused on an on_request refresh run
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
		h.p.reply(route, checks.ReplyMethodNotAllowed, allowDrain)
	case route.Write:
		h.p.reply(route, h.p.serveDrain(method == "POST"), "")
	case method != "GET" && method != "HEAD":
		h.p.reply(route, checks.ReplyMethodNotAllowed, allowRead)
	case h.p.cfg.Refresh.Mode == checks.RefreshOnRequest && route.Endpoint.WantsFresh() &&
		h.p.refreshOnRequest(waiter{h.id, route, checks.Query(path)}):
		h.waiting = true // answered when the refresh run is done
	default:
		h.p.reply(route, h.p.render(route, checks.Query(path)), "")
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

// render renders a read route; the endpoint table (checks.Answers)
// decides what of the shared state and the request it reads.
func (p *pluginContext) render(r *checks.Route, query string) checks.Reply {
	return p.answers.Render(r, query, (*source)(p))
}

// source is what an answer may read: the shared state, as the protocol
// reads it (checks.Shared's Summary and State), the plugin's counters,
// and the request being answered (its headers, its peer). A pointer, so
// passing it as checks.Source allocates nothing.
type source pluginContext

func (s *source) Summary() checks.Summary          { return s.shared.Summary() }
func (s *source) State() *checks.State             { return s.shared.State() }
func (s *source) Details() bool                    { return s.cfg.Details.Allows(peer{}) }
func (s *source) ProbeCounts() []checks.ProbeCount { return s.stats.probeCounts() }
func (s *source) Now() int64                       { return now().UnixMilli() }

// HealthJSON: the client asked for the IETF health check format.
func (s *source) HealthJSON() bool {
	accept, _ := proxywasm.GetHttpRequestHeader("accept")
	return checks.AcceptsHealthJSON(accept)
}
