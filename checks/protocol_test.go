package checks

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"
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
	read []string // keys in the order Get read them
}

type entry struct {
	v   []byte
	cas uint32
}

func newMemStore() *memStore { return &memStore{data: map[string]entry{}} }

func (m *memStore) Get(key string) ([]byte, uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.read = append(m.read, key)
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
	return mustParse(t, `{"checks":[{"name":"a","kind":"http","cluster":"c"},{"name":"b","kind":"http","cluster":"c","path":"/b"}]}`)
}

// prepared is a store holding cfg's records, as the plugin leaves it at start.
func prepared(t testing.TB, cfg *Config, config string) (*memStore, Keys) {
	t.Helper()
	st := newMemStore()
	k := SharedKeys("mp", cfg, []byte(config))
	if err := createRecords(st, k, cfg, 1); err != nil {
		t.Fatal(err)
	}
	return st, k
}

// fields is a summary without its snapshot digest, which only
// Summarize assigns.
func fields(summary []byte) []byte { return summary[:min(len(summary), 14)] }

func loaded(t testing.TB, st Store, k Keys, cfg *Config) *State {
	t.Helper()
	s, corrupt, err := Load(st, k, cfg)
	if corrupt || err != nil {
		t.Fatalf("Load: corrupt %v, %v", corrupt, err)
	}
	return s
}

// Every update lands although another writer changes the record between
// each read and write: the loop re-reads and re-applies.
func TestUpdateSurvivesInjectedCASMismatches(t *testing.T) {
	cfg := counterConfig(t)
	st, k := prepared(t, cfg, "x")
	rivals, calls := 0, 0
	st.race = func(key string) {
		calls++
		if calls%2 == 1 && rivals < 20 { // before every other attempt: each update loses once
			rivals++
			if _, err := mergeCheck(st, key, func(s *CheckState) { s.Fails++ }); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 10 {
		if _, err := mergeCheck(st, k.Checks[0], func(s *CheckState) { s.Runs++ }); err != nil {
			t.Fatal(err)
		}
	}
	st.race = nil
	if s := loaded(t, st, k, cfg); s.Checks[0].Runs != 10 || s.Checks[0].Fails != uint64(rivals) {
		t.Errorf("runs %d fails %d; want 10 and %d: an update was lost", s.Checks[0].Runs, s.Checks[0].Fails, rivals)
	}
}

// Two "VMs" racing for real on one store, each writing both checks and
// summarizing after each write, lose nothing, and the summary left is the
// records'.
func TestUpdateConcurrentWriters(t *testing.T) {
	cfg := counterConfig(t)
	st, k := prepared(t, cfg, "x")
	var wg sync.WaitGroup
	for vm := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 500 {
				// ErrContended hands the update back; the plugin keeps it and
				// merges it on its next tick. Here: at once.
				for {
					_, err := mergeCheck(st, k.Checks[n%2], func(s *CheckState) {
						s.Record(&cfg.Checks[n%2], Outcome{OK: vm == 0}, int64(n+1))
					})
					if err == nil {
						break
					}
					if !errors.Is(err, ErrContended) {
						t.Error(err)
						return
					}
				}
				Summarize(st, k, cfg, false)
			}
		}()
	}
	wg.Wait()
	s := loaded(t, st, k, cfg)
	if s.Checks[0].Runs != 500 || s.Checks[1].Runs != 500 {
		t.Errorf("runs %d and %d; want 500 each", s.Checks[0].Runs, s.Checks[1].Runs)
	}
	if sum, _, _ := st.Get(k.Summary); !bytes.Equal(fields(sum), fields(EncodeSummary(cfg, s))) {
		t.Errorf("summary %x; want the records' %x", sum, EncodeSummary(cfg, s))
	}
}

