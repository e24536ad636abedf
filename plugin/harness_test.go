package plugin

import (
	"strings"
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	host "github.com/meshprobe/meshprobe/internal/testing/wasmhost"
)

// Every test here runs twice: on the plugin compiled natively, through the
// SDK's proxytest emulator, and on build/meshprobe.wasm. Tests talk to a
// testProxy; each runtime implements it.
type testProxy interface {
	// do sends one request; the filter passes it through or answers it.
	do(method, path string, extra ...[2]string) response
	// begin sends request headers and keeps the stream open (a probe may
	// pause on a callout); the stream's result reads what it got so far.
	begin(method, path string, extra ...[2]string) stream
	tick()
	// advance moves the plugin's clock.
	advance(d time.Duration)
	// callouts lists the dispatched callouts not yet answered.
	callouts() []callout
	respond(id uint32, headers [][2]string, body []byte, trailers [][2]string)
	// fail answers a callout as Envoy does on timeout or reset: no headers.
	fail(id uint32)
	tickPeriod() time.Duration
	// teardown runs OnPluginDone.
	teardown()
	logs() []string
	errorLogs() []string
	// metric reads an Envoy stat the plugin defined (counter or gauge).
	metric(name string) (uint64, bool)
	// shared reads and setShared writes (no CAS) a shared-data entry, as
	// another VM or plugin build in the same proxy would.
	shared(key string) []byte
	setShared(key string, value []byte)
}

type stream interface {
	result() response
	close()
}

type callout struct {
	id       uint32
	cluster  string
	headers  map[string]string
	body     []byte
	trailers [][2]string
}

// response is what a request got: passed through, or answered locally.
type response struct {
	passed bool
	status int
	// headers and body are what the client receives: Envoy derives them
	// from the plugin's reply (see host.ClientReply).
	headers map[string]string
	body    string
	// headerList is the reply's headers in the order the plugin sent them.
	headerList [][2]string
	// reqHeaders are the request headers after the filter (pass-through checks).
	reqHeaders [][2]string
}

// clientReply records a local reply as the client receives it from Envoy.
func (r *response) clientReply(method string, status int, headers [][2]string, body []byte) {
	client, b := host.ClientReply(method, headers, body)
	r.status, r.headers, r.body, r.headerList = status, headerMap(client), string(b), headers
}

// props are host properties, dotted path -> value ("source.address" -> "10.0.0.1:80").
type props map[string]string

type runtime struct {
	name  string
	start func(t *testing.T, config string, p props) (testProxy, bool)
	// effectiveContext: a reply sent after proxy_set_effective_context goes
	// to that stream, as in Envoy. proxytest sends every reply to the stream
	// whose callback is running, so natively only that stream is observed.
	effectiveContext bool
	// refusesUnknownClusters: dispatch to an unknown cluster fails, as in
	// Envoy. proxytest accepts any cluster name.
	refusesUnknownClusters bool
}

func (rt runtime) mustStart(t *testing.T, config string, p props) testProxy {
	t.Helper()
	px, ok := rt.start(t, config, p)
	if !ok {
		t.Fatalf("configuration refused: %v", px.errorLogs())
	}
	return px
}

func bothRuntimes(t *testing.T, f func(t *testing.T, rt runtime)) {
	for _, rt := range []runtime{{"native", startNative, false, false}, {"wasm", startWasm, true, true}} {
		t.Run(rt.name, func(t *testing.T) { f(t, rt) })
	}
}

func headerMap(hs [][2]string) map[string]string {
	m := map[string]string{}
	for _, h := range hs {
		m[h[0]] = h[1]
	}
	return m
}

func requestHeaders(method, path string, extra [][2]string) [][2]string {
	return append([][2]string{{":method", method}, {":path", path}, {":authority", "svc"}, {":scheme", "http"}}, extra...)
}

// --- native: the plugin as Go code in the SDK's proxytest emulator ---

type nativeProxy struct {
	t        *testing.T
	host     proxytest.HostEmulator
	clock    time.Time
	answered map[[2]int]bool // by context and position in the emulator's callout list: it reuses ids
	contexts []uint32        // HTTP contexts begun (on_request probes dispatch from them)
}

var nativeLive bool

// startNative starts one emulator per subtest: it holds a process-wide lock
// until the subtest's cleanup resets it.
func startNative(t *testing.T, config string, p props) (testProxy, bool) {
	t.Helper()
	opt := proxytest.NewEmulatorOption().WithVMContext(NewVMContext()).WithPluginConfiguration([]byte(config)).
		WithProperty([]string{"plugin_name"}, []byte("meshprobe"))
	for k, v := range p {
		opt = opt.WithProperty(strings.Split(k, "."), []byte(v))
	}
	if nativeLive {
		// NewHostEmulator would block forever on the emulator's global lock.
		t.Fatal("a native proxy is already running: start one per subtest (proxytest's emulator is process-wide)")
	}
	nativeLive = true
	host, reset := proxytest.NewHostEmulator(opt)
	px := &nativeProxy{t: t, host: host, clock: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), answered: map[[2]int]bool{}}
	prev := now
	now = func() time.Time { return px.clock }
	t.Cleanup(func() { now = prev; reset(); nativeLive = false })
	if host.StartVM() != types.OnVMStartStatusOK {
		t.Fatal("VM did not start")
	}
	return px, host.StartPlugin() == types.OnPluginStartStatusOK
}

