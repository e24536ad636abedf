package plugin

import (
	"strconv"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/meshprobe/meshprobe/checks"
)

// Envoy stats. Proxy-wasm metrics carry no labels: each name carries its
// labels as ".key=value" segments, which the stats_tags in envoy/envoy.yaml
// turn into Prometheus labels on Envoy's /stats/prometheus. Envoy shares a
// metric by name across worker VMs, so these are proxy-wide; {base}/metrics
// reads the probe counters back from them.
type stats struct {
	probes      [][]proxywasm.MetricCounter // by Route.Index, one per checks.ProbeCodes
	probeOrder  []checks.ProbeCount
	probeByKey  []proxywasm.MetricCounter // parallel to probeOrder
	runs, fails []proxywasm.MetricCounter // per check
	transitions []proxywasm.MetricCounter // per check: changes of status
	up          []proxywasm.MetricGauge   // per check: 1 up, else 0
}

// defineStats defines every stat once at configure time, so counting a probe
// is an index by route and an increment.
func defineStats(cfg *checks.Config) *stats {
	s := &stats{probes: make([][]proxywasm.MetricCounter, len(cfg.Routes))}
	byLabel := map[string][]proxywasm.MetricCounter{}
	for _, ep := range checks.EndpointLabels(cfg.Routes) {
		for _, code := range checks.ProbeCodes {
			c := proxywasm.DefineCounterMetric("meshprobe_probe_requests_total.endpoint=" + ep + ".code=" + strconv.Itoa(code))
			byLabel[ep] = append(byLabel[ep], c)
			s.probeOrder = append(s.probeOrder, checks.ProbeCount{Endpoint: ep, Code: code})
			s.probeByKey = append(s.probeByKey, c)
		}
	}
	for i := range cfg.Routes {
		s.probes[i] = byLabel[cfg.Routes[i].EndpointLabel()]
	}
	for i := range cfg.Checks {
		tag := ".check=" + cfg.Checks[i].Name
		s.runs = append(s.runs, proxywasm.DefineCounterMetric("meshprobe_check_runs_total"+tag))
		s.fails = append(s.fails, proxywasm.DefineCounterMetric("meshprobe_check_failures_total"+tag))
		s.transitions = append(s.transitions, proxywasm.DefineCounterMetric("meshprobe_check_transitions_total"+tag))
		s.up = append(s.up, proxywasm.DefineGaugeMetric("meshprobe_check_up"+tag))
	}
	return s
}

// probe counts one answered probe.
func (s *stats) probe(r *checks.Route, status int) {
	for i, code := range checks.ProbeCodes {
		if code == status {
			s.probes[r.Index][i].Increment(1)
		}
	}
}

// result counts one check result, and a transition, which moves the up gauge.
func (s *stats) result(i int, ok bool, before, after checks.Status) {
	s.runs[i].Increment(1)
	if !ok {
		s.fails[i].Increment(1)
	}
	if before != after {
		s.transitions[i].Increment(1)
	}
	if (before == checks.StatusUp) != (after == checks.StatusUp) {
		if after == checks.StatusUp {
			s.up[i].Add(1)
		} else {
			s.up[i].Add(-1)
		}
	}
}

// probeCounts reads the proxy-wide probe counters.
func (s *stats) probeCounts() []checks.ProbeCount {
	out := make([]checks.ProbeCount, len(s.probeOrder))
	for i, p := range s.probeOrder {
		p.Count = s.probeByKey[i].Value()
		out[i] = p
	}
	return out
}
