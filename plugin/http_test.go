package plugin

import (
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
	"time"
)

const oneCheck = `{"checks":[
 {"name":"app","kind":"http","cluster":"inbound|8080||"},
 {"name":"cache","kind":"http","cluster":"redis","type":"soft"}]}`

func TestStandardEndpoints(t *testing.T) {
	cases := []struct {
		name, config, path string
		status             int
		body               string
	}{
		{"liveness no checks", `{}`, "/health/probes/liveness", 200, `{"status":"up"}`},
		{"readiness no checks", `{}`, "/health/probes/readiness", 200, `{"status":"up"}`},
		{"startup no checks", `{}`, "/health/probes/startup", 200, `{"status":"up"}`},
		{"dependencies no checks", `{}`, "/health/dependencies", 200, `{"status":"up","dependencies":{}}`},
		{"liveness with unknown checks", oneCheck, "/health/probes/liveness", 200, `{"status":"up"}`},
		{"readiness waits for checks", oneCheck, "/health/probes/readiness", 503, `{"status":"down","reason":"starting"}`},
		{"startup waits for checks", oneCheck, "/health/probes/startup", 503, `{"status":"down","reason":"starting"}`},
		{"dependencies unknown", oneCheck, "/health/dependencies", 200,
			`{"status":"unknown","dependencies":{"app":{"name":"app","type":"hard","status":"unknown"},"cache":{"name":"cache","type":"soft","status":"unknown"}}}`},
		{"soft-only checks gate nothing", `{"checks":[{"name":"c","kind":"http","cluster":"x","type":"soft"}]}`, "/health/probes/readiness", 200, `{"status":"up"}`},
		{"trailing slash", `{}`, "/health/probes/liveness/", 200, `{"status":"up"}`},
		{"query ignored", `{}`, "/health/probes/readiness?verbose=1&x", 200, `{"status":"up"}`},
		{"custom base path", `{"base_path":"/_meshprobe/"}`, "/_meshprobe/probes/liveness", 200, `{"status":"up"}`},
		{"root base path", `{"base_path":"/"}`, "/probes/liveness", 200, `{"status":"up"}`},
	}
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				px := rt.mustStart(t, c.config, nil)
				// HEAD: GET's status and headers (content-type and
				// content-length included), no body.
				for _, method := range []string{"GET", "HEAD"} {
					r := px.do(method, c.path)
					if r.passed {
						t.Fatalf("%s %s passed through; want a local reply", method, c.path)
					}
					want := c.body
					if method == "HEAD" {
						want = ""
					}
					if r.status != c.status || r.body != want {
						t.Errorf("%s %s = %d %s; want %d %s", method, c.path, r.status, r.body, c.status, want)
					}
					if r.headers["cache-control"] != "no-store" || r.headers["content-type"] != "application/json" ||
						r.headers["content-length"] != strconv.Itoa(len(c.body)) {
						t.Errorf("%s %s headers = %v; want cache-control no-store, content-type application/json, content-length %d", method, c.path, r.headers, len(c.body))
					}
				}
			})
		}
	})
}

// Anything that is not a configured health path continues untouched.
func TestPassThrough(t *testing.T) {
	paths := []string{
		"/", "/healthcheck", "/health", "/health/", "/health/probes", "/health/probes/livenessX",
		"/health/probes/liveness/x", "/health/probes/liveness//", "/HEALTH/probes/liveness", "/health/metrics/json",
		"/health/drain", "/api/orders?path=/health/probes/liveness", "/livez", "/healthz", "",
	}
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := rt.mustStart(t, oneCheck, nil)
		for _, p := range paths {
			for _, m := range []string{"GET", "POST", "DELETE"} {
				extra := [2]string{"authorization", "Bearer abc"}
				r := px.do(m, p, extra)
				if !r.passed {
					t.Errorf("%s %q was answered (%d %s); want pass-through", m, p, r.status, r.body)
					continue
				}
				want := [][2]string{{":method", m}, {":path", p}, {":authority", "svc"}, {":scheme", "http"}, extra}
				if !reflect.DeepEqual(r.reqHeaders, want) {
					t.Errorf("%s %q: request headers changed to %v", m, p, r.reqHeaders)
				}
			}
		}
		if logs := px.logs(); len(logs) != 0 {
			t.Errorf("pass-through traffic logged %q", logs)
		}
	})
}

