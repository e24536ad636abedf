package e2e

// Benchmarks of the compiled plugin on wazero, through internal/testing/wasmhost, each paired
// with a floor: a plugin built the same way with the same SDK that does the
// least a Go filter can do for that kind of request (e2e/testdata/floor-*).
// Absolute figures depend on the machine and on the host's own cost per
// call; the ratios to the floors are the point. Every request is the full
// stream lifecycle the host gives, as Envoy drives it: context create and
// request headers (Request), then access log, done and delete (Close).
// `make bench` runs these and writes BENCHMARKS.md (cmd/benchtable).

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshprobe/meshprobe/checks"
	"github.com/meshprobe/meshprobe/internal/testing/benchdata"
	"github.com/meshprobe/meshprobe/internal/testing/dialectcases"
	"github.com/meshprobe/meshprobe/internal/testing/wasmhost"
)

// benchFile reads a built .wasm: from the environment variable env, else
// build/<name>.wasm. A missing file fails the benchmark with how to build it.
func benchFile(b *testing.B, env, name, pkg string) []byte {
	b.Helper()
	path := os.Getenv(env)
	if path == "" {
		path = filepath.Join("..", "build", name+".wasm")
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		b.Fatalf("cannot read %s (%v): build it with\n\tGOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags='-s -w' -o build/%s.wasm %s\nor run `make bench`, or set %s", name, err, name, pkg, env)
	}
	return bin
}

func benchPlugin(b *testing.B) []byte {
	return benchFile(b, "MESHPROBE_WASM", "meshprobe", ".")
}
func benchFloorContinue(b *testing.B) []byte {
	return benchFile(b, "MESHPROBE_FLOOR_CONTINUE", "floor-continue", "./e2e/testdata/floor-continue")
}
func benchFloorReply(b *testing.B) []byte {
	return benchFile(b, "MESHPROBE_FLOOR_REPLY", "floor-reply", "./e2e/testdata/floor-reply")
}

// Request headers as Envoy hands them to the filter: an API call through
// the sidecar, and a kubelet probe.
var (
	benchLoopback = map[string]string{"source.address": "127.0.0.1:40000"}
)

var benchClockStart = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// benchHost starts one worker VM (Workers: 1; the host's default is two)
// with a test clock and, as in Envoy, no bound on a guest call (see
// wasmhost.Options.Unbounded); a host error fails the benchmark.
func benchHost(b *testing.B, wasm []byte, config string) (*wasmhost.Host, *wasmhost.Clock) {
	b.Helper()
	clock := wasmhost.NewClock(benchClockStart)
	h := wasmhost.Start(b, wasmhost.Options{Wasm: wasm, PluginConfig: []byte(config), Clock: clock, Workers: 1, Unbounded: true,
		Properties: map[string]string{"plugin_name": "meshprobe"}})
	h.RequireConfigured(b)
	return h, clock
}

// benchRespondUp answers every pending callout as a healthy dependency.
func benchRespondUp(h *wasmhost.Host) int {
	n := 0
	for _, c := range h.Callouts() {
		h.Respond(c.ID, [][2]string{{":status", "200"}, {"content-type", "application/json"}}, []byte(`{"status":"UP"}`), nil)
		n++
	}
	return n
}

// benchWarm ticks once and answers every check, so the shared state is up
// with a result (latency, time, message) for every check.
func benchWarm(b *testing.B, h *wasmhost.Host, checks int) {
	b.Helper()
	h.VM(0).Tick()
	if n := benchRespondUp(h); n != checks {
		b.Fatalf("first tick dispatched %d callouts, want %d", n, checks)
	}
}

// benchExpect sends one request and checks what it got, before timing.
func benchExpect(b *testing.B, vm *wasmhost.VM, headers [][2]string, props map[string]string, status int, bodyPrefix string) {
	b.Helper()
	s := vm.RequestWithProperties(headers, props)
	defer s.Close()
	r := s.Reply()
	switch {
	case status == 0 && (r != nil || s.Action() != wasmhost.ActionContinue):
		b.Fatalf("%v: want pass-through, got action %d reply %v", headers[1], s.Action(), r)
	case status == 0:
	case r == nil:
		b.Fatalf("%v: no local reply (action %d)", headers[1], s.Action())
	case r.Status != status || !strings.HasPrefix(string(r.Body), bodyPrefix):
		b.Fatalf("%v: got %d %.120q, want %d %q...", headers[1], r.Status, r.Body, status, bodyPrefix)
	case !slices.Contains(r.Headers, [2]string{"cache-control", "no-store"}):
		b.Fatalf("%v: reply headers %q lack cache-control: no-store", headers[1], r.Headers)
	}
}

