package plugin

import (
	"testing"
	"time"

	"github.com/meshprobe/meshprobe/checks"
)

const onRequestConfig = `{"refresh":{"mode":"on_request","ttl":"2s"},"checks":[
 {"name":"a","kind":"http","cluster":"a","failure_threshold":1},
 {"name":"b","kind":"http","cluster":"b","failure_threshold":1},
 {"name":"c","kind":"grpc","cluster":"c","failure_threshold":1}]}`

var allUp = map[string]reply{"a": {status: "200"}, "b": {status: "200"}, "c": {status: "200", body: string(grpcServing), trailers: grpcOKTrailer}}

// A stale probe pauses and asks for a tick, on which every check goes out
// at once from the root context; probes arriving meanwhile join the same
// refresh run; all are answered when the last returns. (Natively the emulator
// cannot deliver a reply to a stream other than the running one, and
// every refresh run's answers come on the root context: the wasm run checks
// the answers.)
func TestOnRequestFanOut(t *testing.T) {
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := rt.mustStart(t, onRequestConfig, nil)
		first := px.begin("GET", "/health/probes/readiness")
		if r := first.result(); r.passed || r.status != 0 {
			t.Fatalf("stale probe answered at once (%d) instead of pausing", r.status)
		}
		if n := len(px.callouts()); n != 0 {
			t.Fatalf("%d callouts from the probe's own stream; want none before the tick", n)
		}
		second := px.begin("GET", "/health/dependencies")
		if r := px.do("GET", "/health/probes/liveness"); r.status != 200 {
			t.Errorf("liveness waited on the refresh run: %d", r.status)
		}
		px.tick()
		if n := len(px.callouts()); n != 3 {
			t.Fatalf("%d callouts on the tick; want all 3 in parallel, once for both probes", n)
		}
		px.tick() // a refresh run goes out once
		if n := len(px.callouts()); n != 3 {
			t.Fatalf("%d callouts after a second tick; want still 3", n)
		}
		answerAll(t, px, allUp)
		if rt.effectiveContext {
			if r := first.result(); r.status != 200 || r.body != `{"status":"up"}` {
				t.Errorf("first probe = %d %s after the refresh run", r.status, r.body)
			}
			if r := second.result(); r.status != 200 || r.body[:15] != `{"status":"up",` {
				t.Errorf("joined probe = %d %s after the refresh run", r.status, r.body)
			}
		}
		first.close()
		second.close()
		// Fresh state: answered at once, no callouts.
		px.advance(1500 * time.Millisecond)
		if r := px.do("GET", "/health/probes/readiness"); r.status != 200 || len(px.callouts()) != 0 {
			t.Errorf("fresh probe = %d with %d callouts", r.status, len(px.callouts()))
		}
		// Stale again: a new refresh run, which sees a failure.
		px.advance(time.Second)
		third := px.begin("GET", "/health/probes/readiness")
		px.tick()
		if n := len(px.callouts()); n != 3 {
			t.Fatalf("%d callouts for the stale probe", n)
		}
		answerAll(t, px, map[string]reply{"a": {status: "500"}, "b": {status: "200"}, "c": {}})
		if rt.effectiveContext {
			if r := third.result(); r.status != 503 || r.body != `{"status":"down","reason":"dependencies"}` {
				t.Errorf("probe after failures = %d %s", r.status, r.body)
			}
		}
		third.close()
	})
}

// A probe client that gives up before the dependencies answer (its stream
// ends) does not lose the refresh run: the answers are recorded, so the next
// probe finds fresh state and sends nothing, and a probe that joined is
// still answered.
func TestOnRequestProbeGone(t *testing.T) {
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := rt.mustStart(t, onRequestConfig, nil)
		gone := px.begin("GET", "/health/probes/readiness")
		joined := px.begin("GET", "/health/probes/startup")
		px.tick()
		gone.close()
		answerAll(t, px, allUp)
		if rt.effectiveContext {
			if r := joined.result(); r.status != 200 || r.body != `{"status":"up"}` {
				t.Errorf("joined probe = %d %s after the first left", r.status, r.body)
			}
		}
		joined.close()
		px.advance(500 * time.Millisecond)
		if r := px.do("GET", "/health/probes/readiness"); r.status != 200 || len(px.callouts()) != 0 {
			t.Errorf("next probe = %d %s with %d callouts; want 200 from the recorded refresh run, none sent", r.status, r.body, len(px.callouts()))
		}
	})
}

// startRefreshed starts an on_request proxy whose state one refresh run, all
// up, has just refreshed.
func startRefreshed(t *testing.T, rt runtime) testProxy {
	t.Helper()
	px := rt.mustStart(t, onRequestConfig, nil)
	first := px.begin("GET", "/health/probes/readiness")
	px.tick()
	answerAll(t, px, allUp)
	first.close()
	return px
}

// A refresh time in the future (a clock stepped back, a foreign writer) is
// not fresh: once the state is older than the ttl by this proxy's clock the
// next probe refreshes it, instead of trusting it for an hour.
func TestOnRequestFutureRefreshTime(t *testing.T) {
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := startRefreshed(t, rt)
		rewriteCheck(t, px, onRequestConfig, 0, func(s *checks.CheckState) { s.CheckedAt = now().UnixMilli() + time.Hour.Milliseconds() })
		px.advance(3 * time.Second) // past the 2s ttl
		probe := px.begin("GET", "/health/probes/readiness")
		px.tick()
		if n := len(px.callouts()); n != 3 {
			t.Errorf("%d callouts for a probe of state refreshed an hour ahead; want a refresh run of 3", n)
		}
		answerAll(t, px, allUp)
		probe.close()
	})
}

// On request, staleness is read from the summary; a summary this build
// cannot read falls back to the records, so fresh state is still fresh and
// no refresh run goes out.
func TestOnRequestWithoutTheSummary(t *testing.T) {
	_, k := sharedKeys(t, onRequestConfig)
	summary := k.Summary
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := startRefreshed(t, rt)
		px.setShared(summary, []byte("garbage"))
		px.advance(1500 * time.Millisecond)
		if r := px.do("GET", "/health/probes/readiness"); r.status != 200 || len(px.callouts()) != 0 {
			t.Errorf("fresh probe with an unreadable summary = %d with %d callouts; want 200 with none", r.status, len(px.callouts()))
		}
	})
}
