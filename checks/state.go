package checks

// Status is one check's health.
type Status uint8

const (
	StatusUnknown Status = iota // no result yet
	StatusUp
	StatusDown
)

var statusNames = [...]string{StatusUnknown: "unknown", StatusUp: "up", StatusDown: "down"}

func (s Status) String() string { return statusNames[s] }

// CheckState is what is known of one check. It lives in shared data under
// the check's identity, so every configuration that has the check shares it.
type CheckState struct {
	Status      Status
	EverUp      bool   // up at least once: feeds the started latch
	ConsecFail  uint16 // consecutive failures, saturating
	ConsecOK    uint16 // consecutive successes, saturating
	LatencyMs   uint32
	CheckedAt   int64 // unix ms of the last result; 0 before the first
	LastOK      int64 // unix ms of the last success
	ChangedAt   int64 // unix ms when Status last changed; 0 before
	NextDue     int64 // unix ms when the check should run next (jitter applied)
	ClaimedAt   int64 // unix ms of the last claim (see Config.dueAt)
	Runs        uint64
	Fails       uint64
	Observed    float64
	HasObserved bool
	// Grace: the check was added to a proxy that had already been ready.
	// Until its status is first decided it gates nothing (see gating).
	Grace       bool
	Message     string
	Transitions uint32       // changes of Status since the record was made
	History     []Transition // the last maxHistory of them, oldest first
}

// stale reports whether no configuration has run this check for two of
// its periods by unix ms now: the period its last claimer scheduled, or
// interval (the new configuration's) if longer, so a push that shortens
// the interval does not find the old configuration's last claim stale.
// Only a record that runs on a schedule (claimed in background refresh)
// is judged: on_request refresh runs a check when probes come, however
// seldom, and renews results older than refresh.ttl itself.
func (s *CheckState) stale(interval, now int64) bool {
	if s.ClaimedAt == 0 {
		return false
	}
	period := max(s.NextDue-s.ClaimedAt, interval)
	return now-max(s.ClaimedAt, s.CheckedAt) > 2*period
}

// gating reports whether the check may hold a probe back: every check
// does, except one added to a running proxy whose results have not yet
// decided its status (its thresholds not reached either way).
func (s *CheckState) gating() bool { return !s.Grace || s.Status != StatusUnknown }

// Record applies one outcome at unix ms now: a check turns down after
// FailureThreshold consecutive failures and up after SuccessThreshold
// consecutive successes; until then it keeps its status (unknown included).
func (s *CheckState) Record(c *Check, o Outcome, now int64) {
	before := s.Status
	defer func() {
		if s.Status != before {
			s.ChangedAt = now
			s.note(Transition{At: now, From: before, To: s.Status, LatencyMs: s.LatencyMs, Message: s.Message})
		}
	}()
	s.Runs++
	s.CheckedAt = now
	s.LatencyMs = uint32(min(o.Latency.Milliseconds(), 1<<32-1))
	s.Message = o.Message
	s.Observed, s.HasObserved = o.Observed, o.HasObserved
	if o.OK {
		s.LastOK = now
		s.ConsecFail = 0
		if s.ConsecOK < 1<<16-1 {
			s.ConsecOK++
		}
		if int(s.ConsecOK) >= c.SuccessThreshold {
			s.Status = StatusUp
			s.EverUp = true
		}
		return
	}
	s.Fails++
	s.ConsecOK = 0
	if s.ConsecFail < 1<<16-1 {
		s.ConsecFail++
	}
	if int(s.ConsecFail) >= c.FailureThreshold {
		s.Status = StatusDown
	}
}

// Proxy is the state every configuration of the plugin in one proxy
// shares, and that survives a configuration change.
type Proxy struct {
	Started  bool // latched: never goes back to false
	Draining bool // by an operator's POST {base}/drain
	// ReadyOnce: a configuration with a readiness-gating check has been
	// ready; a check added from then on starts in grace.
	ReadyOnce bool
}

