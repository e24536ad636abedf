package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/meshprobe/meshprobe/internal/envoyboot"
	"github.com/meshprobe/meshprobe/internal/testing/wasmhost"
)

// The compiled plugin over real sockets: worker VMs on real timers, real
// callouts to loopback dependencies the test breaks in every way it can,
// probes and pass-through traffic through an HTTP listener.

const (
	realInterval  = 300 * time.Millisecond
	realTimeout   = 150 * time.Millisecond
	realThreshold = 2
	// scheduleSlack covers one tick of the plugin (its period for a 300ms
	// interval is 100ms) and a loaded machine's scheduling.
	scheduleSlack = time.Second
)

// depState is one check as /health/dependencies shows it.
type depState struct{ Status, Message string }

// readDependencies reads /health/dependencies: the aggregate status and
// each check (messages only where details are allowed).
func readDependencies(t testing.TB, base string) (string, map[string]depState) {
	t.Helper()
	_, body := get(t, base+"/health/dependencies")
	var doc struct {
		Status       string
		Dependencies map[string]depState
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("/health/dependencies: %v: %s", err, body)
	}
	return doc.Status, doc.Dependencies
}

// dependencies reads /health/dependencies and returns the aggregate status
// and check dep's status and message (details are allowed from loopback).
func dependencies(t *testing.T, base string) (aggregate, status, message string) {
	t.Helper()
	agg, deps := readDependencies(t, base)
	return agg, deps["dep"].Status, deps["dep"].Message
}

// transitions counts the plugin's log lines saying check dep became state,
// over every worker.
func transitions(px *proxy, state string) int {
	n := 0
	for _, l := range px.logs() {
		if strings.Contains(l, "check dep is "+state+":") {
			n++
		}
	}
	return n
}

