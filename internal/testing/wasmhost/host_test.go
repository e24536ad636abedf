package wasmhost

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// newHost starts the plugin with config; any host error fails the test.
func newHost(t *testing.T, config string, o Options) *Host {
	t.Helper()
	o.Wasm, o.PluginConfig = Plugin(t, filepath.Join("..", "..", "..")), []byte(config)
	if o.Workers == 0 {
		o.Workers = 1 // most tests here are about one VM
	}
	if o.Properties == nil {
		o.Properties = map[string]string{"plugin_name": "meshprobe"}
	}
	if o.OnError == nil {
		o.OnError = func(err error) { t.Error(err) }
	}
	h, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func get(path string) [][2]string {
	return [][2]string{{":method", "GET"}, {":path", path}, {":authority", "svc"}, {":scheme", "http"}}
}

// do sends one GET and closes the stream; reply is nil if it passed through.
func do(t *testing.T, v *VM, path string) *LocalReply {
	t.Helper()
	s := v.Request(get(path))
	defer s.Close()
	r := s.Reply()
	if want := uint32(ActionContinue); r != nil {
		want = ActionPause
		if s.Action() != want {
			t.Errorf("GET %s: replied %d but returned action %d", path, r.Status, s.Action())
		}
	} else if s.Action() != want {
		t.Errorf("GET %s: neither replied nor continued (action %d)", path, s.Action())
	}
	return r
}

func TestWorkersStartAndConfigure(t *testing.T) {
	h := newHost(t, `{}`, Options{Workers: 2})
	for i := range 2 {
		if v := h.VM(i); !v.Configured() {
			t.Errorf("VM %d not configured; logs %v", i, v.Logs())
		}
	}
	if h.VM(0).root == h.VM(1).root {
		t.Errorf("both VMs have root context %d", h.VM(0).root)
	}
}

func TestRequests(t *testing.T) {
	h := newHost(t, `{}`, Options{Workers: 2})
	for _, tc := range []struct {
		vm         int
		path       string
		wantStatus int // 0: passes through
		wantBody   string
	}{
		{1, "/health/probes/liveness", 200, `{"status":"up"}`},
		{0, "/health/probes/liveness", 200, `{"status":"up"}`},
		{0, "/api/orders", 0, ""},
	} {
		t.Run(fmt.Sprintf("VM%d%s", tc.vm, tc.path), func(t *testing.T) {
			s := h.VM(tc.vm).Request(get(tc.path))
			defer s.Close()
			r := s.Reply()
			switch {
			case tc.wantStatus == 0 && (r != nil || s.Action() != ActionContinue):
				t.Fatalf("want pass-through; action %d, reply %+v", s.Action(), r)
			case tc.wantStatus == 0:
				if got := s.RequestHeaders(); !slices.Equal(got, get(tc.path)) {
					t.Errorf("request headers changed: %v", got)
				}
			case r == nil || s.Action() != ActionPause:
				t.Fatalf("want a local reply; action %d, reply %+v", s.Action(), r)
			case r.Status != tc.wantStatus || string(r.Body) != tc.wantBody:
				t.Errorf("got %d %s; want %d %s", r.Status, r.Body, tc.wantStatus, tc.wantBody)
			}
		})
	}
}

func TestClockDrivesGuestTime(t *testing.T) {
	clock := NewClock(time.Date(2026, 3, 5, 15, 4, 5, 0, time.FixedZone("CET", 3600)))
	h := newHost(t, `{}`, Options{Clock: clock})
	for _, step := range []time.Duration{0, 90 * time.Second, 36 * time.Hour} {
		clock.Advance(step)
		r := do(t, h.VM(0), "/health/up")
		var up struct {
			Timestamp string `json:"server_timestamp"`
		}
		if r == nil || json.Unmarshal(r.Body, &up) != nil {
			t.Fatalf("/health/up: %+v", r)
		}
		if want := clock.Now().UTC().Format(time.RFC3339); up.Timestamp != want {
			t.Errorf("server_timestamp %q; want %q", up.Timestamp, want)
		}
	}
}

func TestConfigureFailure(t *testing.T) {
	h := newHost(t, `{"checks":[`, Options{})
	v := h.VM(0)
	if v.Configured() {
		t.Fatal("a truncated configuration was accepted")
	}
	var errs []LogLine
	for _, l := range v.Logs() {
		if l.Level >= 4 {
			errs = append(errs, l)
		}
	}
	if len(errs) != 1 {
		t.Errorf("want one error log line, got %v", errs)
	}
}

// A background check: VM 0 ticks and dispatches; the answer, merged into
// shared data, decides readiness on VM 1.
// Both call paths: bounded (tests) and Unbounded (benchmarks, as Envoy).
func TestCallouts(t *testing.T) {
	for _, unbounded := range []bool{false, true} {
		t.Run(fmt.Sprintf("unbounded=%v", unbounded), func(t *testing.T) { testCallouts(t, unbounded) })
	}
}

func testCallouts(t *testing.T, unbounded bool) {
	const config = `{"checks":[{"name":"app","kind":"http","cluster":"inbound|8080||","path":"/ready"}]}`
	for _, tc := range []struct {
		name      string
		clusters  []string
		answer    func(h *Host, id uint32) // nil: no callout expected
		wantReady int
	}{
		{"answered", nil, func(h *Host, id uint32) { h.Respond(id, [][2]string{{":status", "200"}}, []byte("ok"), nil) }, 200},
		{"failed", nil, func(h *Host, id uint32) { h.Fail(id) }, 503},
		{"unknown cluster", []string{"other"}, nil, 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, config, Options{Workers: 2, Clusters: tc.clusters, Unbounded: unbounded})
			if p := h.VM(0).TickPeriod(); p <= 0 {
				t.Fatalf("tick period %v", p)
			}
			h.VM(0).Tick()
			cs := h.Callouts()
			if tc.answer == nil {
				if len(cs) != 0 {
					t.Fatalf("callouts to an unknown cluster: %+v", cs)
				}
			} else {
				if len(cs) != 1 || cs[0].VM != 0 || cs[0].Cluster != "inbound|8080||" || cs[0].Timeout != 2*time.Second ||
					!slices.Contains(cs[0].Headers, [2]string{":path", "/ready"}) {
					t.Fatalf("callouts %+v", cs)
				}
				tc.answer(h, cs[0].ID)
				if left := h.Callouts(); len(left) != 0 {
					t.Errorf("answered callout still pending: %+v", left)
				}
			}
			if r := do(t, h.VM(1), "/health/probes/readiness"); r == nil || r.Status != tc.wantReady {
				t.Errorf("readiness %+v; want %d", r, tc.wantReady)
			}
		})
	}
}

