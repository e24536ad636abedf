package plugin

// Native benchmarks: the plugin as Go code in the SDK's proxytest emulator,
// with allocations per request. Each figure sits next to a native floor (the
// same filters as e2e/testdata/floor-*), because the emulator allocates on
// its own (it clones the request headers and copies every header value it
// returns): what the plugin adds is its figure minus the floor's. The wasm
// figures are in e2e/bench_test.go; `make bench` runs both (cmd/benchtable).

import (
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/meshprobe/meshprobe/internal/testing/benchdata"
)

// Native twins of e2e/testdata/floor-continue and floor-reply.
type (
	benchFloorVM     struct{ types.DefaultVMContext }
	benchFloorPlugin struct{ types.DefaultPluginContext }
	benchFloorHTTP   struct {
		types.DefaultHttpContext
		reply bool
	}
)

var (
	benchFloorHeaders = [][2]string{{"content-type", "application/json"}, {"cache-control", "no-store"}}
	benchFloorBody    = []byte(`{"status":"up"}`)
	// Shared by every stream: the floors keep no per-stream state.
	benchFloorContinue = &benchFloorHTTP{}
	benchFloorReply    = &benchFloorHTTP{reply: true}
	benchFloorReplies  bool // which of the two the floor plugin hands out
)

func (*benchFloorVM) NewPluginContext(uint32) types.PluginContext { return &benchFloorPlugin{} }
func (*benchFloorPlugin) NewHttpContext(uint32) types.HttpContext {
	if benchFloorReplies {
		return benchFloorReply
	}
	return benchFloorContinue
}

func (f *benchFloorHTTP) OnHttpRequestHeaders(int, bool) types.Action {
	path, _ := proxywasm.GetHttpRequestHeader(":path")
	_ = path
	if !f.reply {
		return types.ActionContinue
	}
	if err := proxywasm.SendHttpResponse(200, benchFloorHeaders, benchFloorBody, -1); err != nil {
		proxywasm.LogWarnf("floor-reply: %v", err)
	}
	return types.ActionPause
}

var ()

// benchNative starts the emulator with a fresh VM context and config, and,
// with checks > 0, warms it: one tick, every callout answered as a healthy
// dependency, so the shared state is up with a result for every check.
// source, if set, is the source.address every request has (proxytest has
// no per-request properties). The emulator holds proxytest's process-wide
// lock until stop.
func benchNative(b *testing.B, vm func() types.VMContext, config, source string, checks int) (host proxytest.HostEmulator, stop func()) {
	b.Helper()
	if nativeLive {
		b.Fatal("a native proxy is already running")
	}
	opt := proxytest.NewEmulatorOption().WithVMContext(vm()).WithPluginConfiguration([]byte(config)).
		WithProperty([]string{"plugin_name"}, []byte("meshprobe"))
	if source != "" {
		opt = opt.WithProperty([]string{"source", "address"}, []byte(source))
	}
	nativeLive = true
	log.SetOutput(io.Discard) // proxytest logs every proxy_log line, in the middle of the results
	host, reset := proxytest.NewHostEmulator(opt)
	prev := now
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now = func() time.Time { return clock }
	stop = func() { now = prev; reset(); nativeLive = false; log.SetOutput(os.Stderr) }
	if host.StartVM() != types.OnVMStartStatusOK || host.StartPlugin() != types.OnPluginStartStatusOK {
		stop()
		b.Fatalf("plugin did not start: %v", host.GetErrorLogs())
	}
	if checks == 0 {
		return host, stop
	}
	host.Tick()
	cs := host.GetCalloutAttributesFromContext(proxytest.PluginContextID)
	if len(cs) != checks {
		stop()
		b.Fatalf("first tick dispatched %d callouts, want %d", len(cs), checks)
	}
	for _, c := range cs {
		host.CallOnHttpCallResponse(c.CalloutID, [][2]string{{":status", "200"}, {"content-type", "application/json"}}, nil, []byte(`{"status":"UP"}`))
	}
	return host, stop
}

// benchNativeBatch bounds the streams one emulator sees: proxytest keeps
// every stream's state, so a long run would measure a growing heap.
const benchNativeBatch = 50_000

