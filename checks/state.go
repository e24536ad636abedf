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
	Status Status
}

// State is the aggregate every worker serves. Checks is aligned with Config.Checks.
type State struct {
	Started  bool // latched: never goes back to false
	Draining bool
	Checks   []CheckState
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
	case s.Draining:
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
