package plugin

import (
	"strings"
	"testing"
	"time"

	"github.com/meshprobe/meshprobe/checks"
	host "github.com/meshprobe/meshprobe/internal/testing/wasmhost"
)

// The wasm runtime runs build/meshprobe.wasm in the project's own proxy-wasm
// host (internal/testing/wasmhost, on wazero) with a test-driven clock. The SDK's
// proxytest.NewWasmVMContext cannot serve here: its wrapper never forwards
// proxy_on_http_call_response into the guest, so no callout could complete.

type wasmProxy struct {
	t     *testing.T
	h     *host.Host
	vm    *host.VM
	clock *host.Clock
}

func startWasm(t *testing.T, config string, p props) (testProxy, bool) {
	t.Helper()
	wasm := host.Plugin(t, "..")
	properties := map[string]string{"plugin_name": "meshprobe"}
	for k, v := range p {
		properties[k] = v
	}
	// Test convention: the host knows every cluster the configuration names
	// except those called "missing-*", which it refuses at dispatch as Envoy does.
	clusters := []string{} // empty, not nil: nil would mean "every cluster known"
	if cfg, err := checks.Parse([]byte(config)); err == nil {
		for _, c := range cfg.Checks {
			if !strings.HasPrefix(c.Cluster, "missing-") {
				clusters = append(clusters, c.Cluster)
			}
		}
	}
	clock := host.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	h := host.Start(t, host.Options{Wasm: wasm, Workers: 1, PluginConfig: []byte(config), Properties: properties, Clock: clock, Clusters: clusters})
	px := &wasmProxy{t: t, h: h, vm: h.VM(0), clock: clock}
	return px, px.vm.Configured()
}

type wasmStream struct {
	t            *testing.T
	s            *host.Stream
	method, what string
}

func (px *wasmProxy) begin(method, path string, extra ...[2]string) stream {
	return &wasmStream{t: px.t, s: px.vm.Request(requestHeaders(method, path, extra)), method: method, what: method + " " + path}
}

func (w *wasmStream) result() response {
	w.t.Helper()
	r := response{reqHeaders: w.s.RequestHeaders()}
	if lr := w.s.Reply(); lr != nil {
		if w.s.Action() != host.ActionPause {
			w.t.Fatalf("%s: local reply sent but the filter returned %d, not Pause", w.what, w.s.Action())
		}
		r.clientReply(w.method, lr.Status, lr.Headers, lr.Body)
	} else {
		r.passed = w.s.Action() == host.ActionContinue
	}
	return r
}

func (w *wasmStream) close() { w.s.Close() }

func (px *wasmProxy) do(method, path string, extra ...[2]string) response {
	px.t.Helper()
	return finish(px.t, px.begin(method, path, extra...))
}

func (px *wasmProxy) tick()                     { px.vm.Tick() }
func (px *wasmProxy) advance(d time.Duration)   { px.clock.Advance(d) }
func (px *wasmProxy) tickPeriod() time.Duration { return px.vm.TickPeriod() }

// teardown ends the plugin on every VM, as Envoy does when its
// configuration is removed or the proxy shuts down.
func (px *wasmProxy) teardown() {
	for _, v := range px.h.VMs() {
		v.Done()
	}
}

func (px *wasmProxy) logs() []string {
	var out []string
	for _, l := range px.vm.Logs() {
		out = append(out, l.Msg)
	}
	return out
}

func (px *wasmProxy) errorLogs() []string {
	var out []string
	for _, l := range px.vm.Logs() {
		if l.Level >= 4 {
			out = append(out, l.Msg)
		}
	}
	return out
}

func (px *wasmProxy) callouts() []callout {
	var out []callout
	for _, c := range px.h.Callouts() {
		out = append(out, callout{id: c.ID, cluster: c.Cluster, headers: headerMap(c.Headers), body: c.Body, trailers: c.Trailers})
	}
	return out
}

func (px *wasmProxy) respond(id uint32, headers [][2]string, body []byte, trailers [][2]string) {
	px.h.Respond(id, headers, body, trailers)
}

func (px *wasmProxy) fail(id uint32) { px.h.Fail(id) }

func (px *wasmProxy) metric(name string) (uint64, bool) { return px.h.Metric(host.StatPrefix + name) }

func (px *wasmProxy) shared(key string) []byte {
	v, _, _ := px.h.SharedData(key)
	return v
}

func (px *wasmProxy) setShared(key string, value []byte) { px.h.SetSharedData(key, value) }
