package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshprobe/meshprobe/checks"
	"github.com/meshprobe/meshprobe/internal/testing/wasmhost"
)

// Several worker VMs of one proxy, sharing data as Envoy's workers do, with
// a test-driven clock and callouts answered by the test.

func startWorkers(t *testing.T, workers int, config string, hooks ...func(*wasmhost.Options)) (*wasmhost.Host, *wasmhost.Clock) {
	t.Helper()
	bin := pluginWasm(t)
	clock := wasmhost.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	o := wasmhost.Options{Wasm: bin, PluginConfig: []byte(config), Workers: workers, Clock: clock,
		Properties: map[string]string{"plugin_name": "meshprobe", "source.address": "127.0.0.1:40000"},
	}
	for _, f := range hooks {
		f(&o)
	}
	h := wasmhost.Start(t, o)
	h.RequireConfigured(t)
	return h, clock
}

func status(t *testing.T, vm *wasmhost.VM, method, path string) int {
	t.Helper()
	s := vm.Request([][2]string{{":method", method}, {":path", path}, {":authority", "svc"}})
	defer s.Close()
	if r := s.Reply(); r != nil {
		return r.Status
	}
	return 0
}

func answerAll(h *wasmhost.Host, code string) int {
	n := 0
	for _, c := range h.Callouts() {
		h.Respond(c.ID, [][2]string{{":status", code}}, nil, nil)
		n++
	}
	return n
}

const twoChecks = `{"refresh":{"interval":"2s","jitter":0},"drain":{"enabled":true},
 "details":{"allow_cidrs":["127.0.0.1/32"]},
 "checks":[{"name":"a","kind":"http","cluster":"a","failure_threshold":1},{"name":"b","kind":"http","cluster":"b","failure_threshold":1}]}`

// Four workers all tick and all serve probes; each dependency still gets one
// check per interval, and every worker answers from the same state.
func TestWorkersShareOneCheckPerInterval(t *testing.T) {
	h, clock := startWorkers(t, 4, twoChecks)
	tick := h.VM(0).TickPeriod()
	perCluster := map[string]int{}
	for step := range 5 * 4 { // four intervals of five ticks
		for w := range 4 {
			h.VM(w).Tick()
			for range 10 {
				status(t, h.VM(w), "GET", "/health/probes/readiness")
			}
		}
		for _, c := range h.Callouts() {
			perCluster[c.Cluster]++
		}
		answerAll(h, "200")
		for w := range 4 {
			if got := status(t, h.VM(w), "GET", "/health/probes/readiness"); got != 200 {
				t.Fatalf("step %d: worker %d readiness %d", step, w, got)
			}
		}
		clock.Advance(tick)
	}
	if perCluster["a"] != 4 || perCluster["b"] != 4 {
		t.Errorf("checks per dependency over 4 intervals: %v; want 4 each", perCluster)
	}
}

// The lease holder stops ticking: another worker takes over within the
// lease TTL and the checks go on.
func TestLeaseTakeover(t *testing.T) {
	h, clock := startWorkers(t, 2, twoChecks)
	tick := h.VM(0).TickPeriod()
	h.VM(0).Tick() // VM 0 leads
	h.VM(1).Tick()
	if n := answerAll(h, "200"); n != 2 {
		t.Fatalf("%d callouts in the first round", n)
	}
	for _, c := range h.Callouts() {
		t.Fatalf("leftover callout %v", c)
	}
	// VM 0 goes silent. VM 1 keeps ticking; within 3 ticks (the lease TTL)
	// after the lease ran out it must run the next round.
	elapsed := time.Duration(0)
	for len(h.Callouts()) == 0 && elapsed <= 2*time.Second+3*tick {
		clock.Advance(tick)
		elapsed += tick
		h.VM(1).Tick()
	}
	if cs := h.Callouts(); len(cs) != 2 || cs[0].VM != 1 {
		t.Fatalf("after %v without the leader: callouts %+v; want worker 1 to run both checks", elapsed, cs)
	}
	if elapsed > 2*time.Second+tick {
		t.Errorf("takeover after %v; want at the next interval (2s)", elapsed)
	}
	answerAll(h, "500")
	if got := status(t, h.VM(0), "GET", "/health/probes/readiness"); got != 503 {
		t.Errorf("worker 0 readiness %d; want 503 from worker 1's results", got)
	}
}

