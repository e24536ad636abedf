package checks

import (
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

// The mirror only moves forward in write sequence, across the u16 wrap: a
// writer that finishes its record first but mirrors it last changes nothing.
func TestSummaryMirror(t *testing.T) {
	versioned := func(version byte, seq uint16) []byte {
		h := make([]byte, 16)
		h[0], h[14], h[15] = version, byte(seq>>8), byte(seq)
		return h
	}
	header := func(seq uint16) []byte { return versioned(codecVersion, seq) }
	for _, c := range []struct {
		name     string
		have     []byte
		put      uint16
		replaced bool
	}{
		{"newer", header(7), 8, true},
		{"older", header(8), 7, false},
		{"same", header(8), 8, false},
		{"across the wrap", header(65535), 0, true},
		{"older across the wrap", header(0), 65535, false},
		// left by a plugin version with another codec (shared data outlives
		// a VM reload): its sequence means nothing to this one
		{"another codec version's, however new", versioned(codecVersion+1, 9), 8, true},
		{"not a header", []byte("garbage"), 8, true},
	} {
		st := newMemStore()
		st.Set("s", c.have, 0)
		if err := mirrorSummary(st, "s", header(c.put)); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, _, _ := st.Get("s")
		want := c.have
		if c.replaced {
			want = header(c.put)
		}
		if string(got) != string(want) {
			t.Errorf("%s: mirror %x; want %x", c.name, got, want)
		}
	}
	st := newMemStore() // a newer mirror lands between the read and the write
	st.Set("s", header(7), 0)
	raced := false
	st.race = func(key string) {
		if !raced {
			raced = true
			st.Set(key, header(9), 0)
		}
	}
	if err := mirrorSummary(st, "s", header(8)); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := st.Get("s"); string(got) != string(header(9)) {
		t.Errorf("raced mirror %x; want the newer %x", got, header(9))
	}
	st = newMemStore() // none yet: written
	if err := mirrorSummary(st, "s", header(3)); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := st.Get("s"); string(got) != string(header(3)) {
		t.Errorf("first mirror %x", got)
	}
}

func TestUpdateCreatesAbsentRecord(t *testing.T) {
	cfg := counterConfig(t)
	st := newMemStore()
	if _, err := Update(st, "k", cfg, func(s *State) { s.Checks[0].Runs++ }); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := Load(st, "k", cfg); s.Checks[0].Runs != 1 || st.sets != 3 {
		t.Errorf("runs %d after %d writes; want 1 after an Ensure, a CAS write and its summary mirror", s.Checks[0].Runs, st.sets)
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
