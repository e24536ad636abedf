package checks

import (
	"encoding/binary"
	"errors"
	"sync"
	"testing"
)

// memStore mirrors Envoy's shared data: CAS tokens from a global counter,
// cas 0 writes unconditionally, a stale cas is a mismatch. race, when set,
// runs just before each Set, so a test can slip a competing write in.
type memStore struct {
	mu   sync.Mutex
	next uint32
	data map[string]entry
	race func(key string)
	sets int
}

type entry struct {
	v   []byte
	cas uint32
}

func newMemStore() *memStore { return &memStore{data: map[string]entry{}} }

func (m *memStore) Get(key string) ([]byte, uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.data[key]
	if !ok {
		return nil, 0, ErrNotFound
	}
	return append([]byte(nil), e.v...), e.cas, nil
}

func (m *memStore) Set(key string, v []byte, cas uint32) error {
	if r := m.race; r != nil {
		m.race = nil // one competing write per injection
		r(key)
		m.race = r
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sets++
	if e, ok := m.data[key]; ok && cas != 0 && cas != e.cas {
		return ErrCASMismatch
	}
	m.next++
	m.data[key] = entry{append([]byte(nil), v...), m.next}
	return nil
}

func counterConfig(t testing.TB) *Config {
	return mustParse(t, `{"checks":[{"name":"a","kind":"http","cluster":"c"},{"name":"b","kind":"http","cluster":"c"}]}`)
}

// Every Update lands although another writer changes the record between
// each read and write: the loop re-reads and re-applies.
func TestUpdateSurvivesInjectedCASMismatches(t *testing.T) {
	cfg := counterConfig(t)
	st := newMemStore()
	// As the plugin does at start: the record exists before anyone merges.
	if err := Ensure(st, "k", Encode(cfg, NewState(cfg))); err != nil {
		t.Fatal(err)
	}
	rivals, calls := 0, 0
	st.race = func(key string) {
		if key != "k" { // the summary mirror: see TestSummaryMirror
			return
		}
		calls++
		if calls%2 == 1 && rivals < 20 { // before every other attempt: each Update loses once
			rivals++
			if _, err := Update(st, key, cfg, func(s *State) { s.Checks[1].Runs++ }); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 10 {
		if _, err := Update(st, "k", cfg, func(s *State) { s.Checks[0].Runs++ }); err != nil {
			t.Fatal(err)
		}
	}
	st.race = nil
	s, _, _ := Load(st, "k", cfg)
	if s.Checks[0].Runs != 10 || s.Checks[1].Runs != uint64(rivals) {
		t.Errorf("runs a=%d b=%d; want 10 and %d: an update was lost", s.Checks[0].Runs, s.Checks[1].Runs, rivals)
	}
}

// Two "VMs" racing for real on one store lose nothing.
func TestUpdateConcurrentWriters(t *testing.T) {
	cfg := counterConfig(t)
	st := newMemStore()
	if err := Ensure(st, "k", Encode(cfg, NewState(cfg))); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for vm := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				// ErrContended hands the update back; the plugin keeps it and
				// merges it on its next tick. Here: at once.
				for {
					_, err := Update(st, "k", cfg, func(s *State) { s.Checks[vm].Runs++ })
					if err == nil {
						break
					}
					if !errors.Is(err, ErrContended) {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	s, _, _ := Load(st, "k", cfg)
	if s.Checks[0].Runs != 500 || s.Checks[1].Runs != 500 {
		t.Errorf("runs %d and %d; want 500 each", s.Checks[0].Runs, s.Checks[1].Runs)
	}
	rec, _, _ := st.Get("k")
	if mirror, _, _ := st.Get(SummaryKey("k")); string(mirror) != string(rec[:16]) {
		t.Errorf("summary mirror %x; want the last record's header %x", mirror, rec[:16])
	}
}

// The mirror is a copy of the record as it is: whatever it held before
// (an older header, a header with a higher sequence, one from another
// codec version, garbage, nothing) gives way on the next write, and a
// writer that mirrors late leaves the newest record's header.
func TestSummaryMirror(t *testing.T) {
	cfg := counterConfig(t)
	ahead := Encode(cfg, &State{Started: true, Seq: 60000, Checks: make([]CheckState, 2)})[:HeaderSize]
	foreign := append([]byte{codecVersion + 1}, ahead[1:]...)
	for _, have := range [][]byte{nil, ahead, foreign, []byte("garbage"), {}} {
		st := newMemStore()
		if have != nil {
			st.Set(SummaryKey("k"), have, 0)
		}
		// A rebuilt record: its sequence restarts while the old mirror is ahead.
		if _, err := Update(st, "k", cfg, func(s *State) { s.Checks[0].Runs++ }); err != nil {
			t.Fatal(err)
		}
		rec, _, _ := st.Get("k")
		if mirror, _, _ := st.Get(SummaryKey("k")); string(mirror) != string(rec[:HeaderSize]) {
			t.Errorf("mirror was %x: now %x; want the record's header %x", have, mirror, rec[:HeaderSize])
		}
	}
	// Writer A mirrors after B wrote a newer record: A copies B's header.
	st := newMemStore()
	Update(st, "k", cfg, func(*State) {})
	raced := false
	st.race = func(key string) {
		if key == SummaryKey("k") && !raced {
			raced = true
			Update(st, "k", cfg, func(s *State) { s.Draining = true }) // B, entirely
		}
	}
	if _, err := Update(st, "k", cfg, func(s *State) { s.Checks[1].Runs++ }); err != nil { // A
		t.Fatal(err)
	}
	rec, _, _ := st.Get("k")
	s, _, _ := Load(st, "k", cfg)
	mirror, _, _ := st.Get(SummaryKey("k"))
	if !s.Draining || s.Checks[1].Runs != 1 || string(mirror) != string(rec[:HeaderSize]) {
		t.Errorf("after the race: draining %v, runs %d, mirror %x; want both writes and the record's header %x",
			s.Draining, s.Checks[1].Runs, mirror, rec[:HeaderSize])
	}
}

func TestUpdateCreatesAbsentRecord(t *testing.T) {
	cfg := counterConfig(t)
	st := newMemStore()
	if _, err := Update(st, "k", cfg, func(s *State) { s.Checks[0].Runs++ }); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := Load(st, "k", cfg); s.Checks[0].Runs != 1 || st.sets != 4 {
		t.Errorf("runs %d after %d writes; want 1 after an Ensure and a CAS write of the record and the same of its summary mirror", s.Checks[0].Runs, st.sets)
	}
}

func TestUpdateCorruptRecordStartsEmpty(t *testing.T) {
	cfg := counterConfig(t)
	st := newMemStore()
	st.Set("k", []byte("garbage"), 0)
	corrupt, err := Update(st, "k", cfg, func(s *State) { s.Checks[0].Runs++ })
	s, again, _ := Load(st, "k", cfg)
	if !corrupt || err != nil || again || s.Checks[0].Runs != 1 {
		t.Errorf("corrupt=%v err=%v, then corrupt=%v runs=%d", corrupt, err, again, s.Checks[0].Runs)
	}
}

// Once the record is written, a mirror that cannot follow does not fail
// the update: retrying it would apply fn twice.
func TestUpdateLandsWhenTheMirrorCannotFollow(t *testing.T) {
	cfg := counterConfig(t)
	st := newMemStore()
	Update(st, "k", cfg, func(*State) {})
	st.race = func(key string) {
		if key == SummaryKey("k") {
			st.Set(key, []byte("rival"), 0) // every mirror write loses its race
		}
	}
	if _, err := Update(st, "k", cfg, func(s *State) { s.Checks[0].Runs++ }); err != nil {
		t.Errorf("Update = %v after the record was written", err)
	}
	if s, _, _ := Load(st, "k", cfg); s.Checks[0].Runs != 1 {
		t.Errorf("runs %d; want 1", s.Checks[0].Runs)
	}
}

func TestUpdateGivesUpWhenAlwaysLosing(t *testing.T) {
	cfg := counterConfig(t)
	st := newMemStore()
	Ensure(st, "k", Encode(cfg, NewState(cfg)))
	st.race = func(key string) {
		if key == "k" {
			st.Set(key, Encode(cfg, NewState(cfg)), 0)
		}
	}
	if _, err := Update(st, "k", cfg, func(*State) {}); !errors.Is(err, ErrContended) {
		t.Errorf("err %v; want ErrContended", err)
	}
}

func TestLease(t *testing.T) {
	st := newMemStore()
	const ttl = 300
	steps := []struct {
		name  string
		owner uint64
		now   int64
		want  bool
	}{
		{"absent: created expired, nobody wins this tick", 1, 0, false},
		{"first taker", 1, 100, true},
		{"other blocked while held", 2, 150, false},
		{"holder renews", 1, 350, true},
		{"other still blocked", 2, 600, false},
		{"holder stopped renewing: taken after expiry", 2, 650, true},
		{"old holder now blocked", 1, 700, false},
	}
	for _, s := range steps {
		got, err := Acquire(st, "lease", s.owner, s.now, ttl)
		if err != nil || got != s.want {
			t.Errorf("%s: %v, %v; want %v", s.name, got, err, s.want)
		}
	}
	if err := Release(st, "lease", 1); err != nil { // not the holder: no-op
		t.Fatal(err)
	}
	if got, _ := Acquire(st, "lease", 1, 710, ttl); got {
		t.Error("release by a non-holder freed the lease")
	}
	Release(st, "lease", 2)
	if got, _ := Acquire(st, "lease", 1, 720, ttl); !got {
		t.Error("lease not free after its holder released it")
	}
}

// A lease expiring further ahead than its TTL allows (a clock stepped
// back, a foreign writer) is expired: it does not stop the checks.
func TestLeaseFromTheFuture(t *testing.T) {
	st := newMemStore()
	var rec [16]byte
	binary.BigEndian.PutUint64(rec[:], 7)
	binary.BigEndian.PutUint64(rec[8:], uint64(1000+3_600_000)) // an hour ahead
	st.Set("lease", rec[:], 0)
	if got, _ := Acquire(st, "lease", 1, 1000, 300); !got {
		t.Error("a lease an hour in the future kept every other VM out")
	}
	binary.BigEndian.PutUint64(rec[8:], uint64(1000+300)) // exactly a TTL ahead: a real lease
	st.Set("lease", rec[:], 0)
	if got, _ := Acquire(st, "lease", 1, 1000, 300); got {
		t.Error("a lease within its TTL was taken")
	}
	// Another VM read its clock a moment earlier than the holder did.
	st = newMemStore()
	Ensure(st, "lease", make([]byte, 16))
	if got, _ := Acquire(st, "lease", 7, 1000, 300); !got {
		t.Fatal("a free lease was not taken")
	}
	if got, _ := Acquire(st, "lease", 1, 995, 300); got {
		t.Error("a VM whose clock reads 5 ms behind the holder's took a lease just granted")
	}
}

// Two VMs racing for a free lease: exactly one wins a tick.
func TestLeaseRace(t *testing.T) {
	st := newMemStore()
	Ensure(st, "lease", make([]byte, 16))
	st.race = func(key string) {
		if got, _ := Acquire(st, key, 2, 100, 300); !got {
			t.Error("the rival should win: it wrote first")
		}
	}
	if got, _ := Acquire(st, "lease", 1, 100, 300); got {
		t.Error("both VMs believe they hold the lease")
	}
}

// Whatever the record and its summary mirror held (any bytes, or nothing),
// after one state write readiness never reads ready where the record says
// otherwise: what a probe reads (Readiness, from the mirror or the record)
// is exactly the record's summary.
func FuzzReadinessAfterAWrite(f *testing.F) {
	cfg := counterConfig(f)
	up := Encode(cfg, &State{Started: true, Seq: 9, Checks: []CheckState{{Status: StatusUp, EverUp: true}, {Status: StatusUp, EverUp: true}}})
	f.Add(up, up[:HeaderSize], false, false)
	f.Add([]byte("garbage"), up[:HeaderSize], true, false)
	f.Add(up[:20], []byte{}, false, true)
	f.Add([]byte(nil), []byte(nil), true, true)
	f.Fuzz(func(t *testing.T, record, mirror []byte, fail, drain bool) {
		st := newMemStore()
		if record != nil {
			st.Set("k", record, 0)
		}
		if mirror != nil {
			st.Set(SummaryKey("k"), mirror, 0)
		}
		ch := &cfg.Checks[0]
		if _, err := Update(st, "k", cfg, func(s *State) {
			s.Checks[0].Record(ch, Outcome{OK: !fail, Message: "m"}, 1000)
			s.Draining = s.Draining || drain
		}); err != nil {
			t.Fatal(err)
		}
		load := func() *State {
			s, corrupt, err := Load(st, "k", cfg)
			if corrupt || err != nil {
				t.Fatalf("the record after a write: corrupt %v, %v", corrupt, err)
			}
			return s
		}
		m, _, _ := st.Get(SummaryKey("k"))
		got, want := Readiness(cfg, m, load), load().Summary(cfg)
		if got.Ready && !want.Ready {
			t.Fatalf("readiness reads ready; the record says not (%s)", want.Reason)
		}
		if got != want {
			t.Fatalf("readiness reads %+v; the record says %+v", got, want)
		}
	})
}