// benchNativeRun checks one request's result, then times full stream
// lifecycles (context create, request headers, log, delete), restarting
// the emulator (untimed) every benchNativeBatch requests.
func benchNativeRun(b *testing.B, start func() (proxytest.HostEmulator, func()), headers [][2]string, status int, bodyPrefix string) {
	b.Helper()
	host, stop := start()
	defer func() { stop() }()
	id := host.InitializeHttpContext()
	action := host.CallOnRequestHeaders(id, headers, true)
	lr := host.GetSentLocalResponse(id)
	switch {
	case status == 0 && (lr != nil || action != types.ActionContinue):
		b.Fatalf("%v: want pass-through, got %v %v", headers[1], action, lr)
	case status == 0:
	case lr == nil:
		b.Fatalf("%v: no local reply (%v)", headers[1], action)
	case int(lr.StatusCode) != status || !strings.HasPrefix(string(lr.Data), bodyPrefix):
		b.Fatalf("%v: got %d %.120q, want %d %q...", headers[1], lr.StatusCode, lr.Data, status, bodyPrefix)
	}
	host.CompleteHttpContext(id)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if n++; n > benchNativeBatch {
			b.StopTimer()
			stop()
			host, stop = start()
			n = 1
			b.StartTimer()
		}
		id := host.InitializeHttpContext()
		host.CallOnRequestHeaders(id, headers, true)
		host.CompleteHttpContext(id)
	}
}

// BenchmarkNative: the same figures as e2e's BenchmarkWasm, natively.
func BenchmarkNative(b *testing.B) {
	floor := func(reply bool) func() types.VMContext {
		return func() types.VMContext { benchFloorReplies = reply; return &benchFloorVM{} }
	}
	plugin := func(b *testing.B, checks int, source string) func() (proxytest.HostEmulator, func()) {
		return func() (proxytest.HostEmulator, func()) {
			return benchNative(b, NewVMContext, benchdata.Config(checks), source, checks)
		}
	}
	b.Run("floor-continue", func(b *testing.B) {
		benchNativeRun(b, func() (proxytest.HostEmulator, func()) { return benchNative(b, floor(false), "", "", 0) }, benchdata.APIHeaders, 0, "")
	})
	b.Run("passthrough", func(b *testing.B) {
		benchNativeRun(b, plugin(b, 10, ""), benchdata.APIHeaders, 0, "")
	})
	live := benchdata.ProbeHeaders("/health/probes/liveness")
	b.Run("floor-reply", func(b *testing.B) {
		benchNativeRun(b, func() (proxytest.HostEmulator, func()) { return benchNative(b, floor(true), "", "", 0) }, live, 200, `{"status":"up"}`)
	})
	b.Run("liveness", func(b *testing.B) {
		benchNativeRun(b, plugin(b, 10, ""), live, 200, `{"status":"up"}`)
	})
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("readiness/checks=%d", n), func(b *testing.B) {
			benchNativeRun(b, plugin(b, n, ""), benchdata.ProbeHeaders("/health/probes/readiness"), 200, `{"status":"up"}`)
		})
	}
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("dependencies/checks=%d", n), func(b *testing.B) {
			benchNativeRun(b, plugin(b, n, ""), benchdata.ProbeHeaders("/health/dependencies"), 200,
				`{"status":"up","dependencies":{"dep00":{"name":"dep00","type":"hard","status":"up"}`)
		})
	}
	b.Run("dependencies-details/checks=50", func(b *testing.B) {
		benchNativeRun(b, plugin(b, 50, "127.0.0.1:40000"), benchdata.ProbeHeaders("/health/dependencies"), 200,
			`{"status":"up","dependencies":{"dep00":{"name":"dep00","type":"hard","status":"up","kind":"http","latency_ms":`)
	})
	b.Run("metrics/checks=50", func(b *testing.B) {
		benchNativeRun(b, plugin(b, 50, "127.0.0.1:40000"), benchdata.ProbeHeaders("/health/metrics"), 200, "# HELP")
	})
}