func TestMethodNotAllowed(t *testing.T) {
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := rt.mustStart(t, `{}`, nil)
		for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get"} {
			r := px.do(m, "/health/probes/liveness")
			if r.status != 405 || r.headers["allow"] != "GET, HEAD" || r.headers["cache-control"] != "no-store" {
				t.Errorf("%s = %d %v; want 405 with allow: GET, HEAD and cache-control: no-store", m, r.status, r.headers)
			}
			if !json.Valid([]byte(r.body)) {
				t.Errorf("%s: 405 body %q is not JSON", m, r.body)
			}
		}
	})
}

// Every reply carries exactly its content type, no-store, and what its
// kind adds, in order. On wasm the host decodes the headers from the wire
// form the plugin serialized once per set, so this also checks that form;
// the table alternates sets so a cached set is never handed to another.
func TestReplyHeaders(t *testing.T) {
	var (
		json    = [2]string{"content-type", "application/json"}
		hjson   = [2]string{"content-type", "application/health+json"}
		text    = [2]string{"content-type", "text/plain; charset=utf-8"}
		noStore = [2]string{"cache-control", "no-store"}
		nosniff = [2]string{"x-content-type-options", "nosniff"}
	)
	cases := []struct {
		method, path string
		extra        [][2]string
		status       int
		want         [][2]string
	}{
		{"GET", "/health/probes/liveness", nil, 200, [][2]string{json, noStore}},
		{"POST", "/health/probes/liveness", nil, 405, [][2]string{json, noStore, {"allow", "GET, HEAD"}}},
		{"GET", "/livez", nil, 200, [][2]string{text, noStore, nosniff}},
		{"GET", "/health/drain", nil, 405, [][2]string{json, noStore, {"allow", "POST, DELETE"}}},
		{"HEAD", "/health/probes/liveness", nil, 200, [][2]string{json, noStore}},
		{"GET", "/health/probes/readiness", [][2]string{{"accept", "application/health+json"}}, 503, [][2]string{hjson, noStore}},
		{"PUT", "/livez", nil, 405, [][2]string{json, noStore, {"allow", "GET, HEAD"}}},
		{"GET", "/health/probes/liveness", nil, 200, [][2]string{json, noStore}},
	}
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := rt.mustStart(t, dialectsConfig(`"standard","kubernetes"`), nil)
		for _, c := range cases {
			r := px.do(c.method, c.path, c.extra...)
			if r.status != c.status || !reflect.DeepEqual(r.headerList, c.want) {
				t.Errorf("%s %s = %d with headers %q; want %d with %q", c.method, c.path, r.status, r.headerList, c.status, c.want)
			}
		}
	})
}

func TestUpIdentity(t *testing.T) {
	node := props{
		"xds.node.metadata.WORKLOAD_NAME":  "checkout-v1",
		"xds.node.metadata.LABELS.app":     "checkout",
		"xds.node.metadata.LABELS.version": "v1",
		"xds.node.metadata.NAMESPACE":      "shop",
		"xds.node.metadata.CLUSTER_ID":     "east-1",
	}
	cases := []struct {
		name, config string
		props        props
		want         map[string]string
	}{
		{"configured", `{"service":{"name":"checkout","version":"1.4.2","commit":"a1b2c3d4","build_date":"2025-03-05T14:00:00Z","region":"us-west","env":"prod"}}`, nil,
			map[string]string{"status": "up", "service_name": "checkout", "version": "1.4.2", "commit": "a1b2c3d4", "build_date": "2025-03-05T14:00:00Z", "region": "us-west", "env": "prod"}},
		{"node metadata", `{}`, node,
			map[string]string{"status": "up", "service_name": "checkout", "version": "v1", "namespace": "shop", "cluster": "east-1"}},
		{"workload name when no app label", `{}`, props{"xds.node.metadata.WORKLOAD_NAME": "checkout-v1"},
			map[string]string{"status": "up", "service_name": "checkout-v1"}},
		{"configuration wins over metadata", `{"service":{"name":"orders","version":"2"}}`, node,
			map[string]string{"status": "up", "service_name": "orders", "version": "2", "namespace": "shop", "cluster": "east-1"}},
		{"nothing known", `{}`, nil, map[string]string{"status": "up"}},
	}
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := rt.mustStart(t, c.config, c.props).do("GET", "/health/up")
				var got map[string]string
				if err := json.Unmarshal([]byte(r.body), &got); err != nil || r.status != 200 {
					t.Fatalf("/up = %d %q (%v)", r.status, r.body, err)
				}
				ts := got["server_timestamp"]
				if _, err := time.Parse(time.RFC3339, ts); err != nil {
					t.Errorf("server_timestamp %q is not RFC 3339: %v", ts, err)
				}
				delete(got, "server_timestamp")
				if !reflect.DeepEqual(got, c.want) {
					t.Errorf("/up = %v; want %v", got, c.want)
				}
			})
		}
	})
}