// The summary is computed from the records as they are: whatever it held
// before (nothing, garbage, another version, a stale "ready") gives way on
// the next write, and a writer that summarizes late leaves the newest.
func TestSummarize(t *testing.T) {
	cfg := counterConfig(t)
	up := &State{Proxy: Proxy{Started: true}, Checks: []CheckState{{Status: StatusUp}, {Status: StatusUp}}}
	stale := EncodeSummary(cfg, up)
	foreign := append([]byte{summaryVersion + 1}, stale[1:]...)
	for _, have := range [][]byte{nil, stale, foreign, []byte("garbage"), {}} {
		st, k := prepared(t, cfg, "x")
		if have != nil {
			st.Set(k.Summary, have, 0)
		}
		mergeCheck(st, k.Checks[0], func(s *CheckState) { s.Runs++ })
		if _, _, err := Summarize(st, k, cfg, false); err != nil {
			t.Fatal(err)
		}
		got, _, _ := st.Get(k.Summary)
		if want := EncodeSummary(cfg, loaded(t, st, k, cfg)); !bytes.Equal(fields(got), fields(want)) {
			t.Errorf("summary was %x: now %x; want the records' %x", have, got, want)
		}
	}
	// A summarizes after B wrote and summarized in between A's reads and
	// its write: A's write loses its race, and A reads again.
	st, k := prepared(t, cfg, "x")
	raced := false
	st.race = func(key string) {
		if key == k.Summary && !raced {
			raced = true
			mergeProxy(st, k.Proxy, func(p *Proxy) { p.Draining = true }) // B, entirely
			Summarize(st, k, cfg, false)
		}
	}
	mergeCheck(st, k.Checks[1], func(s *CheckState) { s.Status = StatusUp })
	if _, _, err := Summarize(st, k, cfg, false); err != nil { // A
		t.Fatal(err)
	}
	sum, _, _ := st.Get(k.Summary)
	if got, _ := readSummary(cfg, sum); !got.Draining {
		t.Errorf("after the race the summary reads %+v: B's drain is lost", got)
	}
}

// A writer whose summary equals the stored one still writes it: else a
// writer that read the records before it could land an older summary
// after it (a drain and an undrain, here).
func TestSummarizeAlwaysWritesAfterAWrite(t *testing.T) {
	cfg := counterConfig(t)
	st, k := prepared(t, cfg, "x")
	Summarize(st, k, cfg, false)
	raced := false
	st.race = func(key string) {
		if key == k.Summary && !raced { // A has read the records: drained
			raced = true
			mergeProxy(st, k.Proxy, func(p *Proxy) { p.Draining = false }) // B undrains
			Summarize(st, k, cfg, false)
		}
	}
	mergeProxy(st, k.Proxy, func(p *Proxy) { p.Draining = true })
	Summarize(st, k, cfg, false) // A
	sum, _, _ := st.Get(k.Summary)
	if got, _ := readSummary(cfg, sum); got.Draining {
		t.Errorf("the summary says draining after the undrain: %+v", got)
	}
}

// The started latch and ReadyOnce are written into the proxy record once
// they hold, so that every configuration sees them.
func TestSummarizeLatches(t *testing.T) {
	cfg := counterConfig(t)
	st, k := prepared(t, cfg, "x")
	for i := range k.Checks {
		mergeCheck(st, k.Checks[i], func(s *CheckState) { s.Record(&cfg.Checks[i], Outcome{OK: true}, 5) })
	}
	if s, _, _ := Summarize(st, k, cfg, false); !s.Started || !s.ReadyOnce {
		t.Fatalf("summarized state %+v; want started and ready once", s.Proxy)
	}
	if p, _, _ := read(st, k.Proxy, DecodeProxy); !p.Started || !p.ReadyOnce {
		t.Errorf("proxy record %+v; want the latch and ReadyOnce written", p)
	}
}

func TestUpdateCreatesAbsentRecord(t *testing.T) {
	st := newMemStore()
	if _, err := mergeCheck(st, "k", func(s *CheckState) { s.Runs++ }); err != nil {
		t.Fatal(err)
	}
	if cs, _, _ := read(st, "k", DecodeCheck); cs.Runs != 1 || st.sets != 2 {
		t.Errorf("runs %d after %d writes; want 1 after an createIfAbsent and a CAS write", cs.Runs, st.sets)
	}
}

