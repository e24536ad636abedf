package checks

import (
	"encoding/binary"
	"reflect"
	"slices"
	"testing"
)

// threeChecks is a store where three checks have results and the last
// write was summarized, as the plugin leaves it.
func threeChecks(t *testing.T) (*memStore, Keys, *Config) {
	t.Helper()
	cfg := mustParse(t, `{"checks":[{"name":"a","kind":"http","cluster":"c"},{"name":"b","kind":"http","cluster":"c","path":"/b"},`+
		`{"name":"g","kind":"grpc","cluster":"d"}]}`)
	st, k := prepared(t, cfg, "three")
	for i, ok := range []bool{true, false, true} {
		mergeCheck(st, k.Checks[i], func(s *CheckState) {
			s.Record(&cfg.Checks[i], Outcome{OK: ok, Message: "m" + cfg.Checks[i].Name, Latency: 7}, 1000)
		})
	}
	if _, _, err := Summarize(st, k, cfg, false); err != nil {
		t.Fatal(err)
	}
	return st, k, cfg
}

// documentState is readState, and whether it read any check record.
func documentState(t *testing.T, st *memStore, k Keys, cfg *Config) (*State, bool) {
	t.Helper()
	st.read = nil
	s, corrupt, err := readState(st, k, cfg)
	if corrupt || err != nil {
		t.Fatalf("readState: corrupt %v, %v", corrupt, err)
	}
	return s, slices.ContainsFunc(st.read, func(key string) bool { return slices.Contains(k.Checks, key) })
}

// A document reads the summary, the snapshot and the proxy record, and no
// check record, and gets exactly what the records hold.
func TestReadStateFromTheSnapshot(t *testing.T) {
	st, k, cfg := threeChecks(t)
	s, records := documentState(t, st, k, cfg)
	if records || len(st.read) != 3 {
		t.Errorf("readState read %q; want the summary, the snapshot and the proxy record", st.read)
	}
	if want := loaded(t, st, k, cfg); !reflect.DeepEqual(s, want) {
		t.Errorf("from the snapshot\n%+v\nfrom the records\n%+v", s, want)
	}
}

// Whenever the snapshot does not belong to the stored summary, a document
// reads the records, and still gets exactly what they hold.
func TestReadStateFallsBackToTheRecords(t *testing.T) {
	for _, c := range []struct {
		name  string
		stage func(st *memStore, k Keys, cfg *Config)
	}{
		{"an older build wrote a result and its summary, without a digest", func(st *memStore, k Keys, cfg *Config) {
			mergeCheck(st, k.Checks[1], func(s *CheckState) { s.Record(&cfg.Checks[1], Outcome{OK: true}, 2000) })
			s := loaded(t, st, k, cfg)
			st.Set(k.Summary, EncodeSummary(cfg, s), 0) // bytes 14–15 zero, as such builds write them
		}},
		{"the snapshot is another writer's, older (two writers crossed)", func(st *memStore, k Keys, cfg *Config) {
			b, _, _ := st.Get(k.Snapshot)
			mergeCheck(st, k.Checks[0], func(s *CheckState) { s.Record(&cfg.Checks[0], Outcome{Message: "new"}, 2000) })
			Summarize(st, k, cfg, false)
			st.Set(k.Snapshot, b, 0) // the older writer's snapshot lands last
		}},
		{"the snapshot is absent", func(st *memStore, k Keys, cfg *Config) { delete(st.data, k.Snapshot) }},
		{"the summary is garbage", func(st *memStore, k Keys, cfg *Config) { st.Set(k.Summary, []byte("garbage"), 0) }},
	} {
		for _, corrupt := range []struct {
			name string
			edit func(b []byte) []byte
		}{
			{"", func(b []byte) []byte { return b }},
			{", then garbage", func([]byte) []byte { return []byte("garbage") }},
			{", then truncated", func(b []byte) []byte { return b[:len(b)-1] }},
			{", then a byte too many", func(b []byte) []byte { return append(slices.Clone(b), 0) }},
			{", then another version", func(b []byte) []byte { b = slices.Clone(b); b[0]++; return b }},
			{", then one check too few", func(b []byte) []byte { b = slices.Clone(b); b[3]--; return b }},
			{", then a record's length wrong", func(b []byte) []byte { b = slices.Clone(b); b[5]--; return b }},
			{", then a record corrupt", func(b []byte) []byte { b = slices.Clone(b); b[7] = 9; return b }},
		} {
			st, k, cfg := threeChecks(t)
			c.stage(st, k, cfg)
			if b, _, err := st.Get(k.Snapshot); err == nil && corrupt.name != "" {
				// The summary names the corrupt value: only decoding can refuse it.
				b = corrupt.edit(b)
				st.Set(k.Snapshot, b, 0)
				if sum, _, _ := st.Get(k.Summary); len(sum) == SummarySize {
					binary.BigEndian.PutUint16(sum[14:], digest(b))
					st.Set(k.Summary, sum, 0)
				}
			} else if corrupt.name != "" {
				continue
			}
			s, records := documentState(t, st, k, cfg)
			if !records {
				t.Errorf("%s%s: readState read %q, no check record", c.name, corrupt.name, st.read)
			}
			if want := loaded(t, st, k, cfg); !reflect.DeepEqual(s, want) {
				t.Errorf("%s%s: read\n%+v\nthe records hold\n%+v", c.name, corrupt.name, s, want)
			}
		}
	}
}

