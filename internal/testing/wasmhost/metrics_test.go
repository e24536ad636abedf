package wasmhost

import "testing"

// Metrics mirror Envoy's Context::*Metric: one value per type and name
// whatever the id, counters only grow, histograms cannot be read, and the
// stat is named in Envoy's wasmcustom namespace.
func TestMetrics(t *testing.T) {
	m := newMetrics()
	c1, _ := m.define(metricCounter, "requests")
	c2, _ := m.define(metricCounter, "requests") // another VM's id, same stat
	g, _ := m.define(metricGauge, "inflight")
	h, _ := m.define(metricHistogram, "latency")
	for i, step := range []struct {
		op   func() status
		want status
	}{
		{func() status { return m.increment(c1, 2) }, statusOK},
		{func() status { return m.increment(c2, 3) }, statusOK},
		{func() status { return m.increment(c1, -1) }, statusBadArgument},
		{func() status { return m.increment(g, -4) }, statusOK},
		{func() status { return m.record(h, 7) }, statusOK},
		{func() status { return m.increment(h, 1) }, statusBadArgument},
		{func() status { _, st := m.get(h); return st }, statusBadArgument},
		{func() status { return m.increment(400, 1) }, statusNotFound},
		{func() status { _, st := m.define(3, "x"); return st }, statusBadArgument},
	} {
		if got := step.op(); got != step.want {
			t.Errorf("step %d: %d; want %d", i, got, step.want)
		}
	}
	if v, ok := m.lookup("wasmcustom.requests"); !ok || v != 5 {
		t.Errorf("wasmcustom.requests = %d, %v; want 5 (Envoy's stat name)", v, ok)
	}
	if _, ok := m.lookup("requests"); ok {
		t.Error(`the stat is named "requests"; Envoy names it "wasmcustom.requests"`)
	}
	if v, _ := m.get(g); int64(v) != -4 {
		t.Errorf("inflight = %d; want -4", int64(v))
	}
}
