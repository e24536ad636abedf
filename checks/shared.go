package checks

import "errors"

// Shared is one VM's side of the shared-state protocol for one
// configuration: every read and write the plugin makes of the proxy's
// shared records goes through it, in the order the protocol needs
// (protocol.go, snapshot.go). The plugin supplies the store, runs the
// checks Tick claims, and logs what Report hands it.
type Shared struct {
	st    Store
	keys  Keys
	cfg   *Config
	owner uint64              // this VM's lease identity, never 0
	rnd   func(n int64) int64 // jitter for the next due time
	// Report receives what is worth a log line: ErrCorrupt the first time
	// a record does not decode (it then counts as blank and is rewritten),
	// and a store error other than a lost race, named by its step.
	Report func(error)

	pending []result // results that lost their races, oldest first
	joined  bool
	corrupt bool // ErrCorrupt was reported
}

// result is one outcome of check at unix ms at, waiting to be merged.
type result struct {
	check int
	o     Outcome
	at    int64
}

// Landed is a result merged into its check's record.
type Landed struct {
	Check         int
	OK            bool
	Before, After Status
	Message       string
}

// NewShared is configuration c's (whose raw bytes are config) side of the
// protocol on one VM of plugin pluginName. owner must differ between VMs
// and not be 0; rnd(n) returns a number in [0, n).
func NewShared(st Store, pluginName string, c *Config, config []byte, owner uint64, rnd func(n int64) int64) *Shared {
	return &Shared{st: st, keys: SharedKeys(pluginName, c, config), cfg: c, owner: owner, rnd: rnd, Report: func(error) {}}
}

// stepError is a store error and the protocol step it failed in.
type stepError struct {
	step string
	err  error
}

func (e stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e stepError) Unwrap() error { return e.err }

// report hands a non-race error to Report, and ErrCorrupt once. Not
// inlined: it follows every step, and the copies cost the module.
//
//go:noinline
func (s *Shared) report(step string, corrupt bool, err error) {
	if corrupt && !s.corrupt {
		s.corrupt = true
		s.Report(ErrCorrupt)
	}
	if err != nil && !errors.Is(err, ErrContended) {
		s.Report(stepError{step, err})
	}
}

// Start creates the configuration's records that do not exist yet, at
// unix ms now, and brings its summary up to date from the records as they
// are: one left by an earlier teardown of this configuration (rolled back
// to, re-added) drains no more.
func (s *Shared) Start(now int64) error {
	if err := createRecords(s.st, s.keys, s.cfg, now); err != nil {
		return err
	}
	s.summarize(false)
	return nil
}

// summarize brings the summary and snapshot up to date (Summarize) and
// returns the state it read. One that could not be written is not a failed
// write: the next write or the lease holder's next tick writes it, and
// until then a reader reads the records.
func (s *Shared) summarize(onlyIfChanged bool) *State {
	st, corrupt, err := Summarize(s.st, s.keys, s.cfg, onlyIfChanged)
	s.report("writing the readiness summary", corrupt, err)
	return st
}

// summarizeAfter follows a merge: a landed one is followed by the summary.
func (s *Shared) summarizeAfter(step string, corrupt bool, err error) error {
	s.report(step, corrupt, err)
	if err == nil {
		s.summarize(false)
	}
	return err
}

// Record queues outcome o of check i, at unix ms now, and merges what it
// can (Flush): a result is never dropped for a lost race, and never lands
// before an older one of the same check. It returns what landed.
func (s *Shared) Record(i int, o Outcome, now int64) []Landed {
	s.pending = append(s.pending, result{i, o, now})
	return s.Flush()
}

// merge writes one result and the summary after it.
func (s *Shared) merge(r result) (l Landed, err error) {
	ch := &s.cfg.Checks[r.check]
	l = Landed{Check: r.check, OK: r.o.OK, Message: r.o.Message}
	corrupt, err := mergeCheck(s.st, s.keys.Checks[r.check], func(cs *CheckState) {
		l.Before = cs.Status
		cs.Record(ch, r.o, r.at)
		l.After = cs.Status
	})
	return l, s.summarizeAfter("recording a result", corrupt, err)
}