// Drain posted to one worker flips readiness on all, and only readiness.
func TestDrainOnOneWorkerFlipsAll(t *testing.T) {
	h, _ := startWorkers(t, 3, `{"drain":{"enabled":true},"details":{"allow_cidrs":["127.0.0.1/32"]}}`)
	if got := status(t, h.VM(2), "POST", "/health/drain"); got != 200 {
		t.Fatalf("drain = %d", got)
	}
	for w := range 3 {
		if r, l := status(t, h.VM(w), "GET", "/health/probes/readiness"), status(t, h.VM(w), "GET", "/health/probes/liveness"); r != 503 || l != 200 {
			t.Errorf("worker %d: readiness %d liveness %d; want 503 and 200", w, r, l)
		}
	}
	status(t, h.VM(0), "DELETE", "/health/drain")
	for w := range 3 {
		if r := status(t, h.VM(w), "GET", "/health/probes/readiness"); r != 200 {
			t.Errorf("worker %d readiness %d after undrain", w, r)
		}
	}
}

// Two workers write at the same moment: worker 1 drains between worker 0's
// reading of the records and its write of the readiness summary after a
// check result. Worker 0's summary write must fail its CAS and read again,
// so the summary holds both the result and the drain.
func TestWorkersRacingWritesLoseNothing(t *testing.T) {
	var h *wasmhost.Host
	racing, raced := false, 0
	h, _ = startWorkers(t, 2, twoChecks, func(o *wasmhost.Options) {
		o.BeforeSharedSet = func(vm int, key string) {
			if racing && vm == 0 && strings.HasSuffix(key, "/summary") {
				racing = false
				raced++
				if got := status(t, h.VM(1), "POST", "/health/drain"); got != 200 {
					t.Errorf("drain on worker 1 during the race = %d", got)
				}
			}
		}
	})
	h.VM(0).Tick()
	cs := h.Callouts()
	if len(cs) != 2 {
		t.Fatalf("%d callouts", len(cs))
	}
	racing = true
	h.Respond(cs[0].ID, [][2]string{{":status", "500"}}, nil, nil) // worker 0 records a result
	if raced != 1 {
		t.Fatalf("the race was not staged (%d)", raced)
	}
	s := h.VM(1).Request([][2]string{{":method", "GET"}, {":path", "/health/dependencies"}, {":authority", "svc"}})
	deps := string(s.Reply().Body)
	s.Close()
	if !strings.Contains(deps, `"a":{"name":"a","type":"hard","status":"down"`) {
		t.Errorf("worker 0's result was lost: %s", deps)
	}
	if got := status(t, h.VM(0), "GET", "/health/probes/readiness"); got != 503 {
		t.Errorf("readiness %d", got)
	}
	s = h.VM(0).Request([][2]string{{":method", "GET"}, {":path", "/health/probes/readiness"}, {":authority", "svc"}})
	body := string(s.Reply().Body)
	s.Close()
	if body != `{"status":"down","reason":"draining"}` {
		t.Errorf("worker 1's drain was lost: readiness %s", body)
	}
}