// Each check kind, up then broken in each way, then back: readiness and
// /dependencies follow within failure_threshold × interval + timeout, startup
// stays passed, liveness never moves, the dependency gets one check per
// interval whatever it does, and each transition is logged once.
func TestRealDependencyFaults(t *testing.T) {
	const grpcService = "ledger.v1.Ledger"
	cases := []struct {
		name, kind, extra string
		start             func(t *testing.T) (counter, upstream, func(bad bool))
		message           string // in /dependencies while down, exactly
	}{
		{"http 5xx", "http", `"path":"/ready","expect":{"json":{"status":"UP"}}`, httpCase(modeDown), "status 503"},
		{"http slow", "http", `"path":"/ready"`, httpCase(modeSlow), "timeout after 150ms"},
		{"http hang", "http", `"path":"/ready"`, httpCase(modeHang), "timeout after 150ms"},
		{"http reset", "http", `"path":"/ready"`, httpCase(modeReset), "mesh: the dependency closed the connection before answering"},
		{"http garbage", "http", `"path":"/ready"`, httpCase(modeGarbage), "mesh: the dependency's answer was not valid HTTP"},
		{"http redirect not followed", "http", `"path":"/ready"`, httpCase(modeRedirect), "status 302"},
		{"http 10MB body", "http", `"path":"/ready","expect":{"json":{"status":"UP"}}`, httpCase(modeHuge), "body larger than 64 KiB: expectations not evaluated"},
		{"http endless body", "http", `"path":"/ready"`, httpCase(modeEndless), "timeout after 150ms"},
		{"http invalid UTF-8", "http", `"path":"/ready","expect":{"json":{"status":"UP"}}`, httpCase(modeBadUTF8), `json status: got "` + strings.Repeat("?", 32) + `…"`},
		{"hsm not ready", "hsm", `"path":"/v1/status"`, hsmCase(modeDocDown), `json status: got "FAILED"`},
		{"hsm 5xx", "hsm", `"path":"/v1/status"`, hsmCase(modeDown), "status 503"},
		{"hsm over mTLS not ready", "hsm", `"path":"/v1/status"`, func(t *testing.T) (counter, upstream, func(bool)) {
			p, up := newMTLSPeer(t, `{"status":"OK"}`, `{"status":"FAILED"}`)
			return p, up, func(bad bool) { p.set(map[bool]peerMode{true: modeDocDown, false: modeUp}[bad]) }
		}, `json status: got "FAILED"`},
		{"grpc NOT_SERVING", "grpc", `"grpc_service":"` + grpcService + `"`, func(t *testing.T) (counter, upstream, func(bool)) {
			p := newGRPCPeer(t, grpcService)
			return p, upstream{Addr: p.addr(), HTTP2: true}, func(bad bool) {
				st := healthpb.HealthCheckResponse_SERVING
				if bad {
					st = healthpb.HealthCheckResponse_NOT_SERVING
				}
				p.health.SetServingStatus(grpcService, st)
			}
		}, "NOT_SERVING"},
	}
	eachProxy(t, func(t *testing.T, rt runtimeCase) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				p, up, breakIt := c.start(t)
				config := fmt.Sprintf(`{"refresh":{"interval":%q,"jitter":0},"details":{"allow_cidrs":["127.0.0.0/8"]},
				"checks":[{"name":"dep","kind":%q,"cluster":"dep","timeout":%q,"failure_threshold":%d,%s}]}`,
					realInterval, c.kind, realTimeout, realThreshold, c.extra)
				px := rt.start(t, 2, config, map[string]upstream{"dep": up})
				base := px.base
				waitStatus(t, base+"/health/probes/startup", 200, 5*time.Second)
				waitStatus(t, base+"/health/probes/readiness", 200, time.Second)

				before := p.count()
				breakIt(true)
				bound := realThreshold*realInterval + realTimeout
				took := waitStatus(t, base+"/health/probes/readiness", 503, bound+scheduleSlack)
				checks := p.count() - before
				t.Logf("down after %v (bound %v), %d checks reached the peer", took.Round(time.Millisecond), bound, checks)
				if max := int64(took/realInterval) + 2; checks > max {
					t.Errorf("the dependency got %d checks in %v: more than one per interval (at most %d)", checks, took, max)
				}
				agg, st, msg := dependencies(t, base)
				if agg != "down" || st != "down" || msg != c.message {
					t.Errorf("/dependencies: aggregate %q, dep %q %q; want down, down, %q", agg, st, msg, c.message)
				}
				if !utf8.ValidString(msg) || len(msg) > 120 {
					t.Errorf("message %q: must be short, valid UTF-8", msg)
				}
				for _, path := range []string{"/health/probes/startup", "/health/probes/liveness"} {
					if code, body := get(t, base+path); code != 200 {
						t.Errorf("%s while the dependency is down: %d %s", path, code, body)
					}
				}

				breakIt(false)
				waitStatus(t, base+"/health/probes/readiness", 200, realInterval+realTimeout+scheduleSlack)
				if n := transitions(px, "down"); n != 1 {
					t.Errorf("going down was logged %d times over the workers, want once", n)
				}
			})
		}
	})
}