func TestUpdateCorruptRecordStartsEmpty(t *testing.T) {
	st := newMemStore()
	st.Set("k", []byte("garbage"), 0)
	corrupt, err := mergeCheck(st, "k", func(s *CheckState) { s.Runs++ })
	cs, again, _ := read(st, "k", DecodeCheck)
	if !corrupt || err != nil || again || cs.Runs != 1 {
		t.Errorf("corrupt=%v err=%v, then corrupt=%v runs=%d", corrupt, err, again, cs.Runs)
	}
}

func TestUpdateGivesUpWhenAlwaysLosing(t *testing.T) {
	st := newMemStore()
	createIfAbsent(st, "k", EncodeCheck(&CheckState{}))
	st.race = func(key string) { st.Set(key, EncodeCheck(&CheckState{}), 0) }
	if _, err := mergeCheck(st, "k", func(*CheckState) {}); !errors.Is(err, ErrContended) {
		t.Errorf("err %v; want ErrContended", err)
	}
}

// A due check is claimed once: a second claimer (another VM, or another
// configuration with the same check) finds it taken; a check not due is
// not written at all.
func TestClaim(t *testing.T) {
	cfg := counterConfig(t)
	st, k := prepared(t, cfg, "x")
	none := func(int64) int64 { return 0 }
	if ok, _, err := claim(st, k.Checks[0], cfg, 0, 1000, none); !ok || err != nil {
		t.Fatalf("a never-run check was not claimed: %v", err)
	}
	sets := st.sets
	if ok, _, _ := claim(st, k.Checks[0], cfg, 0, 1001, none); ok || st.sets != sets {
		t.Errorf("claimed again a moment later (claimed %v, %d writes)", ok, st.sets-sets)
	}
	if ok, _, _ := claim(st, k.Checks[0], cfg, 0, 1000+cfg.Checks[0].Interval.Milliseconds(), none); !ok {
		t.Error("not claimed an interval later")
	}
	// The other claimer's write lands between this one's read and write.
	st.race = func(key string) {
		st.race = nil
		claim(st, key, cfg, 1, 5000, none)
	}
	if ok, _, _ := claim(st, k.Checks[1], cfg, 1, 5000, none); ok {
		t.Error("both claimers ran the check")
	}
}

