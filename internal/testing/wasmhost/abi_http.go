package wasmhost

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The hostcalls of an HTTP stream and of callouts: local replies, header
// maps, buffers, resuming, and proxy_http_call.

// proxySendLocalResponse records the reply on the current stream; outside a
// stream it does nothing and succeeds (Context::sendLocalResponse). A second
// reply on one stream is a plugin bug and is reported.
func proxySendLocalResponse(c *call, a []uint64) status {
	details, ok1 := c.readString(a[1], a[2])
	body, ok2 := c.read(uint32(a[3]), uint32(a[4]))
	raw, ok3 := c.read(uint32(a[5]), uint32(a[6]))
	if !ok1 || !ok2 || !ok3 {
		return statusInvalidMemoryAccess
	}
	headers, ok := decodePairs(raw)
	if !ok {
		return statusBadArgument
	}
	for i := range headers {
		headers[i][0] = strings.ToLower(headers[i][0])
	}
	s := c.stream()
	switch {
	case s == nil:
		return statusOK
	case s.reply != nil:
		c.vm.h.fail(fmt.Errorf("host: VM %d stream %d: second proxy_send_local_response (%d after %d)", c.vm.index, s.id, a[0], s.reply.Status))
		return statusOK
	}
	s.reply = &LocalReply{Status: int(uint32(a[0])), Headers: headers, Body: body, Details: details}
	s.settle()
	return statusOK
}

// Header map types (proxy-wasm WasmHeaderMapType).
const (
	mapRequestHeaders      = 0
	mapResponseHeaders     = 2
	mapCallResponseHeaders = 6
	mapCallResponseTrail   = 7
	mapMax                 = 7
)

// headerMap returns the calling context's map of type t, or nil where Envoy
// has none (Context::getMap, getConstMap): a stream's request headers while
// the filter may still see them; a callout's response headers and trailers
// while its callback runs, read-only; the upstream response's headers
// during proxy_on_response_headers. Trailers of the stream are not
// modelled: those maps are absent.
func (c *call) headerMap(t uint64, write bool) *[][2]string {
	switch t {
	case mapRequestHeaders:
		if s := c.stream(); s != nil && (s.headersOpen || s.logging && !write) {
			return &s.headers
		}
	case mapResponseHeaders:
		if s := c.stream(); s != nil && s.respOpen {
			return &s.respHeaders
		}
	case mapCallResponseHeaders, mapCallResponseTrail:
		if r := c.vm.response; r != nil && !write {
			if t == mapCallResponseHeaders {
				return &r.headers
			}
			return &r.trailers
		}
	}
	return nil
}