type nativeStream struct {
	px           *nativeProxy
	id           uint32
	action       types.Action
	method, what string
}

func (px *nativeProxy) begin(method, path string, extra ...[2]string) stream {
	id := px.host.InitializeHttpContext()
	px.contexts = append(px.contexts, id)
	action := px.host.CallOnRequestHeaders(id, requestHeaders(method, path, extra), true)
	return &nativeStream{px: px, id: id, action: action, method: method, what: method + " " + path}
}

func (s *nativeStream) result() response {
	h, t := s.px.host, s.px.t
	t.Helper()
	r := response{reqHeaders: h.GetCurrentRequestHeaders(s.id)}
	if lr := h.GetSentLocalResponse(s.id); lr != nil {
		if s.action != types.ActionPause {
			t.Fatalf("%s: local reply sent but the filter returned %v, not Pause", s.what, s.action)
		}
		r.clientReply(s.method, int(lr.StatusCode), lr.Headers, lr.Data)
	} else {
		r.passed = s.action == types.ActionContinue
	}
	return r
}

func (s *nativeStream) close() { s.px.host.CompleteHttpContext(s.id) }

func (px *nativeProxy) do(method, path string, extra ...[2]string) response {
	px.t.Helper()
	return finish(px.t, px.begin(method, path, extra...))
}

// finish reads a stream that must be answered or passed at once, and closes it.
func finish(t *testing.T, s stream) response {
	t.Helper()
	r := s.result()
	if !r.passed && r.status == 0 {
		t.Fatal("the filter neither continued nor answered")
	}
	s.close()
	return r
}

func (px *nativeProxy) tick()                   { px.host.Tick() }
func (px *nativeProxy) advance(d time.Duration) { px.clock = px.clock.Add(d) }
func (px *nativeProxy) tickPeriod() time.Duration {
	return time.Duration(px.host.GetTickPeriod()) * time.Millisecond
}
func (px *nativeProxy) teardown()           { px.host.FinishVM() }
func (px *nativeProxy) errorLogs() []string { return px.host.GetErrorLogs() }

func (px *nativeProxy) logs() []string {
	h := px.host
	var all []string
	for _, l := range [][]string{h.GetTraceLogs(), h.GetDebugLogs(), h.GetInfoLogs(), h.GetWarnLogs(), h.GetErrorLogs(), h.GetCriticalLogs()} {
		all = append(all, l...)
	}
	return all
}

// eachCallout visits every callout of the root and the HTTP contexts.
func (px *nativeProxy) eachCallout(f func(key [2]int, c proxytest.HttpCalloutAttribute) bool) {
	for _, ctx := range append([]uint32{proxytest.PluginContextID}, px.contexts...) {
		for i, c := range px.host.GetCalloutAttributesFromContext(ctx) {
			if !f([2]int{int(ctx), i}, c) {
				return
			}
		}
	}
}

func (px *nativeProxy) callouts() []callout {
	var out []callout
	px.eachCallout(func(k [2]int, c proxytest.HttpCalloutAttribute) bool {
		if !px.answered[k] {
			out = append(out, callout{id: c.CalloutID, cluster: c.Upstream, headers: headerMap(c.Headers), body: c.Body, trailers: c.Trailers})
		}
		return true
	})
	return out
}

func (px *nativeProxy) respond(id uint32, headers [][2]string, body []byte, trailers [][2]string) {
	px.eachCallout(func(k [2]int, c proxytest.HttpCalloutAttribute) bool {
		if !px.answered[k] && c.CalloutID == id {
			px.answered[k] = true
			return false
		}
		return true
	})
	px.host.CallOnHttpCallResponse(id, headers, trailers, body)
}

func (px *nativeProxy) fail(id uint32) { px.respond(id, nil, nil, nil) }

func (px *nativeProxy) shared(key string) []byte {
	v, _, _ := proxywasm.GetSharedData(key)
	return v
}

// The emulator, unlike Envoy, checks a CAS of 0 too: write over the current one.
func (px *nativeProxy) setShared(key string, value []byte) {
	_, cas, _ := proxywasm.GetSharedData(key)
	if err := proxywasm.SetSharedData(key, value, cas); err != nil {
		px.t.Fatalf("setting shared data: %v", err)
	}
}

func (px *nativeProxy) metric(name string) (uint64, bool) {
	if v, err := px.host.GetCounterMetric(name); err == nil {
		return v, true
	}
	v, err := px.host.GetGaugeMetric(name)
	return v, err == nil
}