// When Envoy cannot reach a dependency at all, /dependencies says the mesh
// path is broken, not that the dependency answered unhealthy, with the
// exact message for each way: an unknown cluster and one with no endpoint
// fail at dispatch, a refused connection comes back as Envoy's local reply.
func TestRealMeshPathBroken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	// An mTLS dependency whose certificate the proxy cannot verify: the
	// cluster trusts another CA.
	_, untrusted := newMTLSPeer(t, `{"status":"OK"}`, "")
	other, err := envoyboot.NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	otherFiles := *untrusted.TLS
	otherFiles.CA = filepath.Join(t.TempDir(), "other-ca.pem")
	if err := other.WriteClient(&envoyboot.TLSFiles{CA: otherFiles.CA}); err != nil {
		t.Fatal(err)
	}
	untrusted.TLS = &otherFiles
	cases := []struct {
		name    string
		ups     map[string]upstream
		message string
	}{
		{"unknown cluster", nil, `mesh: the proxy refused the call to cluster "dep" (unknown cluster or malformed request)`},
		{"no endpoint", map[string]upstream{"dep": {}}, `mesh: the proxy refused the call to cluster "dep" (no healthy upstream, or the call failed at once)`},
		{"connection refused", map[string]upstream{"dep": {Addr: refused}}, "mesh: could not connect to the dependency (connection refused or failed)"},
		{"server certificate not trusted", map[string]upstream{"dep": untrusted}, "mesh: could not connect to the dependency (connection refused or failed)"},
	}
	config := fmt.Sprintf(`{"refresh":{"interval":%q,"jitter":0},"details":{"allow_cidrs":["127.0.0.0/8"]},
		"checks":[{"name":"dep","kind":"http","cluster":"dep","timeout":%q,"failure_threshold":1}]}`, realInterval, realTimeout)
	eachProxy(t, func(t *testing.T, rt runtimeCase) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				base := rt.start(t, 2, config, c.ups).base
				deadline := time.Now().Add(3 * time.Second)
				for {
					agg, st, msg := dependencies(t, base)
					if st == "down" {
						if agg != "down" || msg != c.message {
							t.Errorf("/dependencies: aggregate %q, dep %q %q; want down, down, %q", agg, st, msg, c.message)
						}
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("dep still %q after 3s", st)
					}
					time.Sleep(20 * time.Millisecond)
				}
				if code, _ := get(t, base+"/health/probes/liveness"); code != 200 {
					t.Errorf("liveness %d with the mesh path broken", code)
				}
			})
		}
	})
}

// counter is a peer that counts the requests it received.
type counter interface{ count() int64 }

func httpCase(bad peerMode) func(t *testing.T) (counter, upstream, func(bool)) {
	return peerCase(`{"status":"UP"}`, `{"status":"DOWN"}`, bad)
}

func hsmCase(bad peerMode) func(t *testing.T) (counter, upstream, func(bool)) {
	return peerCase(`{"status":"OK","partitions":[{"id":"p1","status":"OK"}]}`, `{"status":"FAILED"}`, bad)
}

func peerCase(upBody, downBody string, bad peerMode) func(t *testing.T) (counter, upstream, func(bool)) {
	return func(t *testing.T) (counter, upstream, func(bool)) {
		p := newHTTPPeer(t, upBody, downBody)
		return p, upstream{Addr: p.addr()}, func(b bool) {
			if b {
				p.set(bad)
			} else {
				p.set(modeUp)
			}
		}
	}
}

// A dependency that alternates between up and down never reaches
// failure_threshold consecutive failures: readiness holds.
func TestRealFlappingDependencyDoesNotFlapReadiness(t *testing.T) {
	eachProxy(t, func(t *testing.T, rt runtimeCase) {
		p := newHTTPPeer(t, "ok", "")
		config := fmt.Sprintf(`{"refresh":{"interval":%q,"jitter":0},"checks":[{"name":"dep","kind":"http","cluster":"dep","timeout":%q,"failure_threshold":%d}]}`,
			realInterval, realTimeout, realThreshold)
		base := rt.start(t, 2, config, map[string]upstream{"dep": {Addr: p.addr()}}).base
		waitStatus(t, base+"/health/probes/readiness", 200, 5*time.Second)
		p.set(modeFlap)
		start := p.count()
		for deadline := time.Now().Add(6 * realInterval); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
			if code, body := get(t, base+"/health/probes/readiness"); code != 200 {
				t.Fatalf("readiness flapped with the dependency: %d %s", code, body)
			}
		}
		if got := p.count() - start; got < 4 {
			t.Fatalf("the flapping dependency was checked %d times in 6 intervals: the test proved nothing", got)
		}
	})
}

// Four workers under a storm of probes through the listener: each
// dependency still gets one check per interval, counted at the peers.
func TestRealProbeStormOneCheckPerInterval(t *testing.T) {
	const (
		interval  = time.Second
		intervals = 3
		perRound  = 1000
	)
	eachProxy(t, func(t *testing.T, rt runtimeCase) {
		got := storm(t, rt.start, interval, intervals, perRound)
		for name, n := range got {
			t.Logf("%s: %d checks in %d intervals under %d probes (one check per probe would be %d)", name, n, intervals, intervals*perRound, intervals*perRound)
			if n != intervals {
				t.Errorf("%s received %d checks in %d intervals, want exactly %d", name, n, intervals, intervals)
			}
		}
	})
}

