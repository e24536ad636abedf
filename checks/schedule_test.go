package checks

import (
	"testing"
	"time"
)

func TestTickAndLease(t *testing.T) {
	cases := map[string]time.Duration{
		`{}`:                               time.Second,
		`{"refresh":{"interval":"2s"}}`:    400 * time.Millisecond,
		`{"refresh":{"interval":"100ms"}}`: 100 * time.Millisecond,
		`{"checks":[{"name":"a","kind":"http","cluster":"c","interval":"1s","timeout":"1s"}]}`: 200 * time.Millisecond,
	}
	for cfg, want := range cases {
		c := mustParse(t, cfg)
		if got := c.TickPeriod(); got != want || c.LeaseTTL() != 3*want {
			t.Errorf("%s: tick %v lease %v; want %v and %v", cfg, got, c.LeaseTTL(), want, 3*want)
		}
	}
}

func TestNextDueJitter(t *testing.T) {
	c := mustParse(t, `{"refresh":{"interval":"10s","jitter":"10%"},"checks":[
		{"name":"a","kind":"http","cluster":"c"},
		{"name":"b","kind":"http","cluster":"c","interval":"1s"}]}`)
	lo := func(int64) int64 { return 0 }
	hi := func(n int64) int64 { return n - 1 }
	cases := []struct {
		i        int
		rnd      func(int64) int64
		want     int64
		wantSpan string
	}{
		{0, lo, 1000 + 10000 - 500, "earliest"},
		{0, hi, 1000 + 10000 + 500, "latest"},
		{1, lo, 1000 + 1000 - 50, "per-check interval"},
	}
	for _, tc := range cases {
		if got := c.NextDue(tc.i, 1000, tc.rnd); got != tc.want {
			t.Errorf("%s: NextDue = %d; want %d", tc.wantSpan, got, tc.want)
		}
	}
	none := mustParse(t, `{"refresh":{"jitter":0},"checks":[{"name":"a","kind":"http","cluster":"c"}]}`)
	if got := none.NextDue(0, 1000, func(int64) int64 { panic("no jitter, no draw") }); got != 11000 {
		t.Errorf("no jitter: %d", got)
	}
}

func TestDue(t *testing.T) {
	s := &State{Checks: []CheckState{{NextDue: 0}, {NextDue: 500}, {NextDue: 501}}}
	if got := s.Due(500, nil); len(got) != 2 || got[0] != 0 || got[1] != 1 {
		t.Errorf("Due = %v", got)
	}
}

func TestSharedKeys(t *testing.T) {
	s1, l1 := SharedKeys("mp", []byte(`{"a":1}`))
	s2, _ := SharedKeys("mp", []byte(`{"a":2}`))
	s3, _ := SharedKeys("other", []byte(`{"a":1}`))
	if s1 == s2 || s1 == s3 || s1 == l1 || s1[:len("meshprobe/mp/")] != "meshprobe/mp/" {
		t.Errorf("keys %q %q %q %q", s1, s2, s3, l1)
	}
}