// Flush retries the results that lost their races, in order: once one
// check's merge loses again, its later ones wait behind it. It returns
// those that landed.
func (s *Shared) Flush() []Landed {
	var landed []Landed
	pending := s.pending
	s.pending = nil
	for _, r := range pending {
		if s.queued(r.check) {
			s.pending = append(s.pending, r)
			continue
		}
		switch l, err := s.merge(r); {
		case err == nil:
			landed = append(landed, l)
		case errors.Is(err, ErrContended):
			s.pending = append(s.pending, r)
		}
	}
	return landed
}

// queued reports whether a result of check i waits to be retried.
func (s *Shared) queued(i int) bool {
	for _, r := range s.pending {
		if r.check == i {
			return true
		}
	}
	return false
}

// Tick is this VM's tick at unix ms now. At the first it joins the
// configuration's live instances. If this VM holds (or takes) the lease,
// it brings the summary up to date, which carries a write made under
// another configuration into this one's, and in background refresh claims
// each due check in its record, moving its next due time on, so that no
// other VM or configuration runs it again. It returns the checks it
// claimed, which the caller runs; busy(i) skips a check whose last call
// this VM still awaits. A claim not written dispatches nothing; the next
// tick tries again.
func (s *Shared) Tick(now int64, busy func(i int) bool) (claimed []int) {
	if !s.joined {
		// Envoy's configuration canary is configured but never ticks, so
		// it never counts.
		if s.updateInstances("joining the live instances", (*Instances).Join) != nil {
			return nil
		}
		s.joined = true
	}
	lead, err := acquire(s.st, s.keys.Lease, s.owner, now, s.cfg.LeaseTTL().Milliseconds())
	s.report("taking the lease", false, err)
	if !lead {
		return nil
	}
	st := s.summarize(true)
	if s.cfg.Refresh.Mode != RefreshBackground || st == nil {
		return nil
	}
	for _, i := range st.Due(s.cfg, now, nil) {
		if busy(i) {
			continue
		}
		ok, corrupt, err := claim(s.st, s.keys.Checks[i], s.cfg, i, now, s.rnd)
		s.report("claiming a check", corrupt, err)
		if ok {
			claimed = append(claimed, i)
		}
	}
	return claimed
}

// updateInstances merges fn into the configuration's instances record.
func (s *Shared) updateInstances(step string, fn func(*Instances)) error {
	corrupt, err := mergeInstances(s.st, s.keys.Instances, fn)
	return s.summarizeAfter(step, corrupt, err)
}

// Stop is this VM's teardown of the configuration: queued results get a
// last try (those that land are returned), a VM that had joined leaves
// the live instances (the last to leave fails readiness on every worker
// while the proxy drains), and the lease is given up so that no worker
// waits out its TTL. left reports whether it left; live is how many
// instances still serve.
func (s *Shared) Stop() (landed []Landed, left bool, live uint32) {
	landed = s.Flush()
	if s.joined {
		err := s.updateInstances("leaving the live instances", func(in *Instances) { in.Leave(); live = in.Live })
		if errors.Is(err, ErrContended) { // never retried: readiness would not fail at the last leave
			s.Report(stepError{"leaving the live instances", err})
		}
		left = err == nil
	}
	s.report("releasing the lease", false, release(s.st, s.keys.Lease, s.owner))
	return landed, left, live
}

// Drain sets or clears an operator's drain, for every configuration and
// worker of the proxy. It is not queued when it loses its races: a late
// replay could undo a newer request.
func (s *Shared) Drain(on bool) error {
	corrupt, err := mergeProxy(s.st, s.keys.Proxy, func(p *Proxy) { p.Draining = on })
	return s.summarizeAfter("draining", corrupt, err)
}

// Summary is what a probe answers: the summary (one 16-byte read,
// nothing decoded), or, when this build cannot read it, the records.
func (s *Shared) Summary() Summary {
	b, _, _ := s.st.Get(s.keys.Summary)
	return readiness(s.cfg, b, s.State)
}

// State is what a document that lists checks shows (readState).
func (s *Shared) State() *State {
	st, corrupt, err := readState(s.st, s.keys, s.cfg)
	s.report("reading shared state", corrupt, err)
	return st
}

// RefreshedAt is when the configuration's checks last took a result (unix
// ms; on_request staleness): from the summary, else from the records.
func (s *Shared) RefreshedAt() int64 {
	b, _, _ := s.st.Get(s.keys.Summary)
	if t, ok := readRefreshedAt(s.cfg, b); ok {
		return t
	}
	return s.State().RefreshedAt()
}