// storm starts four workers checking three peers (HTTP, HSM, gRPC) every
// interval, sends perRound readiness probes per interval through the
// listener for `intervals` intervals, and returns the checks each peer
// received meanwhile. The window starts half an interval after a check, so
// it holds exactly `intervals` check times of a schedule that keeps its
// period.
func storm(t testing.TB, run starter, interval time.Duration, intervals, perRound int) map[string]int {
	app, hsm, grpcp := newHTTPPeer(t, "ok", ""), newHTTPPeer(t, `{"status":"OK"}`, ""), newGRPCPeer(t, "")
	config := fmt.Sprintf(`{"refresh":{"interval":%q,"jitter":0},"checks":[
		{"name":"app","kind":"http","cluster":"app"},
		{"name":"hsm","kind":"hsm","cluster":"hsm","path":"/v1/status","type":"soft"},
		{"name":"grpc","kind":"grpc","cluster":"grpc"}]}`, interval)
	base := run(t, 4, config, map[string]upstream{
		"app": {Addr: app.addr()}, "hsm": {Addr: hsm.addr()}, "grpc": {Addr: grpcp.addr(), HTTP2: true}}).base
	waitStatus(t, base+"/health/probes/readiness", 200, 5*time.Second)
	peers := map[string]counter{"app": app, "hsm": hsm, "grpc": grpcp}
	for n := app.count(); app.count() == n; {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(interval / 2)
	before := map[string]int64{}
	for name, p := range peers {
		before[name] = p.count()
	}
	start := time.Now()
	for round := range intervals {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range perRound / 8 {
					if code, body := get(t, base+"/health/probes/readiness"); code != 200 {
						t.Errorf("readiness under the storm: %d %s", code, body)
						return
					}
				}
			}()
		}
		wg.Wait()
		end := start.Add(time.Duration(round+1) * interval)
		if time.Now().After(end) {
			t.Fatalf("round %d: %d probes did not fit in one interval: this machine cannot storm at that rate", round, perRound)
		}
		time.Sleep(time.Until(end))
	}
	got := map[string]int{}
	for name, p := range peers {
		got[name] = int(p.count() - before[name])
	}
	return got
}

// The VM holding the lease (a worker's, or the main thread's) stops
// ticking: another takes over within the lease TTL, and the dependency
// keeps getting its checks.
func TestRealLeaseTakeover(t *testing.T) {
	p := newHTTPPeer(t, "ok", "")
	config := fmt.Sprintf(`{"refresh":{"interval":%q,"jitter":0},"checks":[{"name":"dep","kind":"http","cluster":"dep","timeout":%q}]}`,
		realInterval, realTimeout)
	h, base := startReal(t, 4, config, map[string]wasmhost.Upstream{"dep": {Addr: p.addr()}})
	waitStatus(t, base+"/health/probes/readiness", 200, 5*time.Second)
	vms := h.VMs()

	holder := func(since []int64) int { // the VM that dispatched since
		best, most := -1, int64(0)
		for i, v := range vms {
			if d := v.Dispatched() - since[i]; d > most {
				best, most = i, d
			}
		}
		return best
	}
	snapshot := func() []int64 {
		s := make([]int64, len(vms))
		for i, v := range vms {
			s[i] = v.Dispatched()
		}
		return s
	}
	mark := snapshot()
	time.Sleep(3 * realInterval)
	old := holder(mark)
	if old < 0 {
		t.Fatal("no VM dispatched a check in three intervals")
	}
	vms[old].StopTimer()
	stopped := time.Now()
	mark = snapshot()
	time.Sleep(6 * realInterval)
	next := holder(mark)
	if next < 0 || next == old {
		t.Fatalf("after VM %d stopped ticking, the checks came from VM %d", old, next)
	}
	// The longest silence the peer saw after the stop: the lease TTL
	// (three ticks of 100ms) plus at most one interval.
	var gap time.Duration
	prev := stopped
	for _, at := range p.arrivals() {
		if at.After(stopped) {
			gap = max(gap, at.Sub(prev))
			prev = at
		}
	}
	t.Logf("VM %d stopped; VM %d took over; longest silence at the peer %v", old, next, gap.Round(time.Millisecond))
	if limit := 3*100*time.Millisecond + realInterval + scheduleSlack; gap > limit {
		t.Errorf("the dependency went unchecked for %v after the lease holder stopped (limit %v)", gap, limit)
	}
	if code, body := get(t, base+"/health/probes/readiness"); code != 200 {
		t.Errorf("readiness after the takeover: %d %s", code, body)
	}
}