// A configuration change keeps what a check is, and the proxy's own state:
// an unchanged check keeps its result, one whose identity changed or that
// is new starts anew in grace (it gates nothing before its status is
// decided), the drain holds, and the old configuration's teardown leaves
// the new one be.
func TestStateAcrossAChange(t *testing.T) {
	oldText := `{"checks":[{"name":"a","kind":"http","cluster":"c"},{"name":"b","kind":"http","cluster":"c","path":"/b"}]}`
	newText := `{"checks":[{"name":"a2","kind":"http","cluster":"c","interval":"3s","timeout":"1s","type":"soft"},` +
		`{"name":"b","kind":"http","cluster":"c","path":"/b2","success_threshold":2},{"name":"c","kind":"grpc","cluster":"g"}]}`
	oldCfg, newCfg := mustParse(t, oldText), mustParse(t, newText)
	st, oldKeys := prepared(t, oldCfg, oldText)
	mergeInstances(st, oldKeys.Instances, func(in *Instances) { in.Join() })
	for i := range oldKeys.Checks {
		mergeCheck(st, oldKeys.Checks[i], func(s *CheckState) {
			s.Record(&oldCfg.Checks[i], Outcome{OK: true, Message: "fine", Latency: 7 * time.Millisecond}, 100)
		})
	}
	Summarize(st, oldKeys, oldCfg, false)
	mergeProxy(st, oldKeys.Proxy, func(p *Proxy) { p.Draining = true })

	newKeys := SharedKeys("mp", newCfg, []byte(newText))
	if err := createRecords(st, newKeys, newCfg, 200); err != nil {
		t.Fatal(err)
	}
	mergeInstances(st, newKeys.Instances, func(in *Instances) { in.Join() })
	mergeInstances(st, oldKeys.Instances, func(in *Instances) { in.Leave() }) // the old one, after the drain time
	s, _, _ := Summarize(st, newKeys, newCfg, false)
	if a := s.Checks[0]; a.Status != StatusUp || a.Message != "fine" || a.LatencyMs != 7 || a.LastOK != 100 || a.Runs != 1 {
		t.Errorf("unchanged check after the change: %+v; want its result kept", a)
	}
	for i := 1; i < 3; i++ {
		if cs := s.Checks[i]; cs.Status != StatusUnknown || cs.Runs != 0 || !cs.Grace {
			t.Errorf("check %s after the change: %+v; want unknown, never run, in grace", newCfg.Checks[i].Name, cs)
		}
	}
	if !s.Started || !s.Draining || s.Teardown {
		t.Errorf("after the change: %+v, teardown %v; want started, draining, not torn down", s.Proxy, s.Teardown)
	}
	mergeProxy(st, newKeys.Proxy, func(p *Proxy) { p.Draining = false })
	ready := func() bool { s, _, _ := Summarize(st, newKeys, newCfg, false); return s.Summary(newCfg).Ready }
	if !ready() {
		t.Error("not ready after the change: checks in grace must not gate")
	}
	// One success of two leaves b undecided: still in grace.
	mergeCheck(st, newKeys.Checks[1], func(cs *CheckState) { cs.Record(&newCfg.Checks[1], Outcome{OK: true}, 300) })
	if !ready() {
		t.Error("a check in grace gated after one result that decided nothing")
	}
	// From its decided status on, it gates as configured.
	for at := int64(400); at < 700; at += 100 {
		mergeCheck(st, newKeys.Checks[1], func(cs *CheckState) { cs.Record(&newCfg.Checks[1], Outcome{}, at) })
	}
	if ready() {
		t.Error("a check added by the change is down and hard, yet the proxy is ready")
	}
	// The configuration's last instance's teardown drains.
	mergeInstances(st, newKeys.Instances, func(in *Instances) { in.Leave() })
	if s, _, _ = Summarize(st, newKeys, newCfg, false); !s.Teardown {
		t.Error("the last instance's teardown did not drain")
	}
}

// Two configurations with different intervals share a check during a
// change: it runs at the shorter interval, once, whoever claims it.
func TestClaimAcrossIntervals(t *testing.T) {
	slowText := `{"refresh":{"jitter":0},"checks":[{"name":"a","kind":"http","cluster":"c","interval":"10s"}]}`
	fastText := `{"refresh":{"jitter":0},"checks":[{"name":"a","kind":"http","cluster":"c","interval":"2s","timeout":"1s"}]}`
	slow, fast := mustParse(t, slowText), mustParse(t, fastText)
	st, k := prepared(t, slow, slowText)
	none := func(int64) int64 { return 0 }
	var runs []int64
	for now := int64(1000); now < 21000; now += 100 { // both tick every 100 ms
		for _, c := range []*Config{slow, fast} {
			if ok, _, _ := claim(st, k.Checks[0], c, 0, now, none); ok {
				runs = append(runs, now)
			}
		}
	}
	for i := 1; i < len(runs); i++ {
		if gap := runs[i] - runs[i-1]; gap != 2000 {
			t.Fatalf("runs at %v: want one every 2 s", runs)
		}
	}
}

// A record no configuration has run for two intervals (a check removed and
// added back) starts anew instead of serving its old result.
func TestPrepareRenewsStaleRecords(t *testing.T) {
	cfg := counterConfig(t)
	st, k := prepared(t, cfg, "x")
	mergeProxy(st, k.Proxy, func(p *Proxy) { p.ReadyOnce = true })
	mergeCheck(st, k.Checks[0], func(cs *CheckState) { cs.Status, cs.CheckedAt, cs.ClaimedAt = StatusDown, 1000, 1000 })
	mergeCheck(st, k.Checks[1], func(cs *CheckState) { cs.Status, cs.CheckedAt, cs.ClaimedAt = StatusUp, 15000, 15000 })
	if err := createRecords(st, k, cfg, 1000+2*cfg.Checks[0].Interval.Milliseconds()+1); err != nil {
		t.Fatal(err)
	}
	s := loaded(t, st, k, cfg)
	if cs := s.Checks[0]; cs.Status != StatusUnknown || !cs.Grace || cs.CheckedAt != 0 {
		t.Errorf("stale record after createRecords: %+v; want it new, in grace", cs)
	}
	if cs := s.Checks[1]; cs.Status != StatusUp {
		t.Errorf("a record run a moment ago was renewed: %+v", cs)
	}
}