// benchTarget is one kind of request to one VM.
type benchTarget struct {
	vm      *wasmhost.VM
	headers [][2]string
	props   map[string]string
}

// do is one whole request lifecycle.
func (t benchTarget) do() { t.vm.RequestWithProperties(t.headers, t.props).Close() }

// Requests alternate between the subject and its floor in blocks of up to
// benchBlock requests or benchBlockTime, whichever ends first, so that both
// run under the same conditions; the figures are medians over blocks, so
// that a block in which the scheduler gave the CPU to another process (a
// busy two-CPU machine does that every few milliseconds) does not count.
const (
	benchBlock     = 16
	benchBlockTime = time.Millisecond
)

// benchPaired times requests of subject and floor (each call one request)
// in alternating blocks. It reports ns/req and floor-ns/req (median over
// blocks of the mean time per request) and x-floor (median over adjacent
// pairs of blocks of their ratio). The framework's ns/op, a mean over both
// kinds, is not used.
func benchPaired(b *testing.B, subject, floor func()) {
	targets := [2]func(){subject, floor}
	var perReq [2][]float64 // per block: ns per request
	var ratios []float64    // per pair of blocks: subject / floor
	side, inBlock := 0, 0
	start := time.Now()
	for b.Loop() {
		targets[side]()
		if inBlock++; inBlock == benchBlock || time.Since(start) >= benchBlockTime {
			now := time.Now()
			perReq[side] = append(perReq[side], float64(now.Sub(start).Nanoseconds())/float64(inBlock))
			if side == 1 {
				ratios = append(ratios, perReq[0][len(perReq[0])-1]/perReq[1][len(perReq[1])-1])
			}
			start, side, inBlock = now, side^1, 0
		}
	}
	if len(ratios) == 0 {
		return // too few requests for one pair of blocks (b.N == 1)
	}
	b.ReportMetric(benchdata.Median(perReq[0]), "ns/req")
	b.ReportMetric(benchdata.Median(perReq[1]), "floor-ns/req")
	b.ReportMetric(benchdata.Median(ratios), "x-floor")
}

