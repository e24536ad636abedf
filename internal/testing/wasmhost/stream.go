package wasmhost

import (
	"fmt"
	"maps"
	"slices"
)

// Proxy-wasm filter actions.
const (
	ActionContinue = 0
	ActionPause    = 1
)

// Stream is one HTTP request through the filter: an HTTP context on a VM.
type Stream struct {
	vm    *VM
	id    uint32
	props map[string]string // request-scoped properties, over the Host's

	// Guarded by vm.mu.
	headers [][2]string
	// headersOpen: the plugin may read and change the request headers. As
	// in Envoy, only during proxy_on_request_headers and while the stream
	// stays paused after it (Context::decodeHeaders, continueStream).
	headersOpen bool
	logging     bool // in proxy_on_log: headers readable (access-log phase)
	action      uint32
	reply       *LocalReply
	resumed     bool
	closed      bool
	// settled is closed once the stream has a local reply or was resumed.
	settled     chan struct{}
	settledOnce bool
	// respHeaders are the upstream response's headers, open to the plugin
	// during proxy_on_response_headers (Envoy's encodeHeaders).
	respHeaders [][2]string
	respOpen    bool
}

// settle marks the stream decided (v.mu held).
func (s *Stream) settle() {
	if !s.settledOnce {
		s.settledOnce = true
		close(s.settled)
	}
}

// LocalReply is a response the plugin sent with proxy_send_local_response.
type LocalReply struct {
	Status  int
	Headers [][2]string // the plugin's additional headers, keys lower-cased as Envoy does
	Body    []byte
	Details string // response code details
}

// Request starts an HTTP stream: proxy_on_context_create(id, root), then
// proxy_on_request_headers(id, len(headers), endOfStream=true).
func (v *VM) Request(headers [][2]string) *Stream { return v.RequestWithProperties(headers, nil) }

// RequestWithProperties is Request with request-scoped properties (dotted
// paths, as Options.Properties) that override the Host's for this stream,
// e.g. {"source.address": "10.0.0.7:51000"}.
func (v *VM) RequestWithProperties(headers [][2]string, props map[string]string) *Stream {
	return v.open(headers, props, true)
}

// open starts a stream; endOfStream is false when a body follows, as Envoy
// passes it to proxy_on_request_headers.
func (v *VM) open(headers [][2]string, props map[string]string, endOfStream bool) *Stream {
	s := &Stream{vm: v, id: v.h.newContextID(), props: maps.Clone(props), headers: clonePairs(headers), headersOpen: true, settled: make(chan struct{})}
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.configured { // Envoy never installs a filter whose configuration failed
		v.h.fail(fmt.Errorf("host: VM %d: request on a VM whose plugin is not configured", v.index))
		s.closed = true
		s.settle()
		return s
	}
	v.streams[s.id] = s
	if _, err := v.call(s.id, "proxy_on_context_create", uint64(s.id), uint64(v.root)); err != nil {
		s.settle()
		return s
	}
	eos := uint64(0)
	if endOfStream {
		eos = 1
	}
	a, err := v.call(s.id, "proxy_on_request_headers", uint64(s.id), uint64(len(headers)), eos)
	s.action = uint32(a)
	if err != nil || s.action == ActionContinue {
		s.headersOpen = s.headersOpen && err != nil
		s.settle()
	}
	return s
}

// ID is the stream's context id.
func (s *Stream) ID() uint32 { return s.id }

// Action is what proxy_on_request_headers returned (ActionContinue, ActionPause).
func (s *Stream) Action() uint32 {
	s.vm.mu.Lock()
	defer s.vm.mu.Unlock()
	return s.action
}

// Reply is the local reply the plugin sent on this stream, nil until it
// does (possibly later, from a callout callback).
func (s *Stream) Reply() *LocalReply {
	s.vm.mu.Lock()
	defer s.vm.mu.Unlock()
	if s.reply == nil {
		return nil
	}
	r := *s.reply
	r.Headers, r.Body = clonePairs(r.Headers), slices.Clone(r.Body)
	return &r
}

// Resumed reports whether the plugin called proxy_continue_stream(Request)
// for this stream.
func (s *Stream) Resumed() bool {
	s.vm.mu.Lock()
	defer s.vm.mu.Unlock()
	return s.resumed
}

// RequestHeaders returns the request headers as the plugin left them.
func (s *Stream) RequestHeaders() [][2]string {
	s.vm.mu.Lock()
	defer s.vm.mu.Unlock()
	return clonePairs(s.headers)
}

// Close ends the stream as Envoy does (doDeferredStreamDestroy): the access
// log, proxy_on_log(id), then the filter's destruction (Context::onDestroy),
// proxy_on_done(id) and proxy_on_delete(id). Closing twice does nothing.
// Callouts the stream dispatched stay pending: they belong to the root
// context, and the SDK drops their responses once the stream is gone.
func (s *Stream) Close() {
	v := s.vm
	v.mu.Lock()
	defer v.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	id := uint64(s.id)
	s.logging = true
	_, err := v.call(s.id, "proxy_on_log", id)
	s.logging = false
	if err == nil {
		_, err = v.call(s.id, "proxy_on_done", id)
	}
	if err == nil {
		v.call(s.id, "proxy_on_delete", id)
	}
	delete(v.streams, s.id)
}
