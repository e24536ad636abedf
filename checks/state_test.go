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

// Readiness drains when a configuration's last live instance is torn
// down, until one joins again: an older build's teardown, after a newer
// one of the same configuration joined, drains nothing.
func TestTeardown(t *testing.T) {
	cfg := mustParse(t, `{}`)
	s := NewState(cfg)
	var in Instances
	in.Join() // the old build
	in.Join() // the newer build, same configuration
	in.Leave()
	if s.Teardown = in.Teardown; !s.Summary(cfg).Ready {
		t.Error("the old build's teardown drained the newer one")
	}
	in.Leave()
	if s.Teardown = in.Teardown; s.Summary(cfg).Ready || s.Summary(cfg).Reason != ReasonDraining {
		t.Errorf("after the last teardown: %+v", s.Summary(cfg))
	}
	back, err := DecodeInstances(EncodeInstances(in))
	if sum, _ := readSummary(cfg, EncodeSummary(cfg, s)); err != nil || !back.Teardown || !sum.Draining || sum.Ready {
		t.Errorf("teardown lost in the records: %+v %+v", back, sum)
	}
	in.Join() // re-added
	if s.Teardown = in.Teardown; !s.Summary(cfg).Ready {
		t.Error("a new instance did not clear the teardown")
	}
}
