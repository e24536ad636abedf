package plugin

import (
	"testing"
	"time"

	"github.com/meshprobe/meshprobe/internal/testing/dialectcases"
)

// The table (configurations, states, paths, bodies, headers) lives in
// internal/testing/dialectcases, which e2e's TestRealDialects runs too, over real
// dependencies in internal/testing/wasmhost and in Envoy.

const drainToken = dialectcases.Token

func dialectsConfig(dialects string) string {
	return dialectcases.Config(dialects, "1s", "")
}

// driveState brings a proxy to one of the five states the dialects report.
func driveState(t *testing.T, px testProxy, state string) {
	t.Helper()
	if state == dialectcases.Starting {
		return
	}
	healthy := map[string]reply{dialectcases.App: {status: "200"}, dialectcases.Cache: {status: "200"},
		dialectcases.HSM: {status: "200", body: dialectcases.HSMUp}}
	twoRounds(t, px, healthy, dialectcases.Failing[state])
	if state == dialectcases.Draining {
		if r := px.do("POST", "/health/drain", [2]string{"authorization", "Bearer " + drainToken}); r.status != 200 {
			t.Fatalf("drain = %d", r.status)
		}
	}
}

// twoRounds answers one healthy round (every check up once: started), then,
// an interval later, a round in which the failing clusters answer 500.
func twoRounds(t *testing.T, px testProxy, healthy map[string]reply, failing ...string) {
	t.Helper()
	px.tick()
	answerAll(t, px, healthy)
	second := map[string]reply{}
	for k, v := range healthy {
		second[k] = v
	}
	for _, c := range failing {
		if c != "" {
			second[c] = reply{status: "500"}
		}
	}
	px.advance(time.Second)
	px.tick()
	answerAll(t, px, second)
}

func TestDialects(t *testing.T) {
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		for _, c := range dialectcases.Cases {
			name := c.State
			if c.Set == dialectcases.PrivacyIDEA {
				name = "privacyidea " + name
			}
			t.Run(name, func(t *testing.T) {
				px := rt.mustStart(t, dialectsConfig(c.Set.Dialects), nil)
				driveState(t, px, c.State)
				for path, w := range c.Paths {
					r := px.do("GET", path)
					if r.status != w.Status || r.body != w.Body {
						t.Errorf("%s: %d %q\nwant %d %q", path, r.status, r.body, w.Status, w.Body)
					}
					wantType, nosniff := dialectcases.Headers(w.Body)
					if r.headers["x-content-type-options"] != nosniff {
						t.Errorf("%s: x-content-type-options %q; want %q", path, r.headers["x-content-type-options"], nosniff)
					}
					if r.headers["content-type"] != wantType || r.headers["cache-control"] != "no-store" {
						t.Errorf("%s: headers %v; want %s", path, r.headers, wantType)
					}
				}
			})
		}
	})
}

// With details allowed, each dialect's down+details answers
// (internal/dialectcases) carry our message; privacyIDEA has no hsm field
// without an hsm check.
func TestDialectDetailsAndHSMField(t *testing.T) {
	auth := [2]string{"authorization", "Bearer " + drainToken}
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := rt.mustStart(t, dialectsConfig(dialectcases.DetailsDialects), nil)
		driveState(t, px, dialectcases.Down)
		for path, w := range dialectcases.DetailsDown {
			if r := px.do("GET", path, auth); r.status != w.Status || r.body != w.Body {
				t.Errorf("%s with details = %d %q\nwant %d %q", path, r.status, r.body, w.Status, w.Body)
			}
		}
	})
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		pi := rt.mustStart(t, `{"dialects":["privacyidea"],"checks":[{"name":"app","kind":"http","cluster":"app","type":"soft"}]}`, nil)
		if r := pi.do("GET", "/healthz"); r.status != 200 || r.body != `{"status":"ready"}` {
			t.Errorf("privacyidea without an hsm check = %d %s", r.status, r.body)
		}
	})
}
