package plugin

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshprobe/meshprobe/checks"
)

const engineConfig = `{"refresh":{"interval":"10s","jitter":0},"details":{"expose":"always"},"checks":[
 {"name":"web","kind":"http","cluster":"web","path":"/healthz","headers":{"x-api-key":"k-123"},"failure_threshold":1,
  "expect":{"json":{"status":"UP"}},"observe":"queue"},
 {"name":"hsm","kind":"hsm","cluster":"hsm-gateway","path":"/v1/status","failure_threshold":1},
 {"name":"ledger","kind":"grpc","cluster":"ledger","grpc_service":"ledger.v1.Ledger","failure_threshold":1}]}`

var (
	grpcServing    = []byte{0, 0, 0, 0, 2, 0x08, 1}
	grpcNotServing = []byte{0, 0, 0, 0, 2, 0x08, 2}
	grpcOKTrailer  = [][2]string{{"grpc-status", "0"}}
)

// deps decodes /dependencies (details allowed) into name -> fields.
func deps(t *testing.T, px testProxy) (string, map[string]map[string]any) {
	t.Helper()
	r := px.do("GET", "/health/dependencies")
	var d struct {
		Status       string                    `json:"status"`
		Dependencies map[string]map[string]any `json:"dependencies"`
	}
	if err := json.Unmarshal([]byte(r.body), &d); err != nil || r.status != 200 {
		t.Fatalf("/dependencies = %d %q: %v", r.status, r.body, err)
	}
	return d.Status, d.Dependencies
}

// answer answers every pending callout by cluster, with ok or a failure.
type reply struct {
	status   string // "" = no headers (timeout/reset)
	body     string
	trailers [][2]string
}

func answerAll(t *testing.T, px testProxy, replies map[string]reply) {
	t.Helper()
	for _, c := range px.callouts() {
		r, ok := replies[c.cluster]
		if !ok {
			t.Fatalf("unexpected callout to %s", c.cluster)
		}
		if r.status == "" {
			px.fail(c.id)
			continue
		}
		px.respond(c.id, [][2]string{{":status", r.status}}, []byte(r.body), r.trailers)
	}
}

func TestCalloutRequests(t *testing.T) {
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := rt.mustStart(t, engineConfig, nil)
		px.tick()
		cs := px.callouts()
		if len(cs) != 3 {
			t.Fatalf("%d callouts after the first tick; want one per check (3)", len(cs))
		}
		byCluster := map[string]callout{}
		for _, c := range cs {
			byCluster[c.cluster] = c
		}
		web, grpc := byCluster["web"], byCluster["ledger"]
		if web.headers[":method"] != "GET" || web.headers[":path"] != "/healthz" || web.headers[":authority"] != "web" || web.headers["x-api-key"] != "k-123" {
			t.Errorf("http callout headers %v", web.headers)
		}
		if grpc.headers[":method"] != "POST" || grpc.headers[":path"] != "/grpc.health.v1.Health/Check" ||
			grpc.headers["content-type"] != "application/grpc" || grpc.headers["te"] != "trailers" ||
			string(grpc.body) != "\x00\x00\x00\x00\x12\x0a\x10ledger.v1.Ledger" {
			t.Errorf("grpc callout %v body %q", grpc.headers, grpc.body)
		}
	})
}