// Documents on every worker read one snapshot of the records, written with
// the summary: all four workers serve the same /dependencies after each
// write. A record changed behind the summary's back (as a write under
// another configuration of the plugin is, for this one) shows at the lease
// holder's next tick, and a corrupt snapshot sends readers to the records.
func TestWorkersServeOneSnapshot(t *testing.T) {
	const config = `{"refresh":{"interval":"2s","jitter":0},"details":{"allow_cidrs":["127.0.0.1/32"]},
 "checks":[{"name":"a","kind":"http","cluster":"a","failure_threshold":1},{"name":"b","kind":"http","cluster":"b","failure_threshold":1},
 {"name":"c","kind":"http","cluster":"c","failure_threshold":1}]}`
	cfg, err := checks.Parse([]byte(config))
	if err != nil {
		t.Fatal(err)
	}
	k := checks.SharedKeys("meshprobe", cfg, []byte(config))
	h, clock := startWorkers(t, 4, config)
	deps := func(w int) string {
		s := h.VM(w).Request([][2]string{{":method", "GET"}, {":path", "/health/dependencies"}, {":authority", "svc"}})
		defer s.Close()
		return string(s.Reply().Body)
	}
	// agreed is the one /dependencies all workers serve.
	agreed := func(when string) string {
		t.Helper()
		first := deps(0)
		for w := 1; w < 4; w++ {
			if got := deps(w); got != first {
				t.Fatalf("%s: worker %d serves\n%s\nworker 0\n%s", when, w, got, first)
			}
		}
		return first
	}
	for round, codes := range [][3]string{{"200", "500", "200"}, {"500", "500", "200"}, {"200", "200", "200"}} {
		for w := range 4 {
			h.VM(w).Tick()
		}
		for _, c := range h.Callouts() {
			h.Respond(c.ID, [][2]string{{":status", codes[c.Cluster[0]-'a']}}, nil, nil)
		}
		body := agreed("round " + strconv.Itoa(round))
		for i, code := range codes {
			want := `"` + string(rune('a'+i)) + `":{"name":"` + string(rune('a'+i)) + `","type":"hard","status":"` + map[string]string{"200": "up", "500": "down"}[code] + `"`
			if !strings.Contains(body, want) {
				t.Fatalf("round %d: /dependencies lacks %s: %s", round, want, body)
			}
		}
		clock.Advance(2 * time.Second)
	}
	before := agreed("before the change")
	rec, _, _ := h.SharedData(k.Checks[1])
	cs, err := checks.DecodeCheck(rec)
	if err != nil {
		t.Fatal(err)
	}
	cs.Message = "written elsewhere"
	h.SetSharedData(k.Checks[1], checks.EncodeCheck(&cs))
	if got := agreed("after a write behind the summary"); got != before {
		t.Errorf("the write showed before a summary named it: documents read the records, not the snapshot\n%s", got)
	}
	for w := range 4 {
		h.VM(w).Tick() // the lease holder's summary brings the snapshot up to date
	}
	if got := agreed("after a tick"); !strings.Contains(got, "written elsewhere") {
		t.Errorf("a tick later the write does not show: %s", got)
	}
	after := agreed("after a tick")
	h.SetSharedData(k.Snapshot, []byte("garbage"))
	if got := agreed("with a corrupt snapshot"); got != after {
		t.Errorf("with a corrupt snapshot /dependencies reads\n%s\nthe records hold\n%s", got, after)
	}
}

// Four workers tick and record results: each change of a check's status is
// kept once in its history and counted once, in /metrics and in the
// proxy's stat, whichever worker's result made it.
func TestWorkersRecordEachTransitionOnce(t *testing.T) {
	h, clock := startWorkers(t, 4, twoChecks)
	for _, code := range []string{"200", "500", "200", "500", "500", "200"} {
		for w := range 4 {
			h.VM(w).Tick()
		}
		for _, c := range h.Callouts() {
			h.Respond(c.ID, [][2]string{{":status", code}}, nil, nil)
		}
		clock.Advance(2 * time.Second)
	}
	// up, down, up, down, (down), up: 5 changes for each check.
	for w := range 4 {
		s := h.VM(w).Request([][2]string{{":method", "GET"}, {":path", "/health/dependencies"}, {":authority", "svc"}})
		body := string(s.Reply().Body)
		s.Close()
		if n := strings.Count(body, `"from":`); n != 10 {
			t.Errorf("worker %d: %d transitions in /dependencies; want 5 per check: %s", w, n, body)
		}
		s = h.VM(w).Request([][2]string{{":method", "GET"}, {":path", "/health/metrics"}, {":authority", "svc"}})
		metrics := string(s.Reply().Body)
		s.Close()
		if !strings.Contains(metrics, `meshprobe_check_transitions_total{check="a",kind="http",type="hard"} 5`) {
			t.Errorf("worker %d: /metrics lacks 5 transitions of a:\n%s", w, metrics)
		}
	}
	if n, ok := h.Metric(wasmhost.StatPrefix + "meshprobe_check_transitions_total.check=a"); !ok || n != 5 {
		t.Errorf("stat meshprobe_check_transitions_total.check=a = %d (%v); want 5", n, ok)
	}
}
