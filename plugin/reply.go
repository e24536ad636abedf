package plugin

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/meshprobe/meshprobe/checks"
)

var allowRead = [2]string{"allow", "GET, HEAD"}

// send answers the request locally. Every reply carries cache-control:
// no-store so no cache between the prober and the proxy replays a stale
// health state; HEAD gets the headers without the body.
func send(r checks.Reply, head bool, extra ...[2]string) {
	headers := make([][2]string, 0, 3+len(extra))
	headers = append(headers, [2]string{"content-type", r.ContentType}, [2]string{"cache-control", "no-store"})
	headers = append(append(headers, r.ExtraHeaders()...), extra...)
	body := r.Body
	if head {
		body = nil
	}
	if err := proxywasm.SendHttpResponse(uint32(r.Status), headers, body, -1); err != nil {
		proxywasm.LogWarnf("meshprobe: sending local reply: %v", err)
	}
}

// respond answers a probe route and counts it in the proxy's stats.
func (p *pluginContext) respond(r *checks.Route, rep checks.Reply, head bool, extra ...[2]string) {
	send(rep, head, extra...)
	p.stats.probe(r, rep.Status)
}
