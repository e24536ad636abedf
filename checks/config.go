// Package checks holds everything meshprobe decides without the proxy: the
// configuration model and its parser, routes, the details policy, check state
// and the renderers of every endpoint format. It never imports the proxy-wasm
// SDK, so all of it is tested and fuzzed as plain Go.
package checks

import (
	"time"
)

// Kind is how a check talks to its dependency.
type Kind uint8

const (
	KindHTTP Kind = iota
	KindGRPC
	KindHSM
)

var kindNames = [...]string{KindHTTP: "http", KindGRPC: "grpc", KindHSM: "hsm"}

func (k Kind) String() string { return kindNames[k] }

// Gate is a set of probes a check can hold back.
type Gate uint8

const (
	GateReadiness Gate = 1 << iota
	GateStartup
)

// Has reports whether every gate in o is in g.
func (g Gate) Has(o Gate) bool { return g&o == o }

// StatusRange is an inclusive range of accepted HTTP status codes ("2xx" is 200..299).
type StatusRange struct{ Lo, Hi int }

// JSONExpect is one expect.json entry: the value at Path must equal one of Accept.
type JSONExpect struct {
	Path   string
	Accept []Scalar
}

// Scalar is a JSON scalar as configured: its gjson type and its text
// (the unquoted string, or the number/bool/null literal).
type Scalar struct {
	Type ScalarType
	Text string
	Num  float64
}

type ScalarType uint8

const (
	ScalarString ScalarType = iota
	ScalarNumber
	ScalarBool
	ScalarNull
)

// Check is one configured dependency check, with every default applied.
type Check struct {
	Name      string
	Kind      Kind
	Cluster   string
	Authority string
	Path      string
	Method    string
	// Headers are sent with the callout. Their values are secrets: they are
	// never rendered, logged or echoed in an error.
	Headers          [][2]string
	Timeout          time.Duration
	Interval         time.Duration
	Soft             bool
	Gates            Gate
	Group            string
	FailureThreshold int
	SuccessThreshold int
	ExpectStatus     []StatusRange
	ExpectJSON       []JSONExpect
	Observe          string
	GRPCService      string
	// ComponentType is the health+json componentType ("" = by kind).
	ComponentType string
}

// Type is "hard" or "soft", as the endpoints spell it.
func (c *Check) Type() string {
	if c.Soft {
		return "soft"
	}
	return "hard"
}

// Service is the identity /up and /info report.
type Service struct {
	Name, Version, Commit, BuildDate, Region, Env string
	// Namespace and Cluster come only from the proxy's node metadata.
	Namespace, Cluster string
}

// RefreshMode says who runs the checks.
type RefreshMode uint8

const (
	RefreshBackground RefreshMode = iota
	RefreshOnRequest
)

func (m RefreshMode) String() string {
	if m == RefreshOnRequest {
		return "on_request"
	}
	return "background"
}

// Refresh is how often and by whom checks run.
type Refresh struct {
	Mode     RefreshMode
	Interval time.Duration
	// Jitter is either a fraction of the interval (JitterPercent > 0) or a
	// fixed duration; both are zero for none.
	JitterPercent int
	Jitter        time.Duration
	TTL           time.Duration
}

// Expose is the details policy mode.
type Expose uint8

const (
	ExposeAuthorized Expose = iota
	ExposeNever
	ExposeAlways
)

var exposeNames = [...]string{ExposeAuthorized: "authorized", ExposeNever: "never", ExposeAlways: "always"}

func (e Expose) String() string { return exposeNames[e] }

// Details says who may see per-check details.
type Details struct {
	Expose          Expose
	AllowCIDRs      []CIDR
	TokenSHA256     [][32]byte
	AllowPrincipals []string
}

// Config is a parsed, validated and defaulted plugin configuration.
type Config struct {
	Service      Service
	BasePath     string // normalised: starts with "/", no trailing "/" ("" for the root)
	Dialects     []Dialect
	Refresh      Refresh
	Checks       []Check
	Details      Details
	DrainEnabled bool
	// Routes are the paths the enabled dialects answer, collision-free.
	Routes []Route
	// Warnings are accepted mistakes worth a line in the proxy's log at
	// configure time (without "meshprobe: "), each one printable line.
	Warnings []string
}

// Defaults of the configuration (README, "Configuration").
const (
	defaultBasePath         = "/health"
	defaultInterval         = 10 * time.Second
	defaultJitterPercent    = 10
	defaultTTL              = 2 * time.Second
	defaultTimeout          = 2 * time.Second
	defaultFailureThreshold = 3
	defaultSuccessThreshold = 1
)

// hsmAccept are the HSM gateway status values that mean "up" unless configured.
var hsmAccept = []string{"OK", "ok", "ready", "up", "UP"}

// groups lists the check groups in order of first appearance.
func (c *Config) groups() []string {
	var gs []string
	seen := map[string]bool{}
	for i := range c.Checks {
		if g := c.Checks[i].Group; g != "" && !seen[g] {
			seen[g] = true
			gs = append(gs, g)
		}
	}
	return gs
}