// Drain posted through the listener reaches one worker and flips readiness
// on every worker; DELETE undoes it. Each probe comes on a new connection,
// which Envoy hands to any of its workers.
func TestRealDrainFlipsEveryWorker(t *testing.T) {
	eachProxy(t, func(t *testing.T, rt runtimeCase) {
		p := newHTTPPeer(t, "ok", "")
		config := `{"refresh":{"interval":"300ms","jitter":0},"drain":{"enabled":true},"details":{"allow_cidrs":["127.0.0.0/8"]},
		"checks":[{"name":"dep","kind":"http","cluster":"dep"}]}`
		const workers = 4
		px := rt.start(t, workers, config, map[string]upstream{"dep": {Addr: p.addr()}})
		base := px.base
		waitStatus(t, base+"/health/probes/readiness", 200, 5*time.Second)
		for _, step := range []struct {
			method string
			want   int
		}{{"POST", 503}, {"DELETE", 200}} {
			req, _ := http.NewRequest(step.method, base+"/health/drain", nil)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("%s /health/drain: %d", step.method, resp.StatusCode)
			}
			if px.h != nil {
				for w := range workers { // every worker, each asked directly
					if got := status(t, px.h.VM(w), "GET", "/health/probes/readiness"); got != step.want {
						t.Errorf("after %s drain: worker %d readiness %d, want %d", step.method, w, got, step.want)
					}
				}
			}
			fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
			for range 10 * workers { // and through the listener, on new connections
				resp, err := fresh.Get(base + "/health/probes/readiness")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != step.want {
					t.Errorf("after %s drain: readiness %d, want %d", step.method, resp.StatusCode, step.want)
				}
			}
		}
	})
}

// A request the plugin does not answer reaches the upstream unchanged
// (method, path and query, headers, body) and its response comes back
// unchanged (status, headers, body), paths close to health ones included.
func TestRealPassThroughUnchanged(t *testing.T) {
	paths := []string{"/api/orders/42?q=a%20b&x=1", "/healthz", "/health/probes/livenessX", "/Health/probes/liveness", "//"}
	eachProxy(t, func(t *testing.T, rt runtimeCase) {
		app := newEchoApp(t)
		config := `{"dialects":["standard"],"checks":[]}`
		ups := map[string]upstream{"app": {Addr: app.addr()}}
		// In Envoy, with the filter on the health routes only (as shipped)
		// and on every request.
		if rt.envoy == nil {
			passThroughUnchanged(t, rt.start(t, 2, config, ups).base, app, paths)
			return
		}
		for form, o := range map[string]envoyOptions{"scoped": {}, "unscoped": {unscoped: true}} {
			t.Run(form, func(t *testing.T) { passThroughUnchanged(t, rt.envoy(t, config, ups, o).base, app, paths) })
		}
	})
}

// echoApp is an upstream that records the last request it saw and answers
// 201 with two cookies, a marker header and the body echoed.
type echoApp struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen recorded
	hits int
}

