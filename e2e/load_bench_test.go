package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/meshprobe/meshprobe/internal/testing/wasmhost"
)

// Figures over real sockets for `make bench` (run with -benchtime=1x: each
// is one measured scenario, not a loop to average).

// BenchmarkDependencyLoad: four workers, 1,000 readiness probes per second
// for ten one-second intervals; each dependency should receive exactly ten
// checks, where fanning out per probe would have sent it 10,000.
func BenchmarkDependencyLoad(b *testing.B) {
	const (
		interval  = time.Second
		intervals = 10
		perRound  = 1000
	)
	got := storm(b, startHost, interval, intervals, perRound)
	b.StopTimer()
	lo, hi := intervals*perRound, 0
	for _, n := range got {
		lo, hi = min(lo, n), max(hi, n)
	}
	b.ReportMetric(float64(lo), "min-checks/dep")
	b.ReportMetric(float64(hi), "max-checks/dep")
	b.ReportMetric(float64(intervals*perRound), "per-probe-fanout-checks/dep")
	b.ReportMetric(intervals, "intervals")
}

// BenchmarkOnRequestFanout: on_request mode, ten dependencies that each
// answer after 100 ms. A stale probe sends all ten at once, so it should
// take about 100 ms, not a second.
func BenchmarkOnRequestFanout(b *testing.B) {
	const deps, delay = 10, 100 * time.Millisecond
	ups := map[string]wasmhost.Upstream{}
	list := ""
	for i := range deps {
		p := newHTTPPeer(b, "ok", "")
		p.delay = delay
		p.set(modeSlow)
		name := fmt.Sprintf("d%d", i)
		ups[name] = wasmhost.Upstream{Addr: p.addr()}
		list += fmt.Sprintf(`%s{"name":%q,"kind":"http","cluster":%q,"timeout":"1s"}`, map[bool]string{true: ",", false: ""}[i > 0], name, name)
	}
	config := `{"refresh":{"mode":"on_request","ttl":"1ms"},"checks":[` + list + `]}`
	_, base := startReal(b, 1, config, ups)
	var took []time.Duration
	b.ResetTimer()
	for range max(b.N, 5) {
		time.Sleep(5 * time.Millisecond) // older than the ttl: the probe refreshes
		start := time.Now()
		if code, body := get(b, base+"/health/probes/readiness"); code != 200 {
			b.Fatalf("readiness: %d %s", code, body)
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "median-ms/probe")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms/probe")
	b.ReportMetric(float64(deps)*float64(delay.Milliseconds()), "serial-ms/probe")
}
