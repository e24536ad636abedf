package main

import "fmt"

// measured is what one run measured; a part left out (-only) is empty.
type measured struct {
	load   map[cell]figures
	start  map[string]map[int]footprint // by footprintRow key, then workers
	sizes  map[string]int64             // .wasm bytes by module name
	growth float64                      // MiB from 200k to all soak requests
	soaked bool
}

// verdicts checks the targets: meshprobe against no filter and against
// the Go floor-reply, measured in this run.
func (m measured) verdicts() []string {
	var out []string
	add := func(what string, got, target float64, atLeast, ok bool) {
		out = append(out, verdict(what, got, target, atLeast, ok))
	}
	if m.load != nil {
		r := func(config, path string, headers int) figures { return m.load[cell{config, path, headers}] }
		reply := r("floor-reply", livenessPath, defaultHeaders).rps
		add("pass-through as shipped ≥ 0.97× no filter (10 request headers)",
			ratio(r("meshprobe-10", apiPath, defaultHeaders).rps, r("no-filter", apiPath, defaultHeaders).rps), 0.97, true, true)
		add("liveness ≥ 0.98× Go floor-reply", ratio(r("meshprobe-10", livenessPath, defaultHeaders).rps, reply), 0.98, true, true)
		add("readiness, 10 checks ≥ 0.95× Go floor-reply", ratio(r("meshprobe-10", readinessPath, defaultHeaders).rps, reply), 0.95, true, true)
		metrics := r("meshprobe-50", "/health/metrics", defaultHeaders).cpuPerReq / 1e3
		add("`/metrics` with 50 checks ≤ 0.7 ms of Envoy CPU per scrape (ms)", metrics, 0.7, false, metrics > 0)
	}
	if m.sizes != nil {
		add("module size ≤ 1.4× Go floor-reply's", ratio(float64(m.sizes["meshprobe"]), float64(m.sizes["floor-reply"])), 1.4, false, true)
	}
	if m.start != nil {
		f := m.start
		for _, w := range footprintWorkers[:2] {
			add(fmt.Sprintf("exec → first liveness 200 ≤ 1.4× Go floor-reply's, %d worker(s)", w),
				ratio(f["meshprobe"][w].firstLive, f["floor-reply"][w].firstLive), 1.4, false, true)
		}
		for _, w := range footprintWorkers[:2] {
			over := func(key string) float64 { return f[key][w].rss - f["no-wasm"][w].rss }
			add(fmt.Sprintf("Envoy RSS above no wasm ≤ 1.2× Go floor-reply's, %d worker(s)", w), ratio(over("meshprobe"), over("floor-reply")), 1.2, false, true)
		}
		add(fmt.Sprintf("RSS per worker above no wasm (slope over %v workers) ≤ 1.25× Go floor-reply's", footprintWorkers),
			ratio(memSlope(f, "meshprobe"), memSlope(f, "floor-reply")), 1.25, false, true)
	}
	if m.soaked {
		add("resident memory after the soak ≤ after 200k requests + 1 MiB (growth, MiB)", m.growth, 1, false, true)
	}
	return out
}

// ratio is a/b, or 0 when b is not positive (not measured).
func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// verdict is one line of the targets list: atLeast says whether the
// measured figure must reach the target or stay under it; a figure of 0
// (or !ok) was not measured.
func verdict(what string, got, target float64, atLeast, ok bool) string {
	if !ok || got == 0 {
		return fmt.Sprintf("- %s: not measured", what)
	}
	v := "**misses**"
	if (atLeast && got >= target) || (!atLeast && got <= target) {
		v = "holds"
	}
	return fmt.Sprintf("- %s: %.3f, %s", what, got, v)
}
