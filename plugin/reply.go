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
	headers := replyHeaders(r.ContentType)
	if len(extra) > 0 {
		headers = append(headers[:len(headers):len(headers)], extra...)
	}
	body := r.Body
	if head {
		body = nil
	}
	if err := proxywasm.SendHttpResponse(uint32(r.Status), headers, body, -1); err != nil {
		proxywasm.LogWarnf("meshprobe: sending local reply: %v", err)
	}
}

// replyHeaders are the headers every reply of a content type carries, built
// once per content type instead of once per probe. There are a handful, so
// a scan comparing strings beats hashing one (on wasm, by far). Callers must
// not change the slice.
func replyHeaders(contentType string) [][2]string {
	for _, h := range headerLists {
		if h[0][1] == contentType {
			return h
		}
	}
	h := append([][2]string{{"content-type", contentType}, {"cache-control", "no-store"}},
		checks.Reply{ContentType: contentType}.ExtraHeaders()...)
	headerLists = append(headerLists, h)
	return h
}

// headerLists hold one list per content type seen, content-type first.
var headerLists [][][2]string

// respond answers a probe route and counts it in the proxy's stats.
func (p *pluginContext) respond(r *checks.Route, rep checks.Reply, head bool, extra ...[2]string) {
	send(rep, head, extra...)
	p.stats.probe(r, rep.Status)
}
