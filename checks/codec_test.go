package checks

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func sampleState(t testing.TB) (*Config, *State) {
	cfg := mustParse(t, `{"checks":[
		{"name":"a","kind":"http","cluster":"c"},
		{"name":"b","kind":"http","cluster":"c","type":"soft"},
		{"name":"c","kind":"grpc","cluster":"c"}]}`)
	s := NewState(cfg)
	s.Proxy = Proxy{Started: true, ReadyOnce: true}
	s.Checks[0] = CheckState{Status: StatusUp, EverUp: true, ConsecOK: 7, LatencyMs: 12, CheckedAt: 1_700_000_000_123,
		LastOK: 1_700_000_000_000, ChangedAt: 1_699_999_000_000, NextDue: 1_700_000_010_000, Runs: 1 << 40, Fails: 1 << 35,
		Observed: 17.5, HasObserved: true, Grace: true, ClaimedAt: 1_700_000_000_100, Message: "status 200"}
	s.Checks[1] = CheckState{Status: StatusDown, ConsecFail: 65535, CheckedAt: 1_699_000_000_000, Message: "mesh: no healthy upstream — é",
		Transitions: 5, History: []Transition{{At: 1_698_000_000_000, From: StatusUnknown, To: StatusUp, LatencyMs: 3},
			{At: 1_699_000_000_000, From: StatusUp, To: StatusDown, LatencyMs: 65535, Message: "HTTP 503 — é"}}}
	s.Checks[2] = CheckState{Status: StatusUnknown, CheckedAt: 1_699_000_000_001}
	return cfg, s
}

func TestCodecRoundTrip(t *testing.T) {
	cfg, s := sampleState(t)
	for i := range s.Checks {
		got, err := DecodeCheck(EncodeCheck(&s.Checks[i]))
		if err != nil || !reflect.DeepEqual(got, s.Checks[i]) {
			t.Errorf("check %d: round trip = %+v, %v; want %+v", i, got, err, s.Checks[i])
		}
	}
	for _, p := range []Proxy{s.Proxy, {Draining: true}, {}} {
		if got, err := DecodeProxy(EncodeProxy(p)); err != nil || got != p {
			t.Errorf("proxy: round trip = %+v, %v; want %+v", got, err, p)
		}
	}
	for _, in := range []Instances{{Live: 1 << 31}, {Teardown: true}, {}} {
		if got, err := DecodeInstances(EncodeInstances(in)); err != nil || got != in {
			t.Errorf("instances: round trip = %+v, %v; want %+v", got, err, in)
		}
	}
	sum, ok := readSummary(cfg, EncodeSummary(cfg, s))
	want := Summary{Started: true, Ready: false, Reason: ReasonDependencies, Aggregate: AggDegraded}
	if !ok || sum != want {
		t.Errorf("summary %+v; want %+v", sum, want)
	}
	if at, ok := readRefreshedAt(cfg, EncodeSummary(cfg, s)); !ok || at != 1_700_000_000_123 {
		t.Errorf("refreshed at %d (%v); want the latest result's time", at, ok)
	}
	s.Checks[2].CheckedAt = 0 // a check that never ran: stale, whatever the others
	if at, ok := readRefreshedAt(cfg, EncodeSummary(cfg, s)); !ok || at != 0 {
		t.Errorf("refreshed at %d (%v) with a check never run; want 0", at, ok)
	}
	// A long message is clipped on a rune boundary, not split.
	long := CheckState{Message: strings.Repeat("é", 200)}
	got, err := DecodeCheck(EncodeCheck(&long))
	if err != nil || got.Message != strings.Repeat("é", 127) {
		t.Errorf("long message decoded to %d bytes (%v)", len(got.Message), err)
	}
}