// BenchmarkWasm: ns per request of the compiled plugin, each paired with
// its floor (see benchPaired). Names: passthrough (vs floor-continue);
// liveness, readiness/checks=N and dependencies/checks=N (N checks, state
// up), dependencies-details/checks=50 (a loopback client: per-check
// details) and metrics/checks=50 (vs floor-reply); liveness and readiness
// /toolchain-module (vs the Go toolchain's own module). No name ends in
// -digits, so the -GOMAXPROCS suffix go test appends is unambiguous.
func BenchmarkWasm(b *testing.B) {
	b.Run("passthrough", func(b *testing.B) {
		h, _ := benchHost(b, benchPlugin(b), benchdata.Config(10))
		benchWarm(b, h, 10)
		floor, _ := benchHost(b, benchFloorContinue(b), "")
		benchExpect(b, h.VM(0), benchdata.APIHeaders, nil, 0, "")
		benchExpect(b, floor.VM(0), benchdata.APIHeaders, nil, 0, "")
		benchPaired(b, benchTarget{h.VM(0), benchdata.APIHeaders, nil}.do, benchTarget{floor.VM(0), benchdata.APIHeaders, nil}.do)
	})
	// probe starts the plugin with n checks, all up, and pairs requests for
	// path with the local-reply floor (configured with floorConfig).
	probe := func(name string, n int, path string, props map[string]string, status int, bodyPrefix, floorConfig string) {
		b.Run(name, func(b *testing.B) {
			h, _ := benchHost(b, benchPlugin(b), benchdata.Config(n))
			benchWarm(b, h, n)
			floor, _ := benchHost(b, benchFloorReply(b), floorConfig)
			headers := benchdata.ProbeHeaders(path)
			benchExpect(b, h.VM(0), headers, props, status, bodyPrefix)
			benchExpect(b, floor.VM(0), headers, props, 200, `{"status":"up"}`)
			benchPaired(b, benchTarget{h.VM(0), headers, props}.do, benchTarget{floor.VM(0), headers, props}.do)
		})
	}
	// What bounds liveness: DESIGN answers 405 to methods other than GET and
	// HEAD, so every read route reads ":method" too; method-floor pairs the
	// floor doing that with the plain floor. meshprobe sends its replies with
	// headers serialized once, which the plain floor does through the SDK on
	// every call; raw-floor pairs a floor saving that with the plain floor.
	// liveness/method-raw-floor pairs meshprobe with a floor doing both: what
	// meshprobe adds to the least a liveness answer must do.
	for _, f := range []struct{ name, config string }{{"method-floor", "method"}, {"raw-floor", "raw"}} {
		b.Run(f.name, func(b *testing.B) {
			headers := benchdata.ProbeHeaders("/health/probes/liveness")
			variant, _ := benchHost(b, benchFloorReply(b), f.config)
			floor, _ := benchHost(b, benchFloorReply(b), "")
			benchExpect(b, variant.VM(0), headers, nil, 200, `{"status":"up"}`)
			benchPaired(b, benchTarget{variant.VM(0), headers, nil}.do, benchTarget{floor.VM(0), headers, nil}.do)
		})
	}
	probe("liveness/method-raw-floor", 10, "/health/probes/liveness", nil, 200, `{"status":"up"}`, "method,raw")
	probe("liveness", 10, "/health/probes/liveness", nil, 200, `{"status":"up"}`, "")
	// What providing poll_oneoff inside the module (cmd/wasmshim) costs: the
	// shipped module against the Go toolchain's own output (wazero answers
	// poll_oneoff itself, so both run). BenchmarkEnvoyPollShim does it in Envoy.
	for _, k := range []struct{ name, path string }{{"liveness", "/health/probes/liveness"}, {"readiness", "/health/probes/readiness"}} {
		b.Run(k.name+"/toolchain-module", func(b *testing.B) {
			headers := benchdata.ProbeHeaders(k.path)
			shipped, _ := benchHost(b, benchPlugin(b), benchdata.Config(10))
			benchWarm(b, shipped, 10)
			toolchain, _ := benchHost(b, benchFile(b, "MESHPROBE_TOOLCHAIN_WASM", "meshprobe.go", "."), benchdata.Config(10))
			benchWarm(b, toolchain, 10)
			benchExpect(b, shipped.VM(0), headers, nil, 200, `{"status":"up"}`)
			benchExpect(b, toolchain.VM(0), headers, nil, 200, `{"status":"up"}`)
			benchPaired(b, benchTarget{shipped.VM(0), headers, nil}.do, benchTarget{toolchain.VM(0), headers, nil}.do)
		})
	}
	for _, n := range []int{1, 10, 50} {
		probe(fmt.Sprintf("readiness/checks=%d", n), n, "/health/probes/readiness", nil, 200, `{"status":"up"}`, "")
	}
	for _, n := range []int{1, 10, 50} {
		probe(fmt.Sprintf("dependencies/checks=%d", n), n, "/health/dependencies", nil, 200,
			`{"status":"up","dependencies":{"dep00":{"name":"dep00","type":"hard","status":"up"}`, "")
	}
	probe("dependencies-details/checks=50", 50, "/health/dependencies", benchLoopback, 200,
		`{"status":"up","dependencies":{"dep00":{"name":"dep00","type":"hard","status":"up","kind":"http","latency_ms":`, "")
	probe("metrics/checks=50", 50, "/health/metrics", benchLoopback, 200, "# HELP", "")
	probe("status-details/checks=200", 200, "/health/status", benchLoopback, 200, "<!DOCTYPE html>", "")
}

// BenchmarkWasmInstantiate: wasmhost.New with one worker VM (compilation cache
// warm: the first instance is made before timing), which runs _initialize,
// vm_start and configure; then Close. It also reports the module's size and
// the linear memory after start.
func BenchmarkWasmInstantiate(b *testing.B) {
	for _, m := range []struct {
		name   string
		wasm   func(*testing.B) []byte
		config string
	}{
		{"meshprobe/checks=10", benchPlugin, benchdata.Config(10)},
		{"floor-continue", benchFloorContinue, ""},
	} {
		b.Run(m.name, func(b *testing.B) {
			wasm := m.wasm(b)
			h, _ := benchHost(b, wasm, m.config) // warms the compilation cache
			mem := h.VM(0).MemoryBytes()
			b.ReportAllocs()
			for b.Loop() {
				h, err := wasmhost.New(context.Background(), wasmhost.Options{Wasm: wasm, PluginConfig: []byte(m.config), Workers: 1, Unbounded: true,
					Properties: map[string]string{"plugin_name": "meshprobe"}})
				if err != nil {
					b.Fatal(err)
				}
				h.Close()
			}
			b.ReportMetric(float64(len(wasm)), "wasm-bytes")
			b.ReportMetric(float64(mem), "mem-bytes")
		})
	}
}

