package checks

import (
	"strings"
	"testing"
)

// A transition is recorded once per change of status, with the result that
// decided it, and only the last maxHistory are kept.
func TestRecordKeepsTransitions(t *testing.T) {
	c := mustParse(t, `{"checks":[{"name":"a","kind":"http","cluster":"a","failure_threshold":2,"success_threshold":1}]}`).Checks[0]
	var cs CheckState
	ok := Outcome{OK: true, Message: "HTTP 200", Latency: 4_000_000}
	bad := Outcome{Message: "HTTP 503", Latency: 9_000_000}
	at := int64(1_000)
	step := func(o Outcome) { at += 1000; cs.Record(&c, o, at) }
	step(bad) // one failure of two: still unknown
	step(ok)  // unknown → up
	step(ok)
	step(bad)
	step(bad) // up → down
	if len(cs.History) != 2 || cs.Transitions != 2 {
		t.Fatalf("history %+v, %d transitions; want 2", cs.History, cs.Transitions)
	}
	want := []Transition{{At: 3000, From: StatusUnknown, To: StatusUp, LatencyMs: 4, Message: "HTTP 200"},
		{At: 6000, From: StatusUp, To: StatusDown, LatencyMs: 9, Message: "HTTP 503"}}
	for i := range want {
		if cs.History[i] != want[i] {
			t.Errorf("transition %d = %+v; want %+v", i, cs.History[i], want[i])
		}
	}
	for range 10 {
		step(ok)
		step(bad)
		step(bad)
	}
	if cs.Transitions != 22 || len(cs.History) != maxHistory || cs.History[maxHistory-1].At != at || cs.History[maxHistory-1].To != StatusDown {
		t.Errorf("after 20 more flips: %d kept, the last %+v; want %d, the newest last", len(cs.History), cs.History[len(cs.History)-1], maxHistory)
	}
}

// The fixed part never passes 255 bytes: the newest messages are kept
// whole (up to historyMessage), older ones cut or dropped.
func TestHistoryFitsTheFixedPart(t *testing.T) {
	cs := CheckState{Message: strings.Repeat("m", 300)}
	for i := range maxHistory {
		cs.History = append(cs.History, Transition{At: int64(i+1) * 1000, From: StatusUp, To: StatusDown, LatencyMs: 70_000,
			Message: strings.Repeat("é", 40)})
	}
	rec := EncodeCheck(&cs)
	if rec[0] != 255 || len(rec) != 255+maxMessage {
		t.Errorf("fixed part %d bytes, record %d; want 255 and %d at most", rec[0], len(rec), 255+maxMessage)
	}
	got, err := DecodeCheck(rec)
	if err != nil || len(got.History) != maxHistory {
		t.Fatalf("decoded %d transitions, %v", len(got.History), err)
	}
	newest, oldest := got.History[maxHistory-1], got.History[0]
	if newest.Message != strings.Repeat("é", historyMessage/2) || newest.LatencyMs != 1<<16-1 {
		t.Errorf("newest kept %q, latency %d", newest.Message, newest.LatencyMs)
	}
	if oldest.Message != "" || oldest.At != 1000 {
		t.Errorf("oldest kept %q at %d; want its message dropped, its time kept", oldest.Message, oldest.At)
	}
}

// Bytes that cannot be a history make the record corrupt, as any bytes a
// record cannot hold.
func TestDecodeRefusesABrokenHistory(t *testing.T) {
	cs := CheckState{History: []Transition{{At: 1000, From: StatusUnknown, To: StatusUp, Message: "ok"}}}
	rec := EncodeCheck(&cs)
	for name, edit := range map[string]func(b []byte){
		"too many transitions":   func(b []byte) { b[checkFixed+4] = maxHistory + 1 },
		"more than the bytes":    func(b []byte) { b[checkFixed+4] = 5 },
		"a status out of range":  func(b []byte) { b[checkFixed+9] = 0x3f },
		"a message past the end": func(b []byte) { b[checkFixed+12] = 9 },
	} {
		b := append([]byte(nil), rec...)
		edit(b)
		if _, err := DecodeCheck(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// /dependencies shows each check's transitions, the newest first, to a
// client allowed details, and nothing of them to another.
func TestDependenciesShowHistory(t *testing.T) {
	cfg := mustParse(t, `{"checks":[{"name":"a","kind":"http","cluster":"a"}]}`)
	s := NewState(cfg)
	s.Checks[0] = CheckState{Status: StatusDown, CheckedAt: 1_700_000_060_000, Message: "HTTP 503",
		History: []Transition{{At: 1_700_000_000_000, From: StatusUnknown, To: StatusUp, LatencyMs: 4, Message: "HTTP 200"},
			{At: 1_700_000_060_000, From: StatusUp, To: StatusDown, LatencyMs: 9, Message: `HTTP 503 "x"`}}}
	a := NewAnswers(cfg, Service{})
	want := `"history":[{"at":"2023-11-14T22:14:20Z","from":"up","to":"down","latency_ms":9,"message":"HTTP 503 \"x\""},` +
		`{"at":"2023-11-14T22:13:20Z","from":"unknown","to":"up","latency_ms":4,"message":"HTTP 200"}]`
	if got := string(a.dependencies(s, true).Body); !strings.Contains(got, want) {
		t.Errorf("with details: %s\nwant it to hold %s", got, want)
	}
	if got := string(a.dependencies(s, false).Body); strings.Contains(got, "history") || strings.Contains(got, "HTTP") {
		t.Errorf("without details: %s", got)
	}
}
