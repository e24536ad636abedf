package plugin

import (
	"strings"
	"testing"
)

// The status page's wiring: the details policy decides its columns, its
// headers keep a browser from running or loading anything, and it answers
// GET and HEAD like every read route.
func TestStatusPageWiring(t *testing.T) {
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		cases := []struct {
			name, method, path, from string
			status                   int
			details                  bool
		}{
			{"details allowed", "GET", "/health/status", "127.0.0.1:4000", 200, true},
			{"details withheld", "GET", "/health/status", "10.8.0.1:4000", 200, false},
			{"HEAD", "HEAD", "/health/status", "127.0.0.1:4000", 200, true},
			{"refresh", "GET", "/health/status?refresh=15", "127.0.0.1:4000", 200, true},
			{"refresh out of bounds", "GET", "/health/status?refresh=0", "127.0.0.1:4000", 400, false},
			{"POST", "POST", "/health/status", "127.0.0.1:4000", 405, false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				px := rt.mustStart(t, detailsConfig("authorized"), props{"source.address": c.from})
				px.tick()
				answerAll(t, px, map[string]reply{"inbound|8080||": {status: "503"}})
				r := px.do(c.method, c.path)
				if r.status != c.status || r.headers["cache-control"] != "no-store" {
					t.Fatalf("%d %v %.200s", r.status, r.headers, r.body)
				}
				if c.status != 200 {
					return
				}
				h := r.headers
				if h["content-type"] != "text/html; charset=utf-8" || h["x-content-type-options"] != "nosniff" ||
					!strings.HasPrefix(h["content-security-policy"], "default-src 'none'; style-src 'unsafe-inline'") {
					t.Errorf("headers %v", h)
				}
				if c.name == "details allowed" && !strings.Contains(px.do("GET", "/health/info").body, `"/health/status"`) {
					t.Errorf("/info does not list /health/status")
				}
				if c.method == "HEAD" {
					return // the host drops a HEAD reply's body, as Envoy does
				}
				if got := strings.Contains(r.body, `<th scope="col">Message</th>`) && strings.Contains(r.body, "status 503"); got != c.details {
					t.Errorf("details shown %v; want %v\n%s", got, c.details, r.body)
				}
				if !strings.Contains(r.body, `<th scope="row" data-label="Check">app</th>`) || !strings.Contains(r.body, "?</span> unknown") {
					t.Errorf("no row for app, unknown after one failure of three:\n%s", r.body)
				}
				if strings.Contains(c.path, "refresh=15") != strings.Contains(r.body, `<meta http-equiv="refresh" content="15">`) {
					t.Errorf("refresh meta:\n%.400s", r.body)
				}
			})
		}
	})
}