func TestEachKindUpAndDown(t *testing.T) {
	up := map[string]reply{
		"web":         {status: "200", body: `{"status":"UP","queue":4}`},
		"hsm-gateway": {status: "200", body: `{"status":"ready"}`},
		"ledger":      {status: "200", body: string(grpcServing), trailers: grpcOKTrailer},
	}
	cases := []struct {
		name    string
		cluster string
		reply   reply
		message string
	}{
		{"http 500", "web", reply{status: "500"}, "status 500"},
		{"http json", "web", reply{status: "200", body: `{"status":"DOWN"}`}, `json status: got "DOWN"`},
		{"http reset", "web", reply{}, "mesh: the response broke off"},
		{"http no healthy upstream", "web", reply{status: "503", body: "no healthy upstream"}, "mesh: no healthy upstream"},
		{"http rbac", "web", reply{status: "403", body: "RBAC: access denied"}, "mesh: denied by a proxy's RBAC policy"},
		{"http connect error", "web", reply{status: "503", body: "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure"}, "mesh: could not connect to the dependency"},
		{"hsm reset", "hsm-gateway", reply{}, "mesh: the response broke off"},
		{"hsm no healthy upstream", "hsm-gateway", reply{status: "503", body: "no healthy upstream"}, "mesh: no healthy upstream"},
		{"grpc reset", "ledger", reply{}, "mesh: the response broke off"},
		{"grpc envoy timeout", "ledger", reply{status: "504", body: "upstream request timeout"}, "timeout after"},
		{"hsm not ready", "hsm-gateway", reply{status: "200", body: `{"status":"degraded"}`}, `json status: got "degraded"`},
		{"hsm garbage", "hsm-gateway", reply{status: "200", body: "\x00\xff garbage"}, "body is not JSON"},
		{"grpc not serving", "ledger", reply{status: "200", body: string(grpcNotServing), trailers: grpcOKTrailer}, "NOT_SERVING"},
		{"grpc unavailable", "ledger", reply{status: "200", trailers: [][2]string{{"grpc-status", "14"}}}, "grpc-status 14 (UNAVAILABLE)"},
		{"grpc malformed", "ledger", reply{status: "200", body: "\x00\x00\x00\x00\x09\x08", trailers: grpcOKTrailer}, "grpc: truncated frame"},
	}
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				px := rt.mustStart(t, engineConfig, nil)
				px.tick()
				answerAll(t, px, up)
				agg, d := deps(t, px)
				if agg != "up" || d["web"]["observed"] != 4.0 || d["web"]["message"] != "status 200" || d["ledger"]["message"] != "SERVING" {
					t.Fatalf("after all up: %s %v", agg, d)
				}
				if r := px.do("GET", "/health/probes/readiness"); r.status != 200 {
					t.Fatalf("readiness %d %s with every check up", r.status, r.body)
				}
				px.advance(10 * time.Second)
				px.tick()
				bad := map[string]reply{}
				for k, v := range up {
					bad[k] = v
				}
				bad[c.cluster] = c.reply
				answerAll(t, px, bad)
				agg, d = deps(t, px)
				name := map[string]string{"web": "web", "hsm-gateway": "hsm", "ledger": "ledger"}[c.cluster]
				msg, _ := d[name]["message"].(string)
				if agg != "down" || d[name]["status"] != "down" || !strings.HasPrefix(msg, c.message) {
					t.Errorf("after failure: %s, %s = %v; want down with %q", agg, name, d[name], c.message)
				}
				r := px.do("GET", "/health/probes/readiness")
				if r.status != 503 || r.body != `{"status":"down","reason":"dependencies"}` {
					t.Errorf("readiness = %d %s", r.status, r.body)
				}
				if r := px.do("GET", "/health/probes/liveness"); r.status != 200 {
					t.Errorf("liveness = %d: it must never depend on a dependency", r.status)
				}
			})
		}
	})
}

// Envoy calls back with no response when a callout times out: each kind
// goes down with a timeout message, and the probe is not stuck.
func TestTimeoutMarksDown(t *testing.T) {
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		for _, kind := range []string{"http", "hsm", "grpc"} {
			t.Run(kind, func(t *testing.T) {
				px := rt.mustStart(t, `{"details":{"expose":"always"},"checks":[{"name":"slow","kind":"`+kind+`","cluster":"s","timeout":"500ms","failure_threshold":1}]}`, nil)
				px.tick()
				c := px.callouts()
				if len(c) != 1 {
					t.Fatalf("%d callouts", len(c))
				}
				px.advance(500 * time.Millisecond)
				px.fail(c[0].id)
				if _, d := deps(t, px); d["slow"]["status"] != "down" || d["slow"]["message"] != "timeout after 500ms" || d["slow"]["latency_ms"] != 500.0 {
					t.Errorf("slow = %v", d["slow"])
				}
				if r := px.do("GET", "/health/probes/readiness"); r.status != 503 {
					t.Errorf("readiness %d", r.status)
				}
			})
		}
	})
}

// failure_threshold 3: two failures keep the check up, the third takes it
// down; success_threshold 2: one success is not enough to come back.
func TestThresholds(t *testing.T) {
	cfg := `{"refresh":{"interval":"1s","jitter":0},"checks":[{"name":"db","kind":"http","cluster":"db","failure_threshold":3,"success_threshold":2}]}`
	steps := []struct {
		status string
		ready  int
	}{{"200", 503}, {"200", 200}, {"500", 200}, {"500", 200}, {"500", 503}, {"200", 503}, {"200", 200}}
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := rt.mustStart(t, cfg, nil)
		for i, s := range steps {
			px.tick()
			answerAll(t, px, map[string]reply{"db": {status: s.status}})
			if r := px.do("GET", "/health/probes/readiness"); r.status != s.ready {
				t.Fatalf("step %d (%s): readiness %d; want %d", i, s.status, r.status, s.ready)
			}
			px.advance(time.Second)
		}
	})
}

