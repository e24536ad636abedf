package plugin

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/meshprobe/meshprobe/internal/testing/dialectcases"
)

const healthJSONConfig = `{"service":{"name":"checkout","version":"1.4.2"},"details":{"token_sha256":["` + "%s" + `"]},
 "refresh":{"interval":"1s","jitter":0},"checks":[
 {"name":"app","kind":"http","cluster":"app","failure_threshold":1},
 {"name":"db","kind":"http","cluster":"db","type":"soft","component_type":"datastore","observe":"conns","failure_threshold":1},
 {"name":"hsm","kind":"hsm","cluster":"hsm","failure_threshold":1}]}`

// The draft's fields for one check entry, and nothing else.
var draftCheckFields = map[string]bool{"componentId": true, "componentType": true, "observedValue": true,
	"observedUnit": true, "status": true, "affectedEndpoints": true, "time": true, "output": true, "links": true}

func TestHealthJSON(t *testing.T) {
	cfg := fmt.Sprintf(healthJSONConfig, tokenHash(drainToken))
	accept := [2]string{"accept", "application/health+json, application/json;q=0.5"}
	auth := [2]string{"authorization", "Bearer " + drainToken}
	cases := []struct {
		state, path string
		details     bool
		code        int
		status      string
		checks      map[string]string // key -> status
	}{
		{"up", "/health/probes/readiness", true, 200, "pass", map[string]string{"app:responseTime": "pass", "hsm:responseTime": "pass"}},
		{"up", "/health/dependencies", true, 200, "pass", map[string]string{"app:responseTime": "pass", "db:responseTime": "pass", "db:conns": "pass", "hsm:responseTime": "pass"}},
		{"degraded", "/health/probes/readiness", false, 200, "warn", map[string]string{"app:responseTime": "pass", "hsm:responseTime": "pass"}},
		{"degraded", "/health/dependencies", true, 200, "warn", map[string]string{"app:responseTime": "pass", "db:responseTime": "warn", "hsm:responseTime": "pass"}},
		{"down", "/health/probes/readiness", true, 503, "fail", map[string]string{"app:responseTime": "fail", "hsm:responseTime": "pass"}},
		{"down", "/health/dependencies", false, 503, "fail", map[string]string{"app:responseTime": "fail", "db:responseTime": "pass", "hsm:responseTime": "pass"}},
	}
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		for _, c := range cases {
			t.Run(c.state+c.path, func(t *testing.T) {
				px := rt.mustStart(t, cfg, nil)
				healthy := map[string]reply{"app": {status: "200"}, "db": {status: "200", body: `{"conns":7}`}, "hsm": {status: "200", body: `{"status":"ready"}`}}
				twoRounds(t, px, healthy, map[string]string{"degraded": "db", "down": "app"}[c.state])
				hdrs := [][2]string{accept}
				if c.details {
					hdrs = append(hdrs, auth)
				}
				r := px.do("GET", c.path, hdrs...)
				if r.status != c.code || r.headers["content-type"] != "application/health+json" || r.headers["cache-control"] != "no-store" {
					t.Fatalf("%d %v %s", r.status, r.headers, r.body)
				}
				var doc dialectcases.HealthJSON
				if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
					t.Fatalf("%v: %s", err, r.body)
				}
				if doc.Status != c.status || doc.Version != "1.4.2" || doc.ServiceID != "checkout" || len(doc.Checks) != len(c.checks) {
					t.Errorf("top level %+v; want status %s and keys %v", doc, c.status, c.checks)
				}
				for key, wantStatus := range c.checks {
					entries := doc.Checks[key]
					if len(entries) != 1 {
						t.Errorf("%s: %d entries", key, len(entries))
						continue
					}
					e := entries[0]
					for f := range e {
						if !draftCheckFields[f] {
							t.Errorf("%s: field %q is not in the draft", key, f)
						}
					}
					name, _, _ := strings.Cut(key, ":")
					wantType := map[string]string{"app": "component", "db": "datastore", "hsm": "system"}[name]
					if e["componentId"] != name || e["componentType"] != wantType || e["status"] != wantStatus {
						t.Errorf("%s = %v; want id %s type %s status %s", key, e, name, wantType, wantStatus)
					}
					if ts, _ := e["time"].(string); !validRFC3339(ts) {
						t.Errorf("%s: time %q", key, e["time"])
					}
					_, hasValue := e["observedValue"]
					_, hasOutput := e["output"]
					if hasValue != c.details || hasOutput != (c.details && wantStatus != "pass") {
						t.Errorf("%s: observedValue %v output %v with details=%v", key, e["observedValue"], e["output"], c.details)
					}
					if c.details && key != "db:conns" && e["observedUnit"] != "ms" {
						t.Errorf("%s: observedUnit %v", key, e["observedUnit"])
					}
					if key == "db:conns" && e["observedValue"] != 7.0 {
						t.Errorf("db:conns observed %v", e["observedValue"])
					}
				}
			})
		}
	})
}

func validRFC3339(s string) bool {
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}
