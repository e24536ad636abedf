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
	Runs        uint64
	Fails       uint64
	Observed    float64
	HasObserved bool
	// Grace: the check was added to a proxy that had already been ready.
	// Until its first result it gates nothing (see gating).
	Grace   bool
	Message string
}

// gating reports whether the check may hold a probe back: every check
// does, except one added to a running proxy that has not been tried yet.
func (s *CheckState) gating() bool { return !s.Grace || s.CheckedAt != 0 }

// Record applies one outcome at unix ms now: a check turns down after
// FailureThreshold consecutive failures and up after SuccessThreshold
// consecutive successes; until then it keeps its status (unknown included).
func (s *CheckState) Record(c *Check, o Outcome, now int64) {
	before := s.Status
	defer func() {
		if s.Status != before {
			s.ChangedAt = now
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
	// Teardown: the newest plugin instance was torn down (the
	// configuration removed or the proxy shutting down) and none has
	// started since: readiness fails on every worker.
	Teardown bool
	// ReadyOnce: the proxy has been ready; a check added from then on
	// gates nothing until its first result.
	ReadyOnce bool
	// Newest is the instance that started last: only its teardown drains.
	// An older instance torn down after a configuration change (Envoy
	// does that after the listener's drain time) leaves the newer one be.
	Newest uint64
}

// InstanceStarted: plugin instance id started (or re-added after a
// removal), so it is served again and its teardown is the one that counts.
func (p *Proxy) InstanceStarted(id uint64) { p.Newest, p.Teardown = id, false }

// InstanceDone: instance id is torn down. Only the newest instance's
// teardown fails readiness. Envoy's configuration canary starts a
// throwaway clone without ever tearing it down, and the workers start
// after it, so the canary is never the newest for long.
func (p *Proxy) InstanceDone(id uint64) {
	if p.Newest == id {
		p.Teardown = true
	}
}

// State is the aggregate a configuration serves: the proxy-wide record
// and its checks' records. Checks is aligned with Config.Checks.
type State struct {
	Proxy
	Checks []CheckState
}

// NewState is the state before any result: every check unknown, started
// only if no check gates startup.
func NewState(c *Config) *State {
	s := &State{Checks: make([]CheckState, len(c.Checks))}
	s.Latch(c)
	return s
}

// RefreshedAt is when a check last took a result (unix ms; on_request
// staleness).
func (s *State) RefreshedAt() int64 {
	var t int64
	for i := range s.Checks {
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
// else unknown if any is unknown; else up (DESIGN.md §4).
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
