package wasmhost

import "sync"

// Metric types as proxy_define_metric numbers them.
const (
	metricCounter   = 0
	metricGauge     = 1
	metricHistogram = 2
)

// metrics mirrors Envoy's stats for a plugin: every proxy_define_metric call
// returns a new id (the type in its low two bits, as Envoy encodes it), but
// ids defined with the same type and name on any VM share one value, as they
// resolve to one stat in Envoy's store.
type metrics struct {
	mu     sync.Mutex
	nextID uint32
	byID   map[uint32]*metric
	byName map[metricKey]*metric
}

type metricKey struct {
	kind uint32
	name string
}

type metric struct {
	kind  uint32
	value int64 // counter or gauge value; histogram: number of samples
}

func newMetrics() *metrics {
	return &metrics{byID: map[uint32]*metric{}, byName: map[metricKey]*metric{}}
}

// StatPrefix is the namespace Envoy puts a plugin's metrics in: a metric
// the plugin defines as "x" is the stat "wasmcustom.x" (what stats_tags
// regexes see), shown as "x" on /stats/prometheus.
const StatPrefix = "wasmcustom."

// define mirrors Context::defineMetric.
func (m *metrics) define(kind uint32, name string) (uint32, status) {
	if kind > metricHistogram {
		return 0, statusBadArgument
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := metricKey{kind, StatPrefix + name}
	st := m.byName[k]
	if st == nil {
		st = &metric{kind: kind}
		m.byName[k] = st
	}
	m.nextID++
	id := m.nextID<<2 | kind
	m.byID[id] = st
	return id, statusOK
}

// increment mirrors Context::incrementMetric: counters take only positive
// offsets, gauges either sign, histograms none.
func (m *metrics) increment(id uint32, offset int64) status {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.byID[id]
	switch {
	case id&3 > metricGauge:
		return statusBadArgument
	case st == nil:
		return statusNotFound
	case st.kind == metricCounter && offset <= 0:
		return statusBadArgument
	}
	st.value += offset
	return statusOK
}

// record mirrors Context::recordMetric: a counter adds, a gauge is set, a
// histogram records a sample.
func (m *metrics) record(id uint32, value uint64) status {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.byID[id]
	if st == nil {
		return statusNotFound
	}
	switch st.kind {
	case metricCounter:
		st.value += int64(value)
	case metricGauge:
		st.value = int64(value)
	default:
		st.value++
	}
	return statusOK
}

// get mirrors Context::getMetric: histograms cannot be read.
func (m *metrics) get(id uint32) (uint64, status) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.byID[id]
	switch {
	case id&3 > metricGauge:
		return 0, statusBadArgument
	case st == nil:
		return 0, statusNotFound
	}
	return uint64(st.value), statusOK
}

// lookup returns the counter, else the gauge, of stat name (StatPrefix
// and the plugin's metric name).
func (m *metrics) lookup(name string) (uint64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, kind := range []uint32{metricCounter, metricGauge} {
		if st := m.byName[metricKey{kind, name}]; st != nil {
			return uint64(st.value), true
		}
	}
	return 0, false
}
