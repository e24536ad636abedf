package plugin

import (
	"encoding/binary"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/meshprobe/meshprobe/checks"
)

// Methods a 405 lists in its allow header.
const (
	allowRead  = "GET, HEAD"
	allowDrain = "POST, DELETE"
)

// headerSet is the header list every reply of a content type (and allow
// header) carries, also in the ABI's wire form, both built once instead of
// once per probe: on wasm, serializing a handful of headers cost more than
// everything else meshprobe adds to a liveness probe (BENCHMARKS.md).
type headerSet struct {
	contentType, allow string
	list               [][2]string
	wire               []byte
}

// headerSets hold the sets seen so far. There are a handful, so a scan
// comparing strings beats hashing one (on wasm, by far).
var headerSets []*headerSet

// replyHeaders returns the set for a reply; callers must not change it.
func replyHeaders(contentType, allow string) *headerSet {
	for _, h := range headerSets {
		if h.contentType == contentType && h.allow == allow {
			return h
		}
	}
	list := append([][2]string{{"content-type", contentType}, {"cache-control", "no-store"}},
		checks.Reply{ContentType: contentType}.ExtraHeaders()...)
	if allow != "" {
		list = append(list, [2]string{"allow", allow})
	}
	h := &headerSet{contentType: contentType, allow: allow, list: list, wire: wireHeaders(list)}
	headerSets = append(headerSets, h)
	return h
}

// wireHeaders serializes a header map as proxy_send_local_response reads
// it: the pair count, then each key and value length (u32, little endian),
// then each key and value followed by a NUL.
func wireHeaders(pairs [][2]string) []byte {
	n := 4
	for _, p := range pairs {
		n += 8 + len(p[0]) + 1 + len(p[1]) + 1
	}
	b := make([]byte, 0, n)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(pairs)))
	for _, p := range pairs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p[0])))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p[1])))
	}
	for _, p := range pairs {
		b = append(append(append(append(b, p[0]...), 0), p[1]...), 0)
	}
	return b
}

// reply answers a probe route locally and counts it in the proxy's stats.
// Every reply carries cache-control: no-store so no cache between the
// prober and the proxy replays a stale health state; a 405 names the
// methods allowed. HEAD gets the body too: Envoy sends a HEAD reply the
// headers the body implies (content-type, content-length) and drops the
// body itself, while a reply sent without a body would lose both headers.
func (p *pluginContext) reply(r *checks.Route, rep checks.Reply, allow string) {
	if err := sendLocalResponse(uint32(rep.Status), replyHeaders(rep.ContentType, allow), rep.Body); err != nil {
		proxywasm.LogWarnf("meshprobe: sending local reply: %v", err)
	}
	p.stats.probe(r, rep.Status)
}
