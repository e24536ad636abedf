package e2e

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/meshprobe/meshprobe/checks"
	"github.com/meshprobe/meshprobe/internal/testing/dialectcases"
)

// TestScopedRoutes: in Envoy, with the filter enabled only on the routes
// envoyrun makes for the configuration (as envoy/envoy.yaml ships it),
// every path the plugin answers, with a trailing "/" or a query, reaches
// the plugin, near misses reach the app, and other paths never enter the
// plugin; the unscoped form answers the same.
func TestScopedRoutes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The app, and every check's dependency: up, and marked.
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-app", "1")
		w.Write([]byte(dialectcases.HSMUp))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	ups := map[string]upstream{dialectcases.App: {Addr: ln.Addr().String()},
		dialectcases.Cache: {Addr: ln.Addr().String()}, dialectcases.HSM: {Addr: ln.Addr().String()}}

	misbehave := buildMisbehave(t, "")
	eachEnvoy(t, func(t *testing.T, rt runtimeCase) {
		t.Run("entered", func(t *testing.T) { scopeEntered(t, rt, misbehave, ups) })
		for _, set := range dialectcases.Sets {
			config := dialectcases.Config(set.Dialects, "1s", "")
			cfg, err := checks.Parse([]byte(config))
			if err != nil {
				t.Fatal(err)
			}
			for _, form := range []string{"scoped", "unscoped"} {
				t.Run(set.Name+"/"+form, func(t *testing.T) {
					px := rt.envoy(t, config, ups, envoyOptions{unscoped: form == "unscoped"})
					for _, r := range cfg.Routes {
						p := r.Path
						for _, path := range []string{p, p + "/", p + "?x=1", p + "/?x"} {
							// meshprobe's replies, and only they, carry no-store.
							if got := request(t, nil, "GET", px.base+path); got.header.Get("x-app") != "" || got.header.Get("cache-control") != "no-store" {
								t.Errorf("GET %s: %d %q, want meshprobe's answer", path, got.status, got.body)
							}
						}
						for _, path := range []string{p + "x", strings.ToUpper(p), p + "//", p + "/x"} {
							if got := request(t, nil, "GET", px.base+path); got.header.Get("x-app") == "" {
								t.Errorf("GET %s: %d %q not from the app", path, got.status, got.body)
							}
						}
					}
				})
			}
		}
	})
}

// scopeEntered tells the forms apart by what runs: the misbehave plugin
// traps on GET /crash. Scoped to meshprobe's paths, /crash never enters it
// and reaches the app, and the plugin answers liveness after; on every
// request, /crash traps the VM and Envoy (FAIL_OPEN) skips the filter from
// then on, so liveness reaches the app.
func scopeEntered(t *testing.T, rt runtimeCase, misbehave string, ups map[string]upstream) {
	for _, c := range []struct {
		unscoped              bool
		crashToApp, liveToApp bool
	}{{false, true, false}, {true, false, true}} {
		px := rt.envoy(t, "{}", ups, envoyOptions{wasm: misbehave, workers: 1, unscoped: c.unscoped, wasmErrorsExpected: c.unscoped})
		crash := request(t, nil, "GET", px.base+"/crash")
		live := request(t, nil, "GET", px.base+"/health/probes/liveness")
		if (crash.header.Get("x-app") != "") != c.crashToApp || (live.header.Get("x-app") != "") != c.liveToApp {
			t.Errorf("unscoped %v: /crash %d from the app: %v, then liveness %d %q from the app: %v; want %v and %v",
				c.unscoped, crash.status, crash.header.Get("x-app") != "", live.status, live.body, live.header.Get("x-app") != "", c.crashToApp, c.liveToApp)
		}
	}
}