// BenchmarkSoak is a memory soak, not a speed figure: one VM serves b.N
// requests (make bench runs it with -benchtime 2000000x). Each request is
// the next of a cycle of pass-through traffic and cheap probes of the main
// set's dialects (internal/dialectcases; GET, HEAD, a 405); every 100 requests the clock moves one tick,
// the VM ticks, the callouts due are answered (healthy, 500, a body that
// fails the JSON expectation, a grpc SERVING answer with trailers, or a
// failure as on a timeout), so checks flip and messages change, and one
// request of the expensive kind is sent (/metrics, /info, details,
// health+json, verbose; drain on and off now and then), as a scraper and an
// operator would. It reports linear memory after start, after b.N/10
// requests and after b.N: a wasm memory never shrinks, so the last two are
// equal unless the guest kept growing.
func BenchmarkSoak(b *testing.B) {
	config := `{"service":{"name":"checkout","version":"1.4.2"},
 "dialects":[` + dialectcases.Main.Dialects + `],
 "refresh":{"interval":"1s","jitter":"10%"},
 "details":{"allow_cidrs":["127.0.0.0/8"]},
 "drain":{"enabled":true},
 "checks":[
  {"name":"app","kind":"http","cluster":"inbound|8080||","path":"/actuator/health","expect":{"json":{"status":"UP"}},"observe":"latency"},
  {"name":"db","kind":"http","cluster":"outbound|5432||db","type":"soft","group":"sql","failure_threshold":1},
  {"name":"cache","kind":"http","cluster":"outbound|6379||cache","type":"soft","failure_threshold":2},
  {"name":"hsm","kind":"hsm","cluster":"hsm-gateway","path":"/v1/status","failure_threshold":1},
  {"name":"ledger","kind":"grpc","cluster":"outbound|50051||ledger","grpc_service":"ledger.v1.Ledger"},
  {"name":"search","kind":"http","cluster":"outbound|9200||search","interval":"2s"},
  {"name":"queue","kind":"http","cluster":"outbound|5672||queue","type":"soft","success_threshold":2},
  {"name":"auth","kind":"http","cluster":"outbound|8081||auth","failure_threshold":1}]}`
	h, clock := benchHost(b, benchPlugin(b), config)
	vm := h.VM(0)
	tick := vm.TickPeriod()
	if tick <= 0 {
		b.Fatal("the plugin set no tick period")
	}
	type req struct {
		headers [][2]string
		props   map[string]string
		local   bool // a health path: answered by the plugin
	}
	mk := func(method, path string, props map[string]string, local bool, extra ...[2]string) req {
		return req{append([][2]string{{":method", method}, {":path", path}, {":authority", "checkout"}, {":scheme", "http"},
			{"user-agent", "soak"}}, extra...), props, local}
	}
	pass := func(method, path string) req { return mk(method, path, nil, false) }
	probe := func(path string) req { return mk("GET", path, nil, true) }
	cheap := []req{
		pass("GET", "/api/orders?page=2"), probe("/health/probes/liveness"), pass("POST", "/api/orders"),
		probe("/health/probes/readiness"), pass("GET", "/static/app.js"), probe("/health/probes/startup"),
		pass("GET", "/api/users/42"), probe("/health/up"), pass("GET", "/healthcheck"), probe("/health/dependencies/"),
		pass("DELETE", "/api/orders/7"), probe("/livez"), pass("GET", "/"), probe("/readyz"), pass("GET", "/api/cart"),
		probe("/healthz?exclude=db"), pass("PUT", "/api/cart"), probe("/readyz/app"), pass("GET", "/api/search?q=x"),
		probe("/health/liveness"), pass("GET", "/favicon.ico"), probe("/health/readiness"), pass("GET", "/api/orders"),
		probe("/api/probes/liveness/"), pass("GET", "/img/logo.png"), probe("/api/probes/readiness/"),
		pass("PATCH", "/api/users/42"), probe("/health"), pass("GET", "/api/items"), mk("HEAD", "/health/probes/readiness", nil, true),
		pass("GET", "/api/items/9"), mk("PUT", "/health/probes/readiness", nil, true),
	}
	// A probe of a dialect the main set no longer serves leaves the cycle.
	parsed, err := checks.Parse([]byte(config))
	if err != nil {
		b.Fatal(err)
	}
	router := checks.NewRouter(parsed.Routes)
	cheap = slices.DeleteFunc(cheap, func(r req) bool { return r.local && router.Match(r.headers[1][1]) == nil })
	rare := []req{
		mk("GET", "/health/metrics", benchLoopback, true), mk("GET", "/health/dependencies", benchLoopback, true),
		mk("GET", "/health/info", benchLoopback, true), mk("GET", "/health/metrics", nil, true),
		mk("GET", "/health/probes/readiness", nil, true, [2]string{"accept", "application/health+json"}),
		mk("GET", "/health/dependencies", benchLoopback, true, [2]string{"accept", "application/health+json"}),
		mk("GET", "/readyz?verbose", benchLoopback, true), mk("GET", "/info", nil, true),
		mk("HEAD", "/health/dependencies", nil, true), mk("GET", "/readyz/ledger?verbose", nil, true),
	}
	drain := func(method string) {
		s := vm.RequestWithProperties([][2]string{{":method", method}, {":path", "/health/drain"}, {":authority", "checkout"}}, benchLoopback)
		if r := s.Reply(); r == nil || r.Status != 200 {
			b.Fatalf("%s /health/drain: %v", method, r)
		}
		s.Close()
	}
	grpcServing := []byte{0, 0, 0, 0, 2, 0x08, 0x01} // grpc.health.v1 HealthCheckResponse{status: SERVING}
	answers := 0
	answer := func() {
		for _, c := range h.Callouts() {
			answers++
			if c.Cluster == "outbound|50051||ledger" {
				if answers%5 == 0 {
					h.Fail(c.ID)
				} else {
					h.Respond(c.ID, [][2]string{{":status", "200"}, {"content-type", "application/grpc"}}, grpcServing, [][2]string{{"grpc-status", "0"}})
				}
				continue
			}
			switch answers % 7 {
			case 0, 1, 2, 3:
				h.Respond(c.ID, [][2]string{{":status", "200"}, {"content-type", "application/json"}}, []byte(`{"status":"UP","latency":12.5}`), nil)
			case 4:
				h.Respond(c.ID, [][2]string{{":status", "500"}}, []byte("internal error"), nil)
			case 5:
				h.Respond(c.ID, [][2]string{{":status", "200"}}, []byte(`{"status":"DOWN"}`), nil)
			case 6:
				h.Fail(c.ID)
			}
		}
	}
	send := func(r req) bool {
		s := vm.RequestWithProperties(r.headers, r.props)
		ok := (s.Action() == wasmhost.ActionPause) == r.local
		s.Close()
		return ok
	}
	memStart := vm.MemoryBytes()
	mark := max(b.N/10, 1)
	// MESHPROBE_SOAK_TRACE=n logs linear memory every n requests (1: every 100k).
	trace, _ := strconv.Atoi(os.Getenv("MESHPROBE_SOAK_TRACE"))
	if trace == 1 {
		trace = 100_000
	}
	var memMark uint32
	wrong, draining := 0, false
	b.ResetTimer()
	for i := range b.N {
		if i%100 == 0 {
			clock.Advance(tick)
			vm.Tick()
			answer()
			if k := i / 100; k%500 == 250 { // drain now and then, for a while
				drain("POST")
				draining = true
			} else if k%500 == 0 && draining {
				drain("DELETE")
				draining = false
			}
			if !send(rare[(i/100)%len(rare)]) {
				wrong++
			}
		}
		if !send(cheap[i%len(cheap)]) {
			wrong++
		}
		if i+1 == mark {
			memMark = vm.MemoryBytes()
		}
		if trace > 0 && (i+1)%trace == 0 {
			b.Logf("after %d requests: linear memory %d KiB", i+1, vm.MemoryBytes()>>10)
		}
	}
	b.StopTimer()
	if wrong > 0 {
		b.Errorf("%d requests were answered when they should pass, or passed when they should be answered", wrong)
	}
	if n := len(h.Callouts()); n > 16 {
		b.Errorf("%d callouts still pending: the plugin dispatches more than it settles", n)
	}
	b.ReportMetric(float64(memStart), "mem-start-bytes")
	b.ReportMetric(float64(memMark), "mem-tenth-bytes")
	b.ReportMetric(float64(vm.MemoryBytes()), "mem-end-bytes")
	b.ReportMetric(float64(answers), "callouts")
}