// The proxy record is read fresh: a drain posted under another
// configuration shows in this one's documents before its summary follows.
func TestReadStateSeesADrainAtOnce(t *testing.T) {
	st, k, cfg := threeChecks(t)
	mergeProxy(st, k.Proxy, func(p *Proxy) { p.Draining = true })
	if s, records := documentState(t, st, k, cfg); !s.Draining || records {
		t.Errorf("draining %v, from the records %v; want the drain, from the snapshot", s.Draining, records)
	}
}

// The lease holder's tick (onlyIfChanged) brings the snapshot up to date
// when a record changed without a change of readiness (a claim, a write
// under another configuration), and writes nothing when nothing changed.
func TestSummarizeOnlyIfChangedKeepsTheSnapshot(t *testing.T) {
	st, k, cfg := threeChecks(t)
	mergeCheck(st, k.Checks[0], func(s *CheckState) { s.LatencyMs = 99 }) // behind the summary's back
	if s, _ := documentState(t, st, k, cfg); s.Checks[0].LatencyMs == 99 {
		t.Fatal("the snapshot saw a write made after it: the test shows nothing")
	}
	Summarize(st, k, cfg, true)
	if s, records := documentState(t, st, k, cfg); s.Checks[0].LatencyMs != 99 || records {
		t.Errorf("after the tick: latency %d, from the records %v; want 99 from the snapshot", s.Checks[0].LatencyMs, records)
	}
	sets := st.sets
	Summarize(st, k, cfg, true)
	if st.sets != sets {
		t.Errorf("a tick with nothing changed wrote %d values", st.sets-sets)
	}
	st.Set(k.Snapshot, []byte("garbage"), 0)
	Summarize(st, k, cfg, true)
	if _, records := documentState(t, st, k, cfg); records {
		t.Error("a tick left a corrupt snapshot in place")
	}
}

// A writer whose snapshot would land after a newer writer's leaves the
// newer one in place: documents then read it, not the records.
func TestSnapshotOfTheLastSummaryStays(t *testing.T) {
	st, k, cfg := threeChecks(t)
	raced := false
	st.race = func(key string) {
		if key == k.Snapshot && !raced { // A wrote its summary; B writes both before A's snapshot
			raced = true
			mergeCheck(st, k.Checks[2], func(s *CheckState) { s.Record(&cfg.Checks[2], Outcome{Message: "B"}, 3000) })
			Summarize(st, k, cfg, false)
		}
	}
	mergeCheck(st, k.Checks[1], func(s *CheckState) { s.Record(&cfg.Checks[1], Outcome{OK: true, Message: "A"}, 3000) })
	if _, _, err := Summarize(st, k, cfg, false); err != nil || !raced {
		t.Fatalf("A's summary: %v (raced %v)", err, raced)
	}
	s, records := documentState(t, st, k, cfg)
	if records {
		t.Errorf("readState read the records (%q): B's snapshot was lost", st.read)
	}
	if want := loaded(t, st, k, cfg); !reflect.DeepEqual(s, want) {
		t.Errorf("read\n%+v\nthe records hold\n%+v", s, want)
	}
}

// A write whose snapshot has the digest of the stored one still replaces
// it, after a write and at the lease holder's tick: writers compare bytes,
// not digests, so a collision never leaves a stale snapshot named.
func TestSnapshotDigestCollision(t *testing.T) {
	st, k, cfg := threeChecks(t)
	// colliding is a latency of check a whose snapshot has the stored digest.
	colliding := func() uint32 {
		s := loaded(t, st, k, cfg)
		d := digest(encodeSnapshot(s))
		for v := s.Checks[0].LatencyMs + 1; v < 1<<24; v++ {
			if s.Checks[0].LatencyMs = v; digest(encodeSnapshot(s)) == d {
				return v
			}
		}
		t.Fatal("no colliding latency")
		return 0
	}
	v := colliding()
	mergeCheck(st, k.Checks[0], func(cs *CheckState) { cs.LatencyMs = v })
	Summarize(st, k, cfg, false)
	if s, records := documentState(t, st, k, cfg); s.Checks[0].LatencyMs != v || records {
		t.Errorf("after a write: latency %d (from the records %v); want %d from the snapshot", s.Checks[0].LatencyMs, records, v)
	}
	v = colliding()
	cs, _ := DecodeCheck(must(st.Get(k.Checks[0])))
	cs.LatencyMs = v
	st.Set(k.Checks[0], EncodeCheck(&cs), 0) // behind the summary's back
	Summarize(st, k, cfg, true)
	if s, records := documentState(t, st, k, cfg); s.Checks[0].LatencyMs != v || records {
		t.Errorf("after a tick: latency %d (from the records %v); want %d from the snapshot", s.Checks[0].LatencyMs, records, v)
	}
}

// must is a stored value, for a test that knows it is there.
func must(b []byte, _ uint32, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