// A newer build may append fields to a record's fixed part: this build
// reads what it knows and skips the rest, so both share results during an
// upgrade. A build from before the history wrote 76 bytes of fixed part:
// its records read with no history, and it reads this build's (it skips
// the history as this build skips a newer build's fields).
func TestCodecReadsANewerBuildsRecords(t *testing.T) {
	_, s := sampleState(t)
	rec := EncodeCheck(&s.Checks[1])
	fixed := int(rec[0])
	newer := append([]byte{byte(fixed + 5)}, rec[1:fixed]...) // fields this build knows, then 5 it does not
	newer = append(append(newer, 1, 2, 3, 4, 5), rec[fixed:]...)
	if got, err := DecodeCheck(newer); err != nil || !reflect.DeepEqual(got, s.Checks[1]) {
		t.Errorf("a newer build's check record: %+v, %v; want %+v", got, err, s.Checks[1])
	}
	older := append([]byte{checkFixed}, rec[1:checkFixed]...) // a build before the history
	older = append(older, rec[fixed:]...)
	want := s.Checks[1]
	want.Transitions, want.History = 0, nil
	if got, err := DecodeCheck(older); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("a record from before the history: %+v, %v; want %+v", got, err, want)
	}
	p := EncodeProxy(s.Proxy)
	p = append(p, 9, 9) // a newer build's field
	p[0] = proxySize + 2
	if got, err := DecodeProxy(p); err != nil || got != s.Proxy {
		t.Errorf("a newer build's proxy record: %+v, %v; want %+v", got, err, s.Proxy)
	}
}

func TestReadSummaryAllocatesNothing(t *testing.T) {
	cfg, s := sampleState(t)
	b := EncodeSummary(cfg, s)
	if n := testing.AllocsPerRun(100, func() { readSummary(cfg, b) }); n != 0 {
		t.Errorf("readSummary allocates %v times", n)
	}
}

func TestDecodeRefuses(t *testing.T) {
	cfg, s := sampleState(t)
	good := EncodeCheck(&s.Checks[1])
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := map[string][]byte{
		"empty":           nil,
		"short":           good[:10],
		"fixed too short": mutate(func(b []byte) []byte { b[0] = 40; return b }),
		"fixed past end":  mutate(func(b []byte) []byte { b[0] = 250; return b }),
		"bad status":      mutate(func(b []byte) []byte { b[1] = 7; return b }),
		"message overrun": mutate(func(b []byte) []byte { b[67] = 255; return b }),
		"trailing bytes":  append(append([]byte(nil), good...), 'x'),
	}
	for name, b := range cases {
		if _, err := DecodeCheck(b); err != ErrCorrupt {
			t.Errorf("check record, %s: err %v; want ErrCorrupt", name, err)
		}
	}
	proxy := EncodeProxy(s.Proxy)
	for name, b := range map[string][]byte{"empty": nil, "short": proxy[:5], "length": append(proxy, 0)} {
		if _, err := DecodeProxy(b); err != ErrCorrupt {
			t.Errorf("proxy record, %s: err %v; want ErrCorrupt", name, err)
		}
	}
	other := mustParse(t, `{"checks":[{"name":"a","kind":"http","cluster":"c"}]}`)
	if _, ok := readSummary(other, EncodeSummary(cfg, s)); ok {
		t.Error("summary of a configuration with another number of checks read")
	}
}

// FuzzDecode: no check record makes DecodeCheck panic; what decodes
// re-encodes to a record that decodes the same.
func FuzzDecode(f *testing.F) {
	_, s := sampleState(f)
	f.Add(EncodeCheck(&s.Checks[0]))
	f.Add(EncodeCheck(&s.Checks[1]))
	f.Add([]byte{76, 1, 0, 0, 0, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := DecodeCheck(b)
		if err != nil {
			return
		}
		back, err := DecodeCheck(EncodeCheck(&got))
		if err != nil || !reflect.DeepEqual(back, got) && !math.IsNaN(got.Observed) {
			t.Fatalf("re-encoded record does not decode to the same state: %v", err)
		}
	})
}