// Misuse and guest traps come back as errors, reported once; later calls
// into a dead VM return at once.
func TestErrorsAreReported(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(h *Host)
		want string
	}{
		{"unknown callout", func(h *Host) { h.Respond(42, nil, nil, nil) }, "callout 42 is not pending"},
		{"guest trap", func(h *Host) {
			v := h.VM(0)
			v.mu.Lock() // a response the SDK never asked for: it panics
			v.call(v.root, "proxy_on_http_call_response", uint64(v.root), 42, 0, 0, 0)
			v.mu.Unlock()
			v.Tick() // the VM is dead: returns at once
		}, "invalid callout id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reported []error
			h := newHost(t, `{}`, Options{OnError: func(err error) { reported = append(reported, err) }})
			tc.do(h)
			if len(reported) != 1 || !strings.Contains(h.Err().Error(), tc.want) {
				t.Errorf("reported %v; want an error mentioning %q", reported, tc.want)
			}
		})
	}
}

// TestListenRoutes: a route that skips the filter goes to its cluster
// without entering the plugin, even on a path the plugin answers; no
// route is Envoy's 404.
func TestListenRoutes(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "app: "+r.URL.Path)
	}))
	t.Cleanup(app.Close)
	h := newHost(t, `{}`, Options{Upstreams: map[string]Upstream{"app": {Addr: strings.TrimPrefix(app.URL, "http://")}}})
	l, err := h.ListenRoutes("127.0.0.1:0", func(path string) (string, bool) {
		switch path {
		case "/nowhere":
			return "", false
		case "/health/up":
			return "app", false
		}
		return "app", true
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	for _, c := range []struct {
		path string
		code int
		body string
	}{
		{"/health/probes/liveness", 200, `{"status":"up"}`},
		{"/health/up", 200, "app: /health/up"},
		{"/api", 200, "app: /api"},
		{"/nowhere", 404, ""},
	} {
		resp, err := http.Get(l.URL() + c.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code || string(body) != c.body {
			t.Errorf("GET %s: %d %q, want %d %q", c.path, resp.StatusCode, body, c.code, c.body)
		}
	}
}