func TestSoftAndStartup(t *testing.T) {
	cfg := `{"refresh":{"interval":"1s","jitter":0},"checks":[
		{"name":"app","kind":"http","cluster":"app","failure_threshold":1},
		{"name":"cache","kind":"http","cluster":"cache","type":"soft","failure_threshold":1}]}`
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := rt.mustStart(t, cfg, nil)
		get := func(p string) response { return px.do("GET", p) }
		if r := get("/health/probes/startup"); r.status != 503 {
			t.Fatalf("startup before any result: %d", r.status)
		}
		px.tick()
		answerAll(t, px, map[string]reply{"app": {status: "200"}, "cache": {status: "500"}})
		if agg, _ := deps(t, px); agg != "degraded" || get("/health/probes/readiness").status != 200 || get("/health/probes/startup").status != 200 {
			t.Errorf("soft down: %s; want degraded and ready", agg)
		}
		px.advance(time.Second)
		px.tick()
		answerAll(t, px, map[string]reply{"app": {status: "500"}, "cache": {status: "200"}})
		if r := get("/health/probes/startup"); r.status != 200 {
			t.Errorf("startup went back to %d after a hard check failed", r.status)
		}
		if r := get("/health/probes/readiness"); r.status != 503 {
			t.Errorf("readiness %d with the hard check down", r.status)
		}
	})
}

// Background mode: one callout per check per interval, however many probes
// and ticks arrive in between; probes never dispatch.
func TestOneCalloutPerInterval(t *testing.T) {
	cfg := `{"refresh":{"interval":"2s","jitter":0},"checks":[{"name":"a","kind":"http","cluster":"a"},{"name":"b","kind":"http","cluster":"b"}]}`
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := rt.mustStart(t, cfg, nil)
		if px.tickPeriod() != 400*time.Millisecond {
			t.Errorf("tick period %v", px.tickPeriod())
		}
		total := 0
		for interval := range 3 {
			for step := range 5 { // five ticks per interval, probes in between
				px.tick()
				for range 20 {
					px.do("GET", "/health/probes/readiness")
					px.do("GET", "/health/dependencies")
				}
				n := len(px.callouts())
				total += n
				if step == 0 && n != 2 || step > 0 && n != 0 {
					t.Fatalf("interval %d tick %d: %d new callouts", interval, step, n)
				}
				answerAll(t, px, map[string]reply{"a": {status: "200"}, "b": {status: "200"}})
				px.advance(400 * time.Millisecond)
			}
		}
		if total != 6 {
			t.Errorf("%d callouts in 3 intervals; want 6", total)
		}
	})
}

// Ticks that come late (here 430ms apart, configured 400ms) start a check
// up to a tick after it is due; that must not stretch the period, or a
// dependency would see fewer checks than one per interval (14 here, not 15).
func TestLateTicksKeepThePeriod(t *testing.T) {
	cfg := `{"refresh":{"interval":"2s","jitter":0},"checks":[{"name":"a","kind":"http","cluster":"a"}]}`
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := rt.mustStart(t, cfg, nil)
		total := 0
		for range 70 { // 30.1 s
			px.tick()
			total += len(px.callouts())
			answerAll(t, px, map[string]reply{"a": {status: "200"}})
			px.advance(430 * time.Millisecond)
		}
		if total != 15 {
			t.Errorf("%d checks in 15 intervals; want 15", total)
		}
	})
}

// A summary this build cannot read (garbage, or another build's version)
// leaves readiness to the records, and the next write replaces it.
func TestReadinessWithoutTheSummary(t *testing.T) {
	cfg := `{"refresh":{"interval":"2s","jitter":0},"checks":[{"name":"a","kind":"http","cluster":"a","failure_threshold":1}]}`
	parsed, k := sharedKeys(t, cfg)
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := rt.mustStart(t, cfg, nil)
		run := func(status string) {
			px.tick()
			answerAll(t, px, map[string]reply{"a": {status: status}})
			px.advance(2 * time.Second)
		}
		run("200")
		foreign := slices.Clone(px.shared(k.Summary))
		foreign[0]++ // another version
		for _, summary := range [][]byte{[]byte("garbage"), foreign} {
			px.setShared(k.Summary, summary)
			if r := px.do("GET", "/health/probes/readiness"); r.status != 200 {
				t.Errorf("summary %x: readiness %d with the check up; want 200 from the records", summary, r.status)
			}
		}
		run("500")
		if r := px.do("GET", "/health/probes/readiness"); r.status != 503 {
			t.Errorf("readiness %d with the check down; want 503", r.status)
		}
		s, _, err := checks.Load(pxStore{px}, k, parsed)
		// Bytes 14–15 are the snapshot's digest, which only Summarize writes.
		if got := px.shared(k.Summary); err != nil || len(got) != 16 || !bytes.Equal(got[:14], checks.EncodeSummary(parsed, s)[:14]) {
			t.Errorf("after a write the summary is %x; want the records' %x (%v)", got, checks.EncodeSummary(parsed, s), err)
		}
	})
}

