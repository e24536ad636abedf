package e2e

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshprobe/meshprobe/internal/testing/dialectcases"
)

// The dialects' table (internal/testing/dialectcases, which the plugin's
// TestDialects runs on the test-driven hosts) over real sockets: real
// dependencies on loopback, real time, in internal/testing/wasmhost and in Envoy. Each
// state is reached the way a service reaches it; every path of the table
// is asserted byte for byte with its headers, and so are HEAD, 405s,
// health+json and the details policy on the same proxies.

const (
	dialectInterval = 300 * time.Millisecond
	dialectTimeout  = 150 * time.Millisecond
	// dialectSettle bounds how long a state takes to show: the first
	// results after a start (Envoy's workers load the plugin first), or
	// one interval plus a tick and a timeout after a peer changes.
	dialectSettle = 5 * time.Second
)

// hangingPeer is an HTTP peer that never answers: its check stays unknown.
func hangingPeer(t *testing.T, up string) *httpPeer {
	p := newHTTPPeer(t, up, "")
	p.set(modeHang)
	return p
}

var bearer = [2]string{"authorization", "Bearer " + dialectcases.Token}

// dialectDeps reads /health/dependencies (no details): the aggregate and
// each check's status.
func dialectDeps(t *testing.T, base string) (string, map[string]string) {
	t.Helper()
	agg, deps := readDependencies(t, base)
	got := map[string]string{}
	for name, d := range deps {
		got[name] = d.Status
	}
	return agg, got
}