// A configuration that is ready without a check that gates readiness (none,
// or only soft ones) proves nothing: it does not put the checks another
// configuration adds in grace.
func TestReadyOnceNeedsAGate(t *testing.T) {
	soft := mustParse(t, `{"checks":[{"name":"s","kind":"http","cluster":"c","type":"soft","gates":[]}]}`)
	st, k := prepared(t, soft, "soft")
	if s, _, _ := Summarize(st, k, soft, false); !s.Summary(soft).Ready || s.ReadyOnce {
		t.Errorf("soft-only configuration: %+v, ready once %v; want ready, not ready once", s.Summary(soft), s.ReadyOnce)
	}
}

// On a fresh proxy no check is in grace: readiness waits for every check.
func TestNoGraceOnAFreshProxy(t *testing.T) {
	cfg := mustParse(t, `{"checks":[{"name":"a","kind":"http","cluster":"c","gates":["readiness"]}]}`)
	st, k := prepared(t, cfg, "y")
	if s, _, _ := Summarize(st, k, cfg, false); s.Checks[0].Grace || s.Summary(cfg).Ready {
		t.Errorf("fresh proxy: %+v, %+v; want no grace and not ready", s.Checks[0], s.Summary(cfg))
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
		got, err := acquire(st, "lease", s.owner, s.now, ttl)
		if err != nil || got != s.want {
			t.Errorf("%s: %v, %v; want %v", s.name, got, err, s.want)
		}
	}
	if err := release(st, "lease", 1); err != nil { // not the holder: no-op
		t.Fatal(err)
	}
	if got, _ := acquire(st, "lease", 1, 710, ttl); got {
		t.Error("release by a non-holder freed the lease")
	}
	release(st, "lease", 2)
	if got, _ := acquire(st, "lease", 1, 720, ttl); !got {
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
	if got, _ := acquire(st, "lease", 1, 1000, 300); !got {
		t.Error("a lease an hour in the future kept every other VM out")
	}
	binary.BigEndian.PutUint64(rec[8:], uint64(1000+300)) // exactly a TTL ahead: a real lease
	st.Set("lease", rec[:], 0)
	if got, _ := acquire(st, "lease", 1, 1000, 300); got {
		t.Error("a lease within its TTL was taken")
	}
	// Another VM read its clock a moment earlier than the holder did.
	st = newMemStore()
	createIfAbsent(st, "lease", make([]byte, 16))
	if got, _ := acquire(st, "lease", 7, 1000, 300); !got {
		t.Fatal("a free lease was not taken")
	}
	if got, _ := acquire(st, "lease", 1, 995, 300); got {
		t.Error("a VM whose clock reads 5 ms behind the holder's took a lease just granted")
	}
}

// Two VMs racing for a free lease: exactly one wins a tick.
func TestLeaseRace(t *testing.T) {
	st := newMemStore()
	createIfAbsent(st, "lease", make([]byte, 16))
	st.race = func(key string) {
		if got, _ := acquire(st, key, 2, 100, 300); !got {
			t.Error("the rival should win: it wrote first")
		}
	}
	if got, _ := acquire(st, "lease", 1, 100, 300); got {
		t.Error("both VMs believe they hold the lease")
	}
}

// Whatever the records, the summary and the snapshot held (any bytes, or
// nothing), after one write and its summary readiness never reads ready
// where the records say otherwise: what a probe reads (readiness, from the
// summary or the records) is exactly the records' summary, and what a
// document reads (readState) is exactly the records.
func FuzzReadinessAfterAWrite(f *testing.F) {
	cfg := counterConfig(f)
	k := SharedKeys("mp", cfg, nil)
	up := EncodeCheck(&CheckState{Status: StatusUp, EverUp: true})
	sum := EncodeSummary(cfg, &State{Proxy: Proxy{Started: true}, Checks: make([]CheckState, 2)})
	snap := encodeSnapshot(&State{Checks: []CheckState{{Status: StatusUp}, {}}})
	f.Add(up, EncodeProxy(Proxy{Started: true}), sum, snap, false, false)
	f.Add([]byte("garbage"), []byte{}, sum, []byte{}, true, false)
	f.Add(up[:20], []byte(nil), []byte{}, snap[:30], false, true)
	f.Add([]byte(nil), []byte(nil), []byte(nil), []byte(nil), true, true)
	f.Fuzz(func(t *testing.T, record, proxy, summary, snapshot []byte, fail, drain bool) {
		st := newMemStore()
		for key, v := range map[string][]byte{k.Checks[1]: record, k.Proxy: proxy, k.Summary: summary, k.Snapshot: snapshot} {
			if v != nil {
				st.Set(key, v, 0)
			}
		}
		mergeCheck(st, k.Checks[0], func(s *CheckState) { s.Record(&cfg.Checks[0], Outcome{OK: !fail, Message: "m"}, 1000) })
		mergeCheck(st, k.Checks[1], func(s *CheckState) {})
		mergeProxy(st, k.Proxy, func(p *Proxy) { p.Draining = p.Draining || drain })
		if _, _, err := Summarize(st, k, cfg, false); err != nil {
			t.Fatal(err)
		}
		m, _, _ := st.Get(k.Summary)
		records := loaded(t, st, k, cfg)
		got, want := readiness(cfg, m, func() *State { return loaded(t, st, k, cfg) }), records.Summary(cfg)
		if got.Ready && !want.Ready {
			t.Fatalf("readiness reads ready; the records say not (%s)", want.Reason)
		}
		if got != want {
			t.Fatalf("readiness reads %+v; the records say %+v", got, want)
		}
		doc, corrupt, err := readState(st, k, cfg)
		if corrupt || err != nil || !bytes.Equal(encodeState(doc), encodeState(records)) {
			t.Fatalf("a document reads %+v (corrupt %v, %v); the records hold %+v", doc, corrupt, err, records)
		}
	})
}

// encodeState is a state as bytes, to compare states whose observed
// values may be NaN.
func encodeState(s *State) []byte {
	return append(EncodeProxy(s.Proxy), encodeSnapshot(s)...)
}

// A record is stale after two of its own periods without a run, judged by
// the longer of its last claimer's schedule and the new interval; a record
// never claimed (on_request refresh) never is.
func TestStaleRecord(t *testing.T) {
	const s = int64(1000)
	claimed := func(at, next, checked int64) CheckState {
		return CheckState{ClaimedAt: at, NextDue: next, CheckedAt: checked}
	}
	for _, c := range []struct {
		name          string
		cs            CheckState
		interval, now int64
		want          bool
	}{
		{"on_request, checked long ago", CheckState{CheckedAt: 1 * s}, 10 * s, 3600 * s, false},
		{"never run", CheckState{}, 10 * s, 3600 * s, false},
		{"claimed a moment ago", claimed(100*s, 110*s, 101*s), 10 * s, 115 * s, false},
		{"two periods without a run", claimed(100*s, 110*s, 101*s), 10 * s, 122 * s, true},
		{"interval shortened: the old 60 s schedule counts", claimed(100*s, 160*s, 101*s), 10 * s, 150 * s, false},
		{"interval shortened, and two old periods gone", claimed(100*s, 160*s, 101*s), 10 * s, 222 * s, true},
		{"interval lengthened: the new 60 s counts", claimed(100*s, 110*s, 101*s), 60 * s, 150 * s, false},
		{"a late result counts as a run", claimed(100*s, 110*s, 118*s), 10 * s, 130 * s, false},
	} {
		if got := c.cs.stale(c.interval, c.now); got != c.want {
			t.Errorf("%s: stale = %v; want %v", c.name, got, c.want)
		}
	}
}