// Instances counts one configuration's live plugin instances (root
// contexts that have ticked and not been torn down). When the last is
// torn down (the configuration removed, or the proxy shutting down)
// readiness fails on every worker. After a change, Envoy tears the old
// configuration down once the new one serves; a newer build of the same
// configuration joins the count before the old one leaves it. Envoy's
// configuration canary is started and configured, then dropped without a
// tick or a teardown: it never joins.
type Instances struct {
	Live     uint32
	Teardown bool
}

// Join: an instance serves (its first tick).
func (in *Instances) Join() { in.Live, in.Teardown = in.Live+1, false }

// Leave: an instance that joined is torn down.
func (in *Instances) Leave() {
	if in.Live > 0 {
		in.Live--
	}
	in.Teardown = in.Live == 0
}

// State is the aggregate a configuration serves: the proxy-wide record
// and its checks' records. Checks is aligned with Config.Checks.
type State struct {
	Proxy
	// Teardown: this configuration's last instance was torn down and
	// none has started since.
	Teardown bool
	Checks   []CheckState
}

// NewState is the state before any result: every check unknown, started
// only if no check gates startup.
func NewState(c *Config) *State {
	s := &State{Checks: make([]CheckState, len(c.Checks))}
	s.Latch(c)
	return s
}

// RefreshedAt is when a check last took a result (unix ms; on_request
// staleness); 0 while a check has never run, so that a check added to
// the configuration runs at the next probe.
func (s *State) RefreshedAt() int64 {
	var t int64
	for i := range s.Checks {
		if s.Checks[i].CheckedAt == 0 {
			return 0
		}
		t = max(t, s.Checks[i].CheckedAt)
	}
	return t
}

// Latch sets Started once every startup-gating check has been up; it
// never clears it.
func (s *State) Latch(c *Config) { s.Started = s.Started || s.latched(c) }

// latched reports whether every startup-gating check has been up.
func (s *State) latched(c *Config) bool {
	for i := range c.Checks {
		if cs := &s.Checks[i]; c.Checks[i].Gates.Has(GateStartup) && cs.gating() && !cs.EverUp {
			return false
		}
	}
	return true
}

// readyOnGates reports whether c is ready because a check that gates
// readiness is up: ready with no such check (none configured, or all in
// grace) proves nothing about the proxy, and must not put the checks of
// another configuration in grace.
func (s *State) readyOnGates(c *Config) bool {
	if ok, _ := s.Ready(c); !ok {
		return false
	}
	for i := range c.Checks {
		if c.Checks[i].Gates.Has(GateReadiness) && s.Checks[i].gating() {
			return true
		}
	}
	return false
}

// Aggregate is the dependencies' overall status.
type Aggregate uint8

const (
	AggUp Aggregate = iota
	AggDegraded
	AggDown
	AggUnknown
)

var aggNames = [...]string{AggUp: "up", AggDegraded: "degraded", AggDown: "down", AggUnknown: "unknown"}

func (a Aggregate) String() string { return aggNames[a] }

// Aggregate: down if a hard check is down; else degraded if a soft one is;
// else unknown if any is unknown; else up (README, "Hard, soft and gates").
func (s *State) Aggregate(c *Config) Aggregate {
	soft, unknown := false, false
	for i := range c.Checks {
		switch s.Checks[i].Status {
		case StatusDown:
			if !c.Checks[i].Soft {
				return AggDown
			}
			soft = true
		case StatusUnknown:
			unknown = true
		}
	}
	switch {
	case soft:
		return AggDegraded
	case unknown:
		return AggUnknown
	}
	return AggUp
}

// Why readiness fails.
const (
	ReasonStarting     = "starting"
	ReasonDraining     = "draining"
	ReasonDependencies = "dependencies"
)

// Ready reports readiness and, when not ready, why. Draining is named first:
// it is the operator's own decision and explains every other symptom.
func (s *State) Ready(c *Config) (bool, string) {
	switch {
	case s.Draining || s.Teardown:
		return false, ReasonDraining
	case !s.Started:
		return false, ReasonStarting
	}
	for i := range c.Checks {
		if cs := &s.Checks[i]; c.Checks[i].Gates.Has(GateReadiness) && cs.gating() && cs.Status != StatusUp {
			return false, ReasonDependencies
		}
	}
	return true, ""
}
