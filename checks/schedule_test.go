package checks

import (
	"slices"
	"strings"
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

func TestNextDue(t *testing.T) {
	c := mustParse(t, `{"refresh":{"interval":"10s","jitter":"10%"},"checks":[
		{"name":"a","kind":"http","cluster":"c"},
		{"name":"b","kind":"http","cluster":"c","interval":"1s"}]}`)
	none := mustParse(t, `{"refresh":{"jitter":0},"checks":[{"name":"a","kind":"http","cluster":"c"}]}`)
	lo := func(int64) int64 { return 0 }
	hi := func(n int64) int64 { return n - 1 }
	noDraw := func(int64) int64 { panic("no jitter, no draw") }
	cases := []struct {
		name     string
		c        *Config
		i        int
		due, now int64
		rnd      func(int64) int64
		want     int64
	}{
		{"never run (due 0): from now, earliest", c, 0, 0, 1000, lo, 1000 + 10000 - 500},
		{"never run: from now, latest", c, 0, 0, 1000, hi, 1000 + 10000 + 500},
		{"per-check interval", c, 1, 0, 1000, lo, 1000 + 1000 - 50},
		{"no jitter", none, 0, 0, 1000, noDraw, 11000},
		{"a late tick does not stretch the period", none, 0, 1000, 1400, noDraw, 11000},
		{"late tick, jittered (ticks 200ms apart)", c, 0, 1000, 1150, hi, 1000 + 10000 + 500},
		{"late by a tick or more: from now", c, 0, 1000, 1200, hi, 1200 + 10000 + 500},
		{"stalled: from now", none, 0, 1000, 5000, noDraw, 15000},
	}
	for _, tc := range cases {
		if got := tc.c.NextDue(tc.i, tc.due, tc.now, tc.rnd); got != tc.want {
			t.Errorf("%s: NextDue = %d; want %d", tc.name, got, tc.want)
		}
	}
}

// Due: at or before now, or further ahead than a schedule ever sets (an
// interval, the jitter and a tick: 1000+100+200 ms here), which only a
// clock stepped back or a foreign writer leaves.
func TestDue(t *testing.T) {
	c := mustParse(t, `{"refresh":{"interval":"1s","jitter":"10%"},"checks":[
		{"name":"a","kind":"http","cluster":"c"},{"name":"b","kind":"http","cluster":"c"},{"name":"c","kind":"http","cluster":"c"},
		{"name":"d","kind":"http","cluster":"c"},{"name":"e","kind":"http","cluster":"c"}]}`)
	s := &State{Checks: []CheckState{{NextDue: 0}, {NextDue: 500}, {NextDue: 501}, {NextDue: 500 + 1300}, {NextDue: 500 + 1301}}}
	if got := s.Due(c, 500, nil); !slices.Equal(got, []int{0, 1, 4}) {
		t.Errorf("Due = %v; want [0 1 4]", got)
	}
}

// Without jitter a claim at t sets the next run exactly an interval ahead;
// another VM whose clock read a few ms earlier must not find it due.
func TestDueAcrossSkewedClocks(t *testing.T) {
	c := mustParse(t, `{"refresh":{"interval":"1s","jitter":0},"checks":[{"name":"a","kind":"http","cluster":"c"}]}`)
	next := c.NextDue(0, 0, 10000, nil) // a first run, claimed at 10000
	s := &State{Checks: []CheckState{{NextDue: next}}}
	for _, now := range []int64{10000, 9999, 9950} {
		if got := s.Due(c, now, nil); len(got) != 0 {
			t.Errorf("a run claimed at 10000 for %d is due again at %d", next, now)
		}
	}
}

func TestFresh(t *testing.T) {
	c := mustParse(t, `{"refresh":{"mode":"on_request","ttl":"2s"}}`)
	for _, tc := range []struct {
		refreshed int64
		want      bool
	}{{10000, true}, {8001, true}, {8000, false}, {10001, false}, {10000 + 3_600_000, false}} {
		if got := c.Fresh(tc.refreshed, 10000); got != tc.want {
			t.Errorf("Fresh(%d, 10000) = %v; want %v", tc.refreshed, got, tc.want)
		}
	}
}

// Keys: the proxy record is the plugin's, the summary and the lease the
// configuration's, a check's record its identity's.
func TestSharedKeys(t *testing.T) {
	text := func(path string) string {
		return `{"checks":[{"name":"a","kind":"http","cluster":"c","path":"` + path + `"}]}`
	}
	keys := func(plugin, config string) Keys { return SharedKeys(plugin, mustParse(t, config), []byte(config)) }
	a, b, other := keys("mp", text("/a")), keys("mp", text("/b")), keys("other", text("/a"))
	renamed := keys("mp", strings.Replace(text("/a"), `"name":"a"`, `"name":"z"`, 1))
	if !strings.HasPrefix(a.Proxy, "meshprobe/mp/v3/") || a.Proxy != b.Proxy || a.Proxy == other.Proxy {
		t.Errorf("proxy keys %q %q %q", a.Proxy, b.Proxy, other.Proxy)
	}
	if a.Summary == b.Summary || a.Lease == b.Lease || a.Summary == a.Lease || a.Summary == renamed.Summary {
		t.Errorf("configuration keys %q %q %q %q", a.Summary, b.Summary, a.Lease, renamed.Summary)
	}
	if a.Checks[0] == b.Checks[0] || a.Checks[0] != renamed.Checks[0] || a.Checks[0] == other.Checks[0] {
		t.Errorf("check keys %q %q %q %q", a.Checks[0], b.Checks[0], renamed.Checks[0], other.Checks[0])
	}
	twice := `{"checks":[{"name":"a","kind":"http","cluster":"c"},{"name":"b","kind":"http","cluster":"c"}]}`
	if k := keys("mp", twice); k.Checks[0] == k.Checks[1] {
		t.Errorf("two checks asking the same share a record: %q", k.Checks)
	}
}