func TestDrain(t *testing.T) {
	cfg := `{"drain":{"enabled":true},"details":{"allow_cidrs":["127.0.0.1/32"]}}`
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := rt.mustStart(t, cfg, props{"source.address": "127.0.0.1:5000"})
		cases := []struct {
			method, path string
			status       int
			body         string
		}{
			{"GET", "/health/drain", 405, ""},
			{"POST", "/health/drain", 200, `{"draining":true}`},
			{"GET", "/health/probes/readiness", 503, `{"status":"down","reason":"draining"}`},
			{"GET", "/health/probes/liveness", 200, `{"status":"up"}`},
			{"GET", "/health/probes/startup", 200, `{"status":"up"}`},
			{"DELETE", "/health/drain/", 200, `{"draining":false}`},
			{"GET", "/health/probes/readiness", 200, `{"status":"up"}`},
		}
		for _, c := range cases {
			r := px.do(c.method, c.path)
			if r.status != c.status || c.body != "" && r.body != c.body {
				t.Errorf("%s %s = %d %s; want %d %s", c.method, c.path, r.status, r.body, c.status, c.body)
			}
			if c.status == 405 && r.headers["allow"] != "POST, DELETE" {
				t.Errorf("405 allow = %q", r.headers["allow"])
			}
		}
		px.tick() // the instance has served: it counts among the live ones
		px.teardown()
		if r := px.do("GET", "/health/probes/readiness"); r.status != 503 || !strings.Contains(r.body, "draining") {
			t.Errorf("after teardown readiness = %d %s", r.status, r.body)
		}
	})
}

func TestDrainNeedsAuthorization(t *testing.T) {
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		// expose "always" shows details to everyone, never the power to drain.
		px := rt.mustStart(t, `{"drain":{"enabled":true},"details":{"expose":"always","allow_cidrs":["127.0.0.1/32"]}}`,
			props{"source.address": "10.1.1.1:5000"})
		if r := px.do("POST", "/health/drain"); r.status != 403 {
			t.Errorf("unauthorized drain = %d", r.status)
		}
		if r := px.do("GET", "/health/probes/readiness"); r.status != 200 {
			t.Errorf("readiness %d after a refused drain", r.status)
		}
	})
}

// Details in /dependencies follow the policy: none for an outsider.
func TestDependencyDetailsGated(t *testing.T) {
	cfg := `{"details":{"allow_cidrs":["127.0.0.1/32"]},"checks":[{"name":"a","kind":"http","cluster":"a","headers":{"authorization":"Bearer hdr-secret"}}]}`
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := rt.mustStart(t, cfg, props{"source.address": "192.0.2.1:1"})
		px.tick()
		answerAll(t, px, map[string]reply{"a": {status: "200"}})
		r := px.do("GET", "/health/dependencies")
		if r.body != `{"status":"up","dependencies":{"a":{"name":"a","type":"hard","status":"up"}}}` {
			t.Errorf("outsider sees %s", r.body)
		}
		for _, l := range px.logs() {
			if strings.Contains(l, "hdr-secret") {
				t.Errorf("secret logged: %q", l)
			}
		}
	})
}

// A cluster the proxy does not know: the dispatch is refused, the check goes
// down with a message that blames the mesh, and nothing crashes or hangs.
func TestUnknownCluster(t *testing.T) {
	cfg := `{"details":{"expose":"always"},"refresh":{"interval":"1s","jitter":0},"checks":[
		{"name":"ghost","kind":"http","cluster":"missing-ghost","failure_threshold":1},
		{"name":"ok","kind":"http","cluster":"ok","failure_threshold":1}]}`
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		if !rt.refusesUnknownClusters {
			t.Skip("proxytest accepts every cluster; the refusal is covered on the wasm runtime and by checks.Refused")
		}
		px := rt.mustStart(t, cfg, nil)
		for range 2 {
			px.tick()
			if cs := px.callouts(); len(cs) != 1 || cs[0].cluster != "ok" {
				t.Fatalf("callouts %v; want only the known cluster", cs)
			}
			answerAll(t, px, map[string]reply{"ok": {status: "200"}})
			px.advance(time.Second)
		}
		_, d := deps(t, px)
		if d["ghost"]["status"] != "down" || d["ghost"]["message"] != `mesh: the proxy refused the call to cluster "missing-ghost" (unknown cluster or malformed request)` {
			t.Errorf("ghost = %v", d["ghost"])
		}
		if r := px.do("GET", "/health/probes/readiness"); r.status != 503 {
			t.Errorf("readiness %d with a hard check on an unknown cluster", r.status)
		}
	})
}
