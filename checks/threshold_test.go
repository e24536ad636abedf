package checks

import (
	"testing"
)

// Sequences of results (S success, F failure) and the status after each.
func TestThresholdSequences(t *testing.T) {
	cases := []struct {
		name       string
		fail, succ int
		seq, want  string // want: U up, D down, ? unknown, one per result
	}{
		{"defaults: two failures keep up, third takes down", 3, 1, "SFFFS", "UUUDU"},
		{"unknown until a threshold is met", 3, 1, "FFFS", "??DU"},
		{"success threshold 2", 3, 2, "SSFFFSS", "?UUUD" + "DU"},
		{"flapping never reaches failure threshold", 3, 1, "SFSFFSFFS", "UUUUUUUUU"},
		{"flapping never reaches success threshold", 1, 3, "FSSFSSFSSS", "DDDDDDDDDU"},
		{"threshold 1 follows every result", 1, 1, "SFSF", "UDUD"},
	}
	for _, c := range cases {
		ch := &Check{FailureThreshold: c.fail, SuccessThreshold: c.succ}
		var s CheckState
		got, changed := "", int64(0)
		for i, r := range c.seq {
			s.Record(ch, Outcome{OK: r == 'S', Message: "m"}, int64(i+1))
			g := map[Status]string{StatusUp: "U", StatusDown: "D", StatusUnknown: "?"}[s.Status]
			if g != "?" && (got == "" || got[len(got)-1:] != g) {
				changed = int64(i + 1) // the result that changed the status
			}
			got += g
		}
		if s.ChangedAt != changed {
			t.Errorf("%s: changed at %d; want %d", c.name, s.ChangedAt, changed)
		}
		if got != c.want {
			t.Errorf("%s: %s gives %s; want %s", c.name, c.seq, got, c.want)
		}
		fails := 0
		for _, r := range c.seq {
			if r == 'F' {
				fails++
			}
		}
		if s.Runs != uint64(len(c.seq)) || s.Fails != uint64(fails) || s.CheckedAt != int64(len(c.seq)) {
			t.Errorf("%s: runs %d fails %d checked %d", c.name, s.Runs, s.Fails, s.CheckedAt)
		}
	}
}

func TestStartedLatch(t *testing.T) {
	cfg := mustParse(t, `{"checks":[
		{"name":"a","kind":"http","cluster":"c","failure_threshold":1},
		{"name":"b","kind":"http","cluster":"c","gates":["startup"],"failure_threshold":1},
		{"name":"soft","kind":"http","cluster":"c","type":"soft"}]}`)
	s := NewState(cfg)
	step := func(i int, ok bool) {
		s.Checks[i].Record(&cfg.Checks[i], Outcome{OK: ok}, 1)
		s.Latch(cfg)
	}
	step(0, true)
	if s.Started {
		t.Fatal("started with b never up")
	}
	step(0, false) // a was up once: that counts even though it is down now
	step(1, true)
	if !s.Started {
		t.Fatal("not started after every startup gate was up once")
	}
	step(1, false)
	step(0, false)
	if !s.Started {
		t.Fatal("started went back to false")
	}
	if ok, why := s.Ready(cfg); ok || why != ReasonDependencies {
		t.Errorf("ready %v %q; want not ready for dependencies", ok, why)
	}
}