// proxyGetHeaderMapPairs: an absent or empty map reads as no data, not an
// error (Context::getHeaderMapPairs, exports.cc getPairs).
func proxyGetHeaderMapPairs(c *call, a []uint64) status {
	if a[0] > mapMax {
		return statusBadArgument
	}
	var data []byte
	if m := c.headerMap(a[0], false); m != nil && len(*m) > 0 {
		data = encodePairs(*m)
	}
	if !copyOut(c.guest, data, uint32(a[1]), uint32(a[2])) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// proxySetHeaderMapPairs replaces the whole map, keys lower-cased
// (Context::setHeaderMapPairs).
func proxySetHeaderMapPairs(c *call, a []uint64) status {
	raw, ok := c.read(uint32(a[1]), uint32(a[2]))
	if !ok {
		return statusInvalidMemoryAccess
	}
	pairs, ok := decodePairs(raw)
	m := c.headerMap(a[0], true)
	if m == nil || !ok {
		return statusBadArgument
	}
	for i := range pairs {
		pairs[i][0] = strings.ToLower(pairs[i][0])
	}
	*m = pairs
	return statusOK
}

// proxyGetHeaderMapValue returns the first value of a header, matched
// case-insensitively; NotFound if absent, BadArgument without a map
// (Context::getHeaderMapValue).
func proxyGetHeaderMapValue(c *call, a []uint64) status {
	key, ok := c.readString(a[1], a[2])
	if !ok {
		return statusInvalidMemoryAccess
	}
	m := c.headerMap(a[0], false)
	if m == nil {
		return statusBadArgument
	}
	i := slices.IndexFunc(*m, func(p [2]string) bool { return strings.EqualFold(p[0], key) })
	if i < 0 {
		return statusNotFound
	}
	if !copyOut(c.guest, (*m)[i][1], uint32(a[3]), uint32(a[4])) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// proxyAddHeaderMapValue appends a header (Context::addHeaderMapValue).
func proxyAddHeaderMapValue(c *call, a []uint64) status {
	return editHeader(c, a, func(m *[][2]string, key, value string) {
		*m = append(*m, [2]string{key, value})
	})
}

// proxyReplaceHeaderMapValue removes every value of the header and appends
// the new one (Context::replaceHeaderMapValue, HeaderMap::setCopy).
func proxyReplaceHeaderMapValue(c *call, a []uint64) status {
	return editHeader(c, a, func(m *[][2]string, key, value string) {
		removeHeader(m, key)
		*m = append(*m, [2]string{key, value})
	})
}

// proxyRemoveHeaderMapValue removes every value of the header
// (Context::removeHeaderMapValue).
func proxyRemoveHeaderMapValue(c *call, a []uint64) status {
	key, ok := c.readString(a[1], a[2])
	if !ok {
		return statusInvalidMemoryAccess
	}
	m := c.headerMap(a[0], true)
	if m == nil {
		return statusBadArgument
	}
	removeHeader(m, key)
	return statusOK
}

func editHeader(c *call, a []uint64, edit func(m *[][2]string, key, value string)) status {
	key, ok1 := c.readString(a[1], a[2])
	value, ok2 := c.readString(a[3], a[4])
	if !ok1 || !ok2 {
		return statusInvalidMemoryAccess
	}
	m := c.headerMap(a[0], true)
	if m == nil {
		return statusBadArgument
	}
	edit(m, strings.ToLower(key), value)
	return statusOK
}

func removeHeader(m *[][2]string, key string) {
	*m = slices.DeleteFunc(*m, func(p [2]string) bool { return strings.EqualFold(p[0], key) })
}

// Buffer types (proxy-wasm WasmBufferType).
const (
	bufferCallResponseBody = 4
	bufferVMConfiguration  = 6
	bufferPluginConfig     = 7
	bufferMax              = 8
)

// buffer returns the buffer of type t for the calling context (Context::getBuffer).
// Request and response bodies are not modelled: those buffers are absent.
func (c *call) buffer(t uint64) ([]byte, bool) {
	v := c.vm
	switch t {
	case bufferVMConfiguration:
		return v.h.opts.VMConfig, true
	case bufferPluginConfig:
		return v.config, v.starting
	case bufferCallResponseBody:
		if v.response != nil {
			return v.response.body, true
		}
	}
	return nil, false
}

// proxyGetBufferBytes copies at most max bytes from start; an empty slice
// succeeds without writing anything (exports.cc get_buffer_bytes).
func proxyGetBufferBytes(c *call, a []uint64) status {
	if a[0] > bufferMax {
		return statusBadArgument
	}
	buf, ok := c.buffer(a[0])
	if !ok {
		return statusNotFound
	}
	start, length := uint64(uint32(a[1])), uint64(uint32(a[2]))
	if start > uint64(len(buf)) {
		return statusBadArgument
	}
	length = min(length, uint64(len(buf))-start)
	if length == 0 {
		return statusOK
	}
	if !copyOut(c.guest, buf[start:start+length], uint32(a[3]), uint32(a[4])) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// proxyContinueStream resumes a paused stream; either direction ends the
// filter's access to the request headers (Context::continueStream).
func proxyContinueStream(c *call, a []uint64) status {
	if a[0] > 1 { // downstream, upstream: not an HTTP stream's
		return statusBadArgument
	}
	if s := c.stream(); s != nil {
		s.headersOpen = false
		if a[0] == 0 {
			s.resumed = true
			s.settle()
		}
	}
	return statusOK
}

// proxyHTTPCall records a callout for the test to answer. As Envoy
// (Context::httpCall): an unknown cluster, a negative timeout or headers
// without :method, :path and :authority are BadArgument; the call belongs
// to the root context whatever context made it.
func proxyHTTPCall(c *call, a []uint64) status {
	cluster, ok1 := c.readString(a[0], a[1])
	rawHeaders, ok2 := c.read(uint32(a[2]), uint32(a[3]))
	body, ok3 := c.read(uint32(a[4]), uint32(a[5]))
	rawTrailers, ok4 := c.read(uint32(a[6]), uint32(a[7]))
	tokenPtr := uint32(a[9])
	if !ok1 || !ok2 || !ok3 || !ok4 || !c.putU32(tokenPtr, 0) {
		return statusInvalidMemoryAccess
	}
	headers, ok5 := decodePairs(rawHeaders)
	trailers, ok6 := decodePairs(rawTrailers)
	timeout := int32(uint32(a[8]))
	if !ok5 || !ok6 || timeout < 0 || !c.vm.h.knownCluster(cluster) {
		return statusBadArgument
	}
	if up, ok := c.vm.h.opts.Upstreams[cluster]; ok && up.Addr == "" {
		// Envoy: with no healthy host the router answers 503 inline, inside
		// the async client's send, which then returns no request; the call
		// fails at dispatch and no callback ever comes.
		return statusInternalFailure
	}
	for _, want := range []string{":method", ":path", ":authority"} {
		if !slices.ContainsFunc(headers, func(p [2]string) bool { return strings.EqualFold(p[0], want) }) {
			return statusBadArgument
		}
	}
	id := c.vm.h.addCallout(Callout{
		VM: c.vm.index, ContextID: c.contextID(), Cluster: cluster,
		Headers: headers, Body: body, Trailers: trailers,
		Timeout: time.Duration(timeout) * time.Millisecond,
	})
	c.putU32(tokenPtr, id)
	return statusOK
}
