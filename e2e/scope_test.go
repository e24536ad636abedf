package e2e

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/meshprobe/meshprobe/checks"
	"github.com/meshprobe/meshprobe/internal/dialectcases"
)

// TestScopedRoutes: in Envoy, with the filter enabled only on the routes
// envoyrun makes for the configuration (as envoy/envoy.yaml ships it),
// every path the plugin answers, with a trailing "/" or a query, reaches
// the plugin, and near misses reach the app; the unscoped form answers
// the same.
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

	eachEnvoy(t, func(t *testing.T, rt runtimeCase) {
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
							if got := request(t, nil, "GET", px.base+path); got.header.Get("x-app") != "" || got.status == 404 {
								t.Errorf("GET %s: %d from the app, want meshprobe's answer", path, got.status)
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
