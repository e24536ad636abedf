package checks

import "testing"

func TestAggregateAndReadiness(t *testing.T) {
	cfg := mustParse(t, `{"checks":[
		{"name":"app","kind":"http","cluster":"a"},
		{"name":"cache","kind":"http","cluster":"b","type":"soft"},
		{"name":"warm","kind":"http","cluster":"c","gates":["startup"]}]}`)
	U, D, X := StatusUp, StatusDown, StatusUnknown
	cases := []struct {
		name             string
		app, cache, warm Status
		started, drain   bool
		agg              Aggregate
		ready            bool
		reason           string
	}{
		{"all up", U, U, U, true, false, AggUp, true, ""},
		{"soft down", U, D, U, true, false, AggDegraded, true, ""},
		{"hard down", D, U, U, true, false, AggDown, false, ReasonDependencies},
		{"hard and soft down", D, D, U, true, false, AggDown, false, ReasonDependencies},
		{"unknown", U, X, U, true, false, AggUnknown, true, ""},
		{"soft down beats unknown", X, D, U, true, false, AggDegraded, false, ReasonDependencies},
		{"startup-only gate down after start", U, U, D, true, false, AggDown, true, ""},
		{"not started", U, U, U, false, false, AggUp, false, ReasonStarting},
		{"draining wins", D, U, U, false, true, AggDown, false, ReasonDraining},
	}
	for _, c := range cases {
		s := &State{Proxy: Proxy{Started: c.started, Draining: c.drain}, Checks: []CheckState{{Status: c.app}, {Status: c.cache}, {Status: c.warm}}}
		if got := s.Aggregate(cfg); got != c.agg {
			t.Errorf("%s: aggregate %v; want %v", c.name, got, c.agg)
		}
		if ok, why := s.Ready(cfg); ok != c.ready || why != c.reason {
			t.Errorf("%s: ready %v %q; want %v %q", c.name, ok, why, c.ready, c.reason)
		}
	}
}

func TestNewStateStarted(t *testing.T) {
	for cfgText, want := range map[string]bool{
		`{}`: true,
		`{"checks":[{"name":"a","kind":"http","cluster":"c","type":"soft"}]}`:         true,
		`{"checks":[{"name":"a","kind":"http","cluster":"c","gates":["readiness"]}]}`: true,
		`{"checks":[{"name":"a","kind":"http","cluster":"c"}]}`:                       false,
	} {
		if got := NewState(mustParse(t, cfgText)).Started; got != want {
			t.Errorf("%s: started %v; want %v", cfgText, got, want)
		}
	}
}

// Only the newest instance's teardown drains readiness, until an instance
// starts again.
func TestTeardown(t *testing.T) {
	cfg := mustParse(t, `{}`)
	s := NewState(cfg)
	s.InstanceStarted(1)
	s.InstanceStarted(2) // a changed configuration
	s.InstanceDone(1)    // the old one, after the drain time
	if ok, _ := s.Ready(cfg); !ok {
		t.Error("an old instance's teardown drained the new one")
	}
	s.InstanceDone(2)
	if ok, why := s.Ready(cfg); ok || why != ReasonDraining {
		t.Errorf("after the newest's teardown: %v %q", ok, why)
	}
	back, err := DecodeProxy(EncodeProxy(s.Proxy))
	if sum, _ := ReadSummary(cfg, EncodeSummary(cfg, s)); err != nil || !back.Teardown || !sum.Draining || sum.Ready {
		t.Errorf("teardown lost in the records: %+v %+v", back, sum)
	}
	s.InstanceStarted(3) // re-added
	if ok, _ := s.Ready(cfg); !ok {
		t.Error("a new instance did not clear the teardown")
	}
}
