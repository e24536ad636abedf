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
	s.Started, s.RefreshedAt = true, 1_700_000_000_123
	s.Checks[0] = CheckState{Status: StatusUp, EverUp: true, ConsecOK: 7, LatencyMs: 12, CheckedAt: 1_700_000_000_000,
		LastOK: 1_700_000_000_000, ChangedAt: 1_699_999_000_000, NextDue: 1_700_000_010_000, Runs: 1 << 40, Fails: 1 << 35, Observed: 17.5, HasObs: true, Message: "status 200"}
	s.Checks[1] = CheckState{Status: StatusDown, ConsecFail: 65535, Message: "mesh: no healthy upstream — é"}
	return cfg, s
}

func TestCodecRoundTrip(t *testing.T) {
	cfg, s := sampleState(t)
	got, err := Decode(cfg, Encode(cfg, s))
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("round trip = %+v, %v; want %+v", got, err, s)
	}
	sum, ok := ReadSummary(cfg, Encode(cfg, s))
	want := Summary{Started: true, Ready: false, Reason: ReasonDependencies, Aggregate: AggDegraded}
	if !ok || sum != want {
		t.Errorf("summary %+v; want %+v", sum, want)
	}
	// A long message is clipped on a rune boundary, not split.
	s.Checks[2].Message = strings.Repeat("é", 200)
	got, err = Decode(cfg, Encode(cfg, s))
	if err != nil || len(got.Checks[2].Message) != 254 || got.Checks[2].Message != strings.Repeat("é", 127) {
		t.Errorf("long message decoded to %d bytes (%v)", len(got.Checks[2].Message), err)
	}
}

func TestReadSummaryAllocatesNothing(t *testing.T) {
	cfg, s := sampleState(t)
	b := Encode(cfg, s)
	if n := testing.AllocsPerRun(100, func() { ReadSummary(cfg, b) }); n != 0 {
		t.Errorf("ReadSummary allocates %v times", n)
	}
}

func TestDecodeRefuses(t *testing.T) {
	cfg, s := sampleState(t)
	good := Encode(cfg, s)
	other := mustParse(t, `{"checks":[{"name":"a","kind":"http","cluster":"c"}]}`)
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := map[string][]byte{
		"empty":           nil,
		"short header":    good[:10],
		"wrong version":   mutate(func(b []byte) []byte { b[0] = 9; return b }),
		"short records":   good[:HeaderSize+recordSize],
		"bad status":      mutate(func(b []byte) []byte { b[HeaderSize] = 7; return b }),
		"message overrun": mutate(func(b []byte) []byte { b[HeaderSize+58] = 255; return b }),
		"trailing bytes":  append(append([]byte(nil), good...), 'x'),
	}
	for name, b := range cases {
		if _, err := Decode(cfg, b); err != ErrCorrupt {
			t.Errorf("%s: err %v; want ErrCorrupt", name, err)
		}
	}
	if _, err := Decode(other, good); err != ErrCorrupt {
		t.Errorf("record of another configuration decoded: %v", err)
	}
	if _, ok := ReadSummary(other, good); ok {
		t.Error("summary of another configuration read")
	}
}

// FuzzDecode: no record makes Decode panic; what decodes re-encodes to the
// same bytes, and its summary agrees with the state.
func FuzzDecode(f *testing.F) {
	cfg, s := sampleState(f)
	f.Add(Encode(cfg, s))
	f.Add(Encode(cfg, NewState(cfg)))
	f.Add([]byte{1, 0, 0, 0, 0, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Decode(cfg, b)
		if err != nil {
			return
		}
		again := Encode(cfg, got)
		back, err := Decode(cfg, again)
		if err != nil || !reflect.DeepEqual(back, got) && !hasNaN(got) {
			t.Fatalf("re-encoded record does not decode to the same state: %v", err)
		}
		sum, ok := ReadSummary(cfg, again)
		if mirrored, _ := ReadSummary(cfg, again[:HeaderSize]); mirrored != sum {
			t.Fatalf("the mirrored header reads %+v, the record %+v", mirrored, sum)
		}
		ready, why := got.Ready(cfg)
		if !ok || sum.Ready != ready || sum.Reason != why || sum.Aggregate != got.Aggregate(cfg) {
			t.Fatalf("summary %+v disagrees with state (%v %q %v)", sum, ready, why, got.Aggregate(cfg))
		}
	})
}

func hasNaN(s *State) bool {
	for _, c := range s.Checks {
		if math.IsNaN(c.Observed) {
			return true
		}
	}
	return false
}
