package checks

import (
	"bytes"
	"errors"
	"testing"
)

const sharedConfig = `{"refresh":{"interval":"2s","jitter":0},"checks":[
 {"name":"a","kind":"http","cluster":"a","failure_threshold":1,"success_threshold":1},
 {"name":"b","kind":"http","cluster":"b","failure_threshold":1,"success_threshold":1}]}`

// vm is one VM's side of the protocol for sharedConfig on st.
func vm(t *testing.T, st Store, owner uint64) *Shared {
	t.Helper()
	s := NewShared(st, "mp", mustParse(t, sharedConfig), []byte(sharedConfig), owner, func(int64) int64 { return 0 })
	s.Report = func(err error) { t.Errorf("reported: %v", err) }
	if err := s.Start(0); err != nil {
		t.Fatal(err)
	}
	return s
}

// losing makes the next n writes of key lose their race: a rival rewrites
// the value just before each.
func losing(st *memStore, key string, n int) {
	st.race = func(k string) {
		if k == key && n > 0 {
			n--
			b, _, _ := st.Get(k)
			st.Set(k, b, 0)
		}
	}
}

// A result that loses its races waits, and so does every later result of
// the same check: they land in order at a later Flush (or Record), each
// followed by the summary. Another check's result is not held back.
func TestRecordKeepsEachChecksOrder(t *testing.T) {
	st := newMemStore()
	s := vm(t, st, 1)
	k := s.keys
	losing(st, k.Checks[0], maxCASAttempts)
	if got := s.Record(0, Outcome{OK: true, Message: "first"}, 1000); len(got) != 0 {
		t.Fatalf("a result that lost every race landed: %+v", got)
	}
	losing(st, k.Checks[0], maxCASAttempts)
	if got := s.Record(0, Outcome{Message: "second"}, 2000); len(got) != 0 {
		t.Fatalf("results landed while the first kept losing: %+v", got)
	}
	losing(st, k.Checks[0], maxCASAttempts)
	if got := s.Record(1, Outcome{OK: true}, 2000); len(got) != 1 || got[0].Check != 1 || got[0].After != StatusUp {
		t.Errorf("check b's result: landed %+v; a queued result of a holds back only a", got)
	}
	losing(st, k.Checks[0], maxCASAttempts)
	if got := s.Flush(); len(got) != 0 {
		t.Errorf("a flush whose first merge lost landed %+v", got)
	}
	got := s.Flush()
	want := []Landed{{Check: 0, OK: true, Before: StatusUnknown, After: StatusUp, Message: "first"},
		{Check: 0, Before: StatusUp, After: StatusDown, Message: "second"}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("flush landed %+v; want %+v", got, want)
	}
	cs := loaded(t, st, k, s.cfg).Checks[0]
	if cs.Runs != 2 || cs.Status != StatusDown || cs.CheckedAt != 2000 || cs.Message != "second" {
		t.Errorf("record %+v; want both results, the second last", cs)
	}
	if sum, _, _ := st.Get(k.Summary); !bytes.Equal(fields(sum), fields(EncodeSummary(s.cfg, loaded(t, st, k, s.cfg)))) {
		t.Error("the summary does not follow the last landed result")
	}
	if got := s.Flush(); len(got) != 0 {
		t.Errorf("a second flush landed %+v again", got)
	}
}

// Two VMs tick in turn: one holds the lease and claims each check once per
// interval; when it stops ticking, the other takes over within the lease's
// TTL, and still each check runs once per interval.
func TestTickClaimsOncePerInterval(t *testing.T) {
	st := newMemStore()
	vms := []*Shared{vm(t, st, 1), vm(t, st, 2)}
	tick := vms[0].cfg.TickPeriod().Milliseconds()
	claims := map[int][]int64{}
	idle := func(int) bool { return false }
	for now := int64(0); now < 20_000; now += tick {
		for n, s := range vms {
			if n == 0 && now >= 10_000 {
				continue // the first VM stops ticking
			}
			for _, i := range s.Tick(now, idle) {
				claims[i] = append(claims[i], now)
			}
		}
	}
	for i := range 2 {
		if len(claims[i]) < 9 || len(claims[i]) > 10 {
			t.Errorf("check %d claimed at %v; want once per 2 s interval over 20 s", i, claims[i])
		}
		for j := 1; j < len(claims[i]); j++ {
			if gap := claims[i][j] - claims[i][j-1]; gap < 2000 || gap > 2000+vms[0].cfg.LeaseTTL().Milliseconds()+tick {
				t.Errorf("check %d: claims %v apart", i, gap)
			}
		}
	}
	// A check whose call this VM still awaits is not claimed again.
	if got := vms[1].Tick(40_000, func(int) bool { return true }); len(got) != 0 {
		t.Errorf("claimed %v while busy", got)
	}
}

