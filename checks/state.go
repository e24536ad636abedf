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

// CheckState is what is known of one check.
type CheckState struct {
	Status     Status
	EverUp     bool   // up at least once: feeds the started latch
	ConsecFail uint16 // consecutive failures, saturating
	ConsecOK   uint16 // consecutive successes, saturating
	LatencyMs  uint32
	CheckedAt  int64 // unix ms of the last result; 0 before the first
	LastOK     int64 // unix ms of the last success
	ChangedAt  int64 // unix ms when Status last changed; 0 before
	NextDue    int64 // unix ms when the check should run next (jitter applied)
	Runs       uint64
	Fails      uint64
	Observed   float64
	HasObs     bool
	Message    string
}

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
	s.Observed, s.HasObs = o.Observed, o.HasObserved
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

// Latch sets Started once every startup-gating check has been up; it never
// clears it.
func (s *State) Latch(c *Config) {
	if s.Started {
		return
	}
	for i := range c.Checks {
		if c.Checks[i].Gates.Has(GateStartup) && !s.Checks[i].EverUp {
			return
		}
	}
	s.Started = true
}

// State is the aggregate every worker serves. Checks is aligned with Config.Checks.
type State struct {
	Started     bool  // latched: never goes back to false
	Draining    bool  // by an operator's POST {base}/drain
	RefreshedAt int64 // unix ms of the last refresh (on_request staleness)
	// Teardown: a plugin instance of this configuration was torn down and
	// none has started since.
	Teardown bool
	// Seq counts writes (mod 2^16). Nothing is ordered by it (the summary
	// mirror copies the record as it is, see mirrorSummary); it tells two
	// headers of one record apart when reading shared data by hand.
	Seq    uint16
	Checks []CheckState
}

// NewState is the state before any result: every check unknown, started only
// if no check gates startup.
func NewState(c *Config) *State {
	s := &State{Checks: make([]CheckState, len(c.Checks)), Started: true}
	for i := range c.Checks {
		if c.Checks[i].Gates.Has(GateStartup) {
			s.Started = false
		}
	}
	return s
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
		if c.Checks[i].Gates.Has(GateReadiness) && s.Checks[i].Status != StatusUp {
			return false, ReasonDependencies
		}
	}
	return true, ""
}

// InstanceStarted: a plugin instance of this configuration started, so it
// is served again (re-added after a removal). Envoy reuses a live plugin for
// an unchanged configuration on a reload, so a start never races the
// teardown of an instance it replaces.
func (s *State) InstanceStarted() { s.Teardown = false }

// InstanceDone: an instance is torn down (configuration removed or the proxy
// shutting down): readiness fails on every worker at once. Envoy's
// configuration canary starts a throwaway clone without ever tearing it
// down, so it cannot set this.
func (s *State) InstanceDone() { s.Teardown = true }
