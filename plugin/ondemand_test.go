package plugin

import (
	"testing"
	"time"
)

const onRequestConfig = `{"refresh":{"mode":"on_request","ttl":"2s"},"checks":[
 {"name":"a","kind":"http","cluster":"a","failure_threshold":1},
 {"name":"b","kind":"http","cluster":"b","failure_threshold":1},
 {"name":"c","kind":"grpc","cluster":"c","failure_threshold":1}]}`

var allUp = map[string]reply{"a": {status: "200"}, "b": {status: "200"}, "c": {status: "200", body: string(grpcServing), trailers: grpcOKTrailer}}

// A stale probe fans every check out at once and pauses; probes arriving
// meanwhile join the same flight; all are answered when the last returns.
func TestOnRequestFanOut(t *testing.T) {
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := rt.mustStart(t, onRequestConfig, nil)
		first := px.begin("GET", "/health/probes/readiness")
		if r := first.result(); r.passed || r.status != 0 {
			t.Fatalf("stale probe answered at once (%d) instead of pausing", r.status)
		}
		if n := len(px.callouts()); n != 3 {
			t.Fatalf("%d callouts; want all 3 in parallel", n)
		}
		second := px.begin("GET", "/health/dependencies")
		if n := len(px.callouts()); n != 3 {
			t.Fatalf("a second probe added callouts (%d); it must join the flight", n)
		}
		if r := px.do("GET", "/health/probes/liveness"); r.status != 200 {
			t.Errorf("liveness waited on the flight: %d", r.status)
		}
		px.tick() // ticks never dispatch in on_request mode
		answerAll(t, px, allUp)
		if r := first.result(); r.status != 200 || r.body != `{"status":"up"}` {
			t.Errorf("first probe = %d %s after the flight", r.status, r.body)
		}
		if rt.effectiveContext {
			if r := second.result(); r.status != 200 || r.body[:15] != `{"status":"up",` {
				t.Errorf("joined probe = %d %s after the flight", r.status, r.body)
			}
		}
		first.close()
		second.close()
		// Fresh state: answered at once, no callouts.
		px.advance(1500 * time.Millisecond)
		if r := px.do("GET", "/health/probes/readiness"); r.status != 200 || len(px.callouts()) != 0 {
			t.Errorf("fresh probe = %d with %d callouts", r.status, len(px.callouts()))
		}
		// Stale again: a new flight, which sees a failure.
		px.advance(time.Second)
		third := px.begin("GET", "/health/probes/readiness")
		if n := len(px.callouts()); n != 3 {
			t.Fatalf("%d callouts for the stale probe", n)
		}
		answerAll(t, px, map[string]reply{"a": {status: "500"}, "b": {status: "200"}, "c": {}})
		if r := third.result(); r.status != 503 || r.body != `{"status":"down","reason":"dependencies"}` {
			t.Errorf("probe after failures = %d %s", r.status, r.body)
		}
		third.close()
	})
}

// If the probe that dispatched goes away, Envoy cancels its callouts: the
// probes that joined are answered from what is known instead of hanging.
func TestOnRequestOwnerGone(t *testing.T) {
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		if !rt.effectiveContext {
			t.Skip("proxytest cannot deliver a reply to a stream other than the running one; covered on the wasm runtime")
		}
		px := rt.mustStart(t, onRequestConfig, nil)
		owner := px.begin("GET", "/health/probes/readiness")
		joined := px.begin("GET", "/health/probes/startup")
		owner.close()
		if r := joined.result(); r.status != 503 || r.body != `{"status":"down","reason":"starting"}` {
			t.Errorf("joined probe = %d %s after the owner left", r.status, r.body)
		}
		joined.close()
	})
}

// On request, staleness is read from the mirrored header; a mirror this
// build cannot read falls back to the whole record, so fresh state is still
// fresh and no flight goes out.
func TestOnRequestWithoutTheMirror(t *testing.T) {
	_, summary := sharedKeys(onRequestConfig)
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := rt.mustStart(t, onRequestConfig, nil)
		first := px.begin("GET", "/health/probes/readiness")
		answerAll(t, px, allUp)
		first.close()
		px.setShared(summary, []byte("garbage"))
		px.advance(1500 * time.Millisecond)
		if r := px.do("GET", "/health/probes/readiness"); r.status != 200 || len(px.callouts()) != 0 {
			t.Errorf("fresh probe with an unreadable mirror = %d with %d callouts; want 200 with none", r.status, len(px.callouts()))
		}
	})
}