// The last VM to stop tears the configuration down: readiness fails on
// every VM while the proxy drains. Queued results get a last try.
func TestStopLastInstanceTearsDown(t *testing.T) {
	st := newMemStore()
	a, b := vm(t, st, 1), vm(t, st, 2)
	for _, s := range []*Shared{a, b} {
		s.Tick(0, func(int) bool { return false })
	}
	losing(st, a.keys.Checks[0], maxCASAttempts)
	a.Record(0, Outcome{OK: true}, 100)
	landed, left, live := a.Stop()
	if len(landed) != 1 || !left || live != 1 {
		t.Errorf("first stop: landed %+v, left %v, %d live; want the queued result, 1 live", landed, left, live)
	}
	if r := b.Summary(); r.Draining {
		t.Errorf("readiness %+v with one instance still serving", r)
	}
	if _, left, live := b.Stop(); !left || live != 0 {
		t.Errorf("last stop: left %v, %d live", left, live)
	}
	if r := b.Summary(); !r.Draining || r.Ready {
		t.Errorf("readiness %+v after the last instance stopped; want draining", r)
	}
	// A VM that never ticked (Envoy's configuration canary) never joined.
	if _, left, _ := vm(t, st, 3).Stop(); left {
		t.Error("a VM that never ticked left the live instances")
	}
}

// A drain set on one VM shows on the other at once, in readiness and in
// documents; it is not queued when it loses.
func TestDrain(t *testing.T) {
	st := newMemStore()
	a, b := vm(t, st, 1), vm(t, st, 2)
	if err := a.Drain(true); err != nil {
		t.Fatal(err)
	}
	if r, s := b.Summary(), b.State(); !r.Draining || !s.Draining {
		t.Errorf("on the other VM: readiness %+v, state draining %v", r, s.Draining)
	}
	losing(st, a.keys.Proxy, maxCASAttempts)
	if err := a.Drain(false); !errors.Is(err, ErrContended) {
		t.Errorf("an undrain that lost every race: %v", err)
	}
	if len(a.pending) != 0 || !b.Summary().Draining {
		t.Error("a lost undrain was queued or applied")
	}
}

// failingStore fails every write with err.
type failingStore struct {
	*memStore
	err error
}

func (f failingStore) Set(string, []byte, uint32) error { return f.err }

// Report gets a corrupt record once, and every store error but a lost race
// with the step it failed in.
func TestReport(t *testing.T) {
	st := newMemStore()
	s := vm(t, st, 1)
	var got []error
	s.Report = func(err error) { got = append(got, err) }
	st.Set(s.keys.Checks[0], []byte("garbage"), 0)
	st.Set(s.keys.Checks[1], []byte("garbage"), 0)
	s.Record(0, Outcome{OK: true}, 100)
	s.Record(1, Outcome{OK: true}, 100)
	if len(got) != 1 || !errors.Is(got[0], ErrCorrupt) {
		t.Errorf("reported %v; want the corrupt records once", got)
	}
	got = nil
	broken := errors.New("shared data is broken")
	s.st = failingStore{st, broken}
	if err := s.Drain(true); !errors.Is(err, broken) {
		t.Errorf("drain: %v", err)
	}
	if len(got) != 1 || !errors.Is(got[0], broken) || got[0].Error() != "draining: shared data is broken" {
		t.Errorf("reported %v; want the drain's failure, named", got)
	}
}

// The tick's other duties: a join that loses its races is retried at the
// next tick; in on_request refresh the lease holder keeps the summary but
// claims nothing; a VM that stops hands the lease over at once; a leave
// that loses its races is reported, since nothing retries it.
func TestTickAndStopEdges(t *testing.T) {
	st := newMemStore()
	a := vm(t, st, 1)
	losing(st, a.keys.Instances, maxCASAttempts)
	if got := a.Tick(0, func(int) bool { return false }); got != nil || a.joined {
		t.Fatalf("a tick whose join lost claimed %v (joined %v)", got, a.joined)
	}
	if got := a.Tick(100, func(int) bool { return false }); len(got) != 2 || !a.joined {
		t.Fatalf("the next tick claimed %v (joined %v); want the join and both checks", got, a.joined)
	}

	b := vm(t, st, 2)
	if got := b.Tick(200, func(int) bool { return false }); got != nil {
		t.Fatalf("b claimed %v while a holds the lease", got)
	}
	a.Stop()
	st.Set(a.keys.Checks[0], EncodeCheck(&CheckState{}), 0) // due again
	if got := b.Tick(300, func(int) bool { return false }); len(got) != 1 {
		t.Errorf("after a stopped, b's next tick claimed %v; want the due check at once", got)
	}

	onRequest := `{"refresh":{"mode":"on_request"},"checks":[{"name":"a","kind":"http","cluster":"a"}]}`
	o := NewShared(st, "mp", mustParse(t, onRequest), []byte(onRequest), 3, func(int64) int64 { return 0 })
	if err := o.Start(0); err != nil {
		t.Fatal(err)
	}
	o.Tick(0, func(int) bool { return false }) // joins, which writes the summary
	delete(st.data, o.keys.Summary)
	if got := o.Tick(100, func(int) bool { return false }); got != nil {
		t.Errorf("on_request: the tick claimed %v", got)
	}
	if _, _, err := st.Get(o.keys.Summary); err != nil {
		t.Errorf("on_request: the lease holder's tick wrote no summary: %v", err)
	}

	var reported []error
	b.Report = func(err error) { reported = append(reported, err) }
	losing(st, b.keys.Instances, maxCASAttempts)
	if _, left, _ := b.Stop(); left || len(reported) != 1 || !errors.Is(reported[0], ErrContended) {
		t.Errorf("a leave that lost every race: left %v, reported %v", left, reported)
	}
}