// waitDeps polls /health/dependencies until the aggregate is agg and the
// check named down (if any) is down with every other one up.
func waitDeps(t *testing.T, base, agg, down string) {
	t.Helper()
	want := map[string]string{dialectcases.App: "up", dialectcases.Cache: "up", dialectcases.HSM: "up"}
	if down != "" {
		want[down] = "down"
	}
	start := time.Now()
	for {
		a, deps := dialectDeps(t, base)
		if a == agg && len(deps) == len(want) && deps[dialectcases.App] == want[dialectcases.App] &&
			deps[dialectcases.Cache] == want[dialectcases.Cache] && deps[dialectcases.HSM] == want[dialectcases.HSM] {
			t.Logf("%s after %v", agg, time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(start) > dialectSettle {
			t.Fatalf("/health/dependencies still %s %v after %v; want %s %v", a, deps, dialectSettle, agg, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRealDialects drives each set of dialects through the five states
// with real dependencies, on each proxy: starting on a proxy whose checks
// hang with a long timeout (no result while the table runs), then up,
// degraded, down and draining on another, as its peers change.
func TestRealDialects(t *testing.T) {
	cases := map[string]map[string]dialectcases.Case{}
	for _, c := range dialectcases.Cases {
		if cases[c.Set.Name] == nil {
			cases[c.Set.Name] = map[string]dialectcases.Case{}
		}
		cases[c.Set.Name][c.State] = c
	}
	eachProxy(t, func(t *testing.T, rt runtimeCase) {
		for _, set := range dialectcases.Sets {
			table := cases[set.Name]
			t.Run(set.Name, func(t *testing.T) {
				t.Run("starting", func(t *testing.T) {
					t.Parallel()
					app, cache, hsm := hangingPeer(t, "ok"), hangingPeer(t, "ok"), hangingPeer(t, dialectcases.HSMUp)
					// Checks may not outlast their interval: both long,
					// so a hanging check has no result for 30s.
					config := dialectcases.Config(set.Dialects, "30s", "30s")
					px := rt.start(t, 2, config, map[string]upstream{
						dialectcases.App: {Addr: app.addr()}, dialectcases.Cache: {Addr: cache.addr()}, dialectcases.HSM: {Addr: hsm.addr()}})
					unknown := func(when string) {
						agg, deps := dialectDeps(t, px.base)
						if agg != "unknown" || deps[dialectcases.App] != "unknown" || deps[dialectcases.Cache] != "unknown" || deps[dialectcases.HSM] != "unknown" {
							t.Fatalf("%s: /health/dependencies %s %v; want every check unknown", when, agg, deps)
						}
					}
					// Every check is in flight, and hangs.
					for start := time.Now(); app.count() == 0 || cache.count() == 0 || hsm.count() == 0; time.Sleep(10 * time.Millisecond) {
						if time.Since(start) > dialectSettle {
							t.Fatalf("after %v the peers got %d, %d, %d checks; want each one's first", dialectSettle, app.count(), cache.count(), hsm.count())
						}
					}
					unknown("before the table")
					assertTable(t, px.base, table[dialectcases.Starting])
					unknown("after the table")
				})
				t.Run("running", func(t *testing.T) {
					t.Parallel()
					app, cache, hsm := newHTTPPeer(t, "ok", ""), newHTTPPeer(t, "ok", ""), newHTTPPeer(t, dialectcases.HSMUp, "")
					config := dialectcases.Config(set.Dialects, dialectInterval.String(), dialectTimeout.String())
					px := rt.start(t, 2, config, map[string]upstream{
						dialectcases.App: {Addr: app.addr()}, dialectcases.Cache: {Addr: cache.addr()}, dialectcases.HSM: {Addr: hsm.addr()}})
					base := px.base

					waitDeps(t, base, "up", "")
					assertTable(t, base, table[dialectcases.Up])
					assertMethodsNotAllowed(t, base, table[dialectcases.Up])
					assertHealthJSON(t, base, dialectcases.Up)

					cache.set(modeError)
					waitDeps(t, base, "degraded", dialectcases.Cache)
					assertTable(t, base, table[dialectcases.Degraded])
					assertHealthJSON(t, base, dialectcases.Degraded)

					cache.set(modeUp)
					app.set(modeError)
					waitDeps(t, base, "down", dialectcases.App)
					assertTable(t, base, table[dialectcases.Down])
					assertHealthJSON(t, base, dialectcases.Down)
					if set == dialectcases.Main {
						assertDetails(t, base, table[dialectcases.Down])
					}

					app.set(modeUp)
					waitDeps(t, base, "up", "")
					if r := request(t, nil, "POST", base+"/health/drain", bearer); r.status != 200 || r.body != `{"draining":true}` {
						t.Fatalf("POST /health/drain = %d %s", r.status, r.body)
					}
					assertTable(t, base, table[dialectcases.Draining])
					if r := request(t, nil, "DELETE", base+"/health/drain", bearer); r.status != 200 || r.body != `{"draining":false}` {
						t.Errorf("DELETE /health/drain = %d %s", r.status, r.body)
					}
					if r := request(t, nil, "GET", base+"/health/probes/readiness"); r.status != 200 {
						t.Errorf("readiness after DELETE /health/drain = %d %s", r.status, r.body)
					}
				})
			})
		}
	})
}

// assertTable asserts every path of c: GET's status, exact body and
// headers as in the plugin's TestDialects; and HEAD's status and headers
// equal GET's, with no body, as the README promises.
func assertTable(t *testing.T, base string, c dialectcases.Case) {
	t.Helper()
	if c.Paths == nil {
		t.Fatal("no such case in the table")
	}
	for _, path := range slices.Sorted(maps.Keys(c.Paths)) {
		w := c.Paths[path]
		g := request(t, nil, "GET", base+path)
		if g.status != w.Status || g.body != w.Body {
			t.Errorf("%s GET %s: %d %q\nwant %d %q", c.State, path, g.status, g.body, w.Status, w.Body)
		}
		wantType, nosniff := dialectcases.Headers(w.Body)
		if got := g.header.Get("x-content-type-options"); got != nosniff {
			t.Errorf("%s GET %s: x-content-type-options %q; want %q", c.State, path, got, nosniff)
		}
		if g.header.Get("content-type") != wantType || g.header.Get("cache-control") != "no-store" {
			t.Errorf("%s GET %s: content-type %q cache-control %q; want %q, no-store", c.State, path,
				g.header.Get("content-type"), g.header.Get("cache-control"), wantType)
		}
		if got := g.header.Get("content-length"); got != strconv.Itoa(len(g.body)) {
			t.Errorf("%s GET %s: content-length %q for a body of %d bytes", c.State, path, got, len(g.body))
		}

		h := request(t, nil, "HEAD", base+path)
		if h.status != g.status || h.body != "" {
			t.Errorf("%s HEAD %s: %d with a body of %d bytes; want GET's %d, no body", c.State, path, h.status, len(h.body), g.status)
		}
		for _, k := range []string{"content-type", "content-length", "cache-control", "x-content-type-options"} {
			if h.header.Get(k) != g.header.Get(k) {
				t.Errorf("%s HEAD %s: %s %q; GET has %q", c.State, path, k, h.header.Get(k), g.header.Get(k))
			}
		}
	}
}

// assertMethodsNotAllowed: POST and PUT on every read path of c are 405
// with allow: GET, HEAD; GET, HEAD and PUT on the drain path are 405 with
// allow: POST, DELETE. Each is JSON and no-store.
func assertMethodsNotAllowed(t *testing.T, base string, c dialectcases.Case) {
	t.Helper()
	check := func(method, path, allow string) {
		r := request(t, nil, method, base+path)
		if r.status != 405 || r.header.Get("allow") != allow {
			t.Errorf("%s %s = %d allow %q; want 405 allow %q", method, path, r.status, r.header.Get("allow"), allow)
		}
		if r.header.Get("cache-control") != "no-store" || r.header.Get("content-type") != "application/json" {
			t.Errorf("%s %s: content-type %q cache-control %q; want application/json, no-store", method, path,
				r.header.Get("content-type"), r.header.Get("cache-control"))
		}
		if method != "HEAD" && !json.Valid([]byte(r.body)) {
			t.Errorf("%s %s: 405 body %q is not JSON", method, path, r.body)
		}
	}
	for _, path := range slices.Sorted(maps.Keys(c.Paths)) {
		for _, m := range []string{"POST", "PUT"} {
			check(m, path, "GET, HEAD")
		}
	}
	for _, m := range []string{"GET", "HEAD", "PUT"} {
		check(m, "/health/drain", "POST, DELETE")
	}
}

// assertHealthJSON: readiness and dependencies in the IETF format, with
// and without details, as the plugin's TestHealthJSON expects them for the
// same state.
func assertHealthJSON(t *testing.T, base, state string) {
	t.Helper()
	accept := [2]string{"accept", "application/health+json, application/json;q=0.5"}
	top := map[string]struct {
		code   int
		status string
	}{dialectcases.Up: {200, "pass"}, dialectcases.Degraded: {200, "warn"}, dialectcases.Down: {503, "fail"}}[state]
	checkStatus := func(name string) string {
		switch {
		case state == dialectcases.Degraded && name == dialectcases.Cache:
			return "warn"
		case state == dialectcases.Down && name == dialectcases.App:
			return "fail"
		}
		return "pass"
	}
	componentType := map[string]string{dialectcases.App: "component", dialectcases.Cache: "component", dialectcases.HSM: "system"}
	for _, path := range []string{"/health/probes/readiness", "/health/dependencies"} {
		names := []string{dialectcases.App, dialectcases.HSM} // readiness: the checks that gate it
		if path == "/health/dependencies" {
			names = []string{dialectcases.App, dialectcases.Cache, dialectcases.HSM}
		}
		for _, details := range []bool{false, true} {
			hdrs := [][2]string{accept}
			if details {
				hdrs = append(hdrs, bearer)
			}
			where := state + " " + path + " details=" + strconv.FormatBool(details)
			r := request(t, nil, "GET", base+path, hdrs...)
			if r.status != top.code || r.header.Get("content-type") != "application/health+json" || r.header.Get("cache-control") != "no-store" {
				t.Errorf("%s: %d content-type %q cache-control %q; want %d application/health+json no-store: %s", where,
					r.status, r.header.Get("content-type"), r.header.Get("cache-control"), top.code, r.body)
				continue
			}
			var doc dialectcases.HealthJSON
			if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
				t.Errorf("%s: %v: %s", where, err, r.body)
				continue
			}
			if doc.Status != top.status || doc.Version != "1.4.2" || doc.ServiceID != "" || len(doc.Checks) != len(names) {
				t.Errorf("%s: %s; want status %s, version 1.4.2, no serviceId, checks %v", where, r.body, top.status, names)
			}
			for _, name := range names {
				key := name + ":responseTime"
				entries := doc.Checks[key]
				if len(entries) != 1 {
					t.Errorf("%s: %s has %d entries: %s", where, key, len(entries), r.body)
					continue
				}
				e := entries[0]
				if e["componentId"] != name || e["componentType"] != componentType[name] || e["status"] != checkStatus(name) {
					t.Errorf("%s: %s = %v; want id %s type %s status %s", where, key, e, name, componentType[name], checkStatus(name))
				}
				if ts, _ := e["time"].(string); !validTime(ts) {
					t.Errorf("%s: %s time %q", where, key, e["time"])
				}
				_, hasValue := e["observedValue"]
				_, hasOutput := e["output"]
				if hasValue != details || hasOutput != (details && checkStatus(name) != "pass") {
					t.Errorf("%s: %s observedValue %v output %v", where, key, e["observedValue"], e["output"])
				}
				if details && e["observedUnit"] != "ms" {
					t.Errorf("%s: %s observedUnit %v", where, key, e["observedUnit"])
				}
			}
		}
	}
}

func validTime(s string) bool {
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}

// assertDetails: in state down, the token shows our messages (the table's
// DetailsDown); without it the same paths answer the table's withheld
// bodies.
func assertDetails(t *testing.T, base string, down dialectcases.Case) {
	t.Helper()
	for _, path := range slices.Sorted(maps.Keys(dialectcases.DetailsDown)) {
		w := dialectcases.DetailsDown[path]
		if r := request(t, nil, "GET", base+path, bearer); r.status != w.Status || r.body != w.Body {
			t.Errorf("GET %s with the token: %d %q\nwant %d %q", path, r.status, r.body, w.Status, w.Body)
		}
		withheld, ok := down.Paths[path]
		if !ok || !strings.Contains(withheld.Body, "reason withheld") {
			t.Fatalf("the table's down state has no withheld body for %s", path)
		}
		if r := request(t, nil, "GET", base+path); r.status != withheld.Status || r.body != withheld.Body {
			t.Errorf("GET %s without the token: %d %q\nwant %d %q", path, r.status, r.body, withheld.Status, withheld.Body)
		}
	}
}