func newEchoApp(t *testing.T) *echoApp {
	a := &echoApp{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.seen, a.hits = recorded{method: r.Method, uri: r.RequestURI, host: r.Host, header: r.Header.Clone(), body: body}, a.hits+1
		a.mu.Unlock()
		w.Header().Set("X-Upstream", "app")
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.WriteHeader(http.StatusCreated)
		w.Write(append([]byte("echo:"), body...))
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *echoApp) addr() string { return a.srv.Listener.Addr().String() }

// last is the last request the app saw, and how many it saw.
func (a *echoApp) last() (recorded, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.seen, a.hits
}

// passThroughUnchanged PUTs to each path through base and requires app to
// see the request, and the client the app's response, unchanged.
func passThroughUnchanged(t *testing.T, base string, app *echoApp, paths []string) {
	body := []byte("{\"order\":42,\"note\":\"\xff binary \x00 bytes\"}")
	for _, path := range paths {
		req, _ := http.NewRequest("PUT", base+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer secret-token")
		req.Header.Set("X-Trace", "abc")
		req.Header.Add("X-Multi", "1")
		req.Header.Add("X-Multi", "2")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 || resp.Header.Get("X-Upstream") != "app" ||
			!slices.Equal(resp.Header.Values("Set-Cookie"), []string{"a=1", "b=2"}) || !bytes.Equal(got, append([]byte("echo:"), body...)) {
			t.Errorf("PUT %s: the response changed on its way back: %d %v %q", path, resp.StatusCode, resp.Header, got)
		}
		s, _ := app.last()
		if s.method != "PUT" || s.uri != path || s.host != req.URL.Host || !bytes.Equal(s.body, body) {
			t.Errorf("PUT %s: upstream saw %s %s host %s body %q", path, s.method, s.uri, s.host, s.body)
		}
		for _, k := range []string{"Authorization", "X-Trace", "Content-Type", "Content-Length"} {
			if s.header.Get(k) != req.Header.Get(k) && !(k == "Content-Length" && s.header.Get(k) == fmt.Sprint(len(body))) {
				t.Errorf("PUT %s: upstream header %s = %q, sent %q", path, k, s.header.Get(k), req.Header.Get(k))
			}
		}
		if !slices.Equal(s.header.Values("X-Multi"), []string{"1", "2"}) {
			t.Errorf("PUT %s: upstream X-Multi = %v", path, s.header.Values("X-Multi"))
		}
	}
}

// on_request with a dependency slower than the probe client's own timeout:
// the client gives up, yet the flight's answer is recorded (Envoy makes the
// call the root context's; the plugin sends it from there), so the next
// probe finds fresh state and the dependency is not asked again.
func TestRealOnRequestOutlivesTheProbe(t *testing.T) {
	eachProxy(t, func(t *testing.T, rt runtimeCase) {
		p := newHTTPPeer(t, "ok", "")
		p.delay = 800 * time.Millisecond
		p.set(modeSlow)
		config := `{"refresh":{"mode":"on_request","ttl":"30s","interval":"5s"},
			"checks":[{"name":"dep","kind":"http","cluster":"dep","timeout":"2s","failure_threshold":1}]}`
		base := rt.start(t, 2, config, map[string]upstream{"dep": {Addr: p.addr()}}).base
		impatient := &http.Client{Timeout: 200 * time.Millisecond}
		if resp, err := impatient.Get(base + "/health/probes/readiness"); err == nil {
			resp.Body.Close()
			t.Fatalf("the probe was answered (%d) before the slow dependency", resp.StatusCode)
		}
		time.Sleep(p.delay + 500*time.Millisecond) // the dependency has answered
		if n := p.count(); n != 1 {
			t.Fatalf("the dependency got %d checks; want 1", n)
		}
		start := time.Now()
		code, body := get(t, base+"/health/probes/readiness")
		took := time.Since(start)
		if code != 200 || p.count() != 1 || took > p.delay/2 {
			t.Errorf("next probe: %d %s after %v, dependency checked %d times; want 200 at once from the recorded answer, no new check",
				code, body, took.Round(time.Millisecond), p.count())
		}
	})
}
