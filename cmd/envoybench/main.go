// Command envoybench measures meshprobe in Envoy against what Envoy offers
// natively and against the floor plugins: requests/s, p50/p99/p99.9
// latency and Envoy's CPU seconds per 100k requests, per cell, as medians
// over rounds that alternate the configurations. Envoy runs with one worker
// pinned to CPU 0; wrk (Debian package wrk) runs pinned to CPU 1, as does
// this command and the loopback upstream it serves.
//
//	go run ./cmd/envoybench [-seconds 10] [-rounds 3] [-out file.md]
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/meshprobe/meshprobe/internal/benchdata"
	"github.com/meshprobe/meshprobe/internal/envoyrun"
)

func main() {
	seconds := flag.Int("seconds", 10, "seconds of load per cell and round")
	rounds := flag.Int("rounds", 3, "rounds (medians over them)")
	warmup := flag.Duration("warmup", time.Second, "load before the first round, per cell")
	conns := flag.Int("connections", 16, "wrk connections")
	only := flag.String("only", "", `"load", "memory" or "start": run only that part`)
	outFile := flag.String("out", "", "also write the tables (markdown) to this file")
	flag.Parse()
	var doc strings.Builder
	err := run(*seconds, *rounds, *warmup, *conns, *only, io.MultiWriter(os.Stdout, &doc))
	if err == nil && *outFile != "" {
		err = os.WriteFile(*outFile, []byte(doc.String()), 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "envoybench:", err)
		os.Exit(1)
	}
}

// cell is one load measurement: one Envoy configuration, one path, the
// request headers wrk sends (Host and headers-1 more).
type cell struct {
	config  string // key into the configurations
	path    string
	headers int
}

// figures of one wrk run against one Envoy.
type figures struct {
	rps, p50, p99, p999, cpuPer100k float64 // latencies in µs
}

// row of a table: a label and the cell it shows.
type row struct {
	label string
	cell  cell
}

// table shows cells as ratios to its row at index base.
type table struct {
	title string
	base  int
	rows  []row
}

const defaultHeaders = 10

func tables() []table {
	live := func(config string) cell { return cell{config, livenessPath, defaultHeaders} }
	ready := func(config string) cell { return cell{config, readinessPath, defaultHeaders} }
	api := func(config string, headers int) cell { return cell{config, apiPath, headers} }
	doc := func(config, path string) cell { return cell{config, path, defaultHeaders} }
	return []table{
		{"liveness", 1, []row{
			{"meshprobe", live("meshprobe-10")},
			{"Envoy health_check filter", live("health_check")},
			{"direct_response route", live("direct_response")},
			{"floor-reply wasm", live("floor-reply")},
			{"runtime-free wasm (WAT) reply", live("floor-reply-wat")},
		}},
		{"readiness, 10 checks up", 1, []row{
			{"meshprobe", ready("meshprobe-10")},
			{"Envoy health_check filter, cluster_min_healthy_percentages over 10 clusters", ready("health_check-10")},
			{"floor-reply wasm (the same reply on every path)", live("floor-reply")},
		}},
		{"readiness by number of checks", 0, []row{
			{"meshprobe, 1 check", ready("meshprobe-1")},
			{"meshprobe, 10 checks", ready("meshprobe-10")},
			{"meshprobe, 50 checks", ready("meshprobe-50")},
		}},
		{"pass-through `GET /api/orders?page=2` to a loopback upstream", 1, []row{
			{"meshprobe as shipped (health routes only), 10 request headers", api("meshprobe-10", 10)},
			{"no filter, 10 request headers", api("no-filter", 10)},
			{"meshprobe on every request, 10 request headers", api("meshprobe-10-unscoped", 10)},
			{"floor-continue wasm, 10 request headers", api("floor-continue", 10)},
			{"runtime-free wasm (WAT) continue, 10 request headers", api("floor-continue-wat", 10)},
			{"meshprobe on every request, 100 request headers", api("meshprobe-10-unscoped", 100)},
		}},
		{"status documents (details allowed)", 4, []row{
			{"meshprobe `/health/dependencies`, 50 checks", doc("meshprobe-50", "/health/dependencies")},
			{"meshprobe `/health/metrics`, 10 checks", doc("meshprobe-10", "/health/metrics")},
			{"meshprobe `/health/metrics`, 50 checks", doc("meshprobe-50", "/health/metrics")},
			{"meshprobe `/health/metrics`, 200 checks", doc("meshprobe-200", "/health/metrics")},
			{"floor-reply wasm", live("floor-reply")},
		}},
	}
}

func (s *setup) configurations() map[string]bootstrap {
	return map[string]bootstrap{
		"meshprobe-1":           s.meshprobe(1, true),
		"meshprobe-10":          s.meshprobe(10, true),
		"meshprobe-50":          s.meshprobe(50, true),
		"meshprobe-200":         s.meshprobe(200, true),
		"health_check":          s.healthCheck(livenessPath, 0),
		"health_check-10":       s.healthCheck(readinessPath, 10),
		"direct_response":       s.directResponse(),
		"floor-reply":           s.floor("floor-reply"),
		"floor-continue":        s.floor("floor-continue"),
		"floor-reply-wat":       s.floor("floor-reply-wat"),
		"floor-continue-wat":    s.floor("floor-continue-wat"),
		"no-filter":             s.noFilter(),
		"meshprobe-10-unscoped": s.meshprobe(10, false),
	}
}

func run(seconds, rounds int, warmup time.Duration, conns int, only string, out io.Writer) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("wrk is not installed (Debian package wrk): %w", err)
	}
	vs, err := envoyrun.Versions(root)
	if err != nil {
		return err
	}
	have, _, err := envoyrun.Installed(root, vs[:1])
	if err != nil || len(have) == 0 {
		return fmt.Errorf("no Envoy %s installed: run `make envoy` (%v)", vs[0], err)
	}
	up, err := upstream()
	if err != nil {
		return err
	}
	s := &setup{root: root, envoy: have[0], upstream: up}
	p := func(format string, a ...any) { fmt.Fprintf(out, format, a...) }
	began := time.Now()
	took := func(part string) {
		fmt.Fprintf(os.Stderr, "envoybench: %s done at %s\n", part, time.Since(began).Round(time.Second))
	}
	var verdicts []string
	if only == "" || only == "load" {
		ts := tables()
		var cells []cell
		seen := map[cell]bool{}
		for _, t := range ts {
			for _, r := range t.rows {
				if !seen[r.cell] {
					seen[r.cell] = true
					cells = append(cells, r.cell)
				}
			}
		}
		results, err := s.measure(cells, seconds, rounds, warmup, conns)
		if err != nil {
			return err
		}
		p("Envoy %s with one worker (`--concurrency 1`) pinned to CPU 0; wrk -t1 -c%d pinned to CPU 1, as are the loopback\n", s.envoy.Version, conns)
		p("upstream and the dependencies; each Envoy warmed up %s; %d rounds of %d s per cell, the %d cells in turn\n", warmup, rounds, seconds, len(cells))
		p("within each round; medians over the rounds. Envoy CPU is user+system time from /proc, per 100k requests.\n\n")
		for _, t := range ts {
			p("#### %s\n\n| configuration | requests/s | × %s | p50 µs | p99 µs | p99.9 µs | Envoy CPU s / 100k |\n|---|---:|---:|---:|---:|---:|---:|\n",
				t.title, t.rows[t.base].label)
			base := results[t.rows[t.base].cell].rps
			for _, r := range t.rows {
				f := results[r.cell]
				p("| %s | %.0f | %.3f | %.0f | %.0f | %.0f | %.2f |\n", r.label, f.rps, f.rps/base, f.p50, f.p99, f.p999, f.cpuPer100k)
			}
			p("\n")
		}
		verdicts = append(verdicts, loadVerdicts(results)...)
		took("load")
	}
	if only == "" || only == "memory" {
		v, err := s.memory(p)
		if err != nil {
			return err
		}
		verdicts = append(verdicts, v...)
		took("memory")
	}
	if only == "" || only == "start" {
		if err := s.startUp(p); err != nil {
			return err
		}
		took("start-up")
	}
	if len(verdicts) > 0 {
		p("#### Targets (issue 14)\n\n%s\n\n", strings.Join(verdicts, "\n"))
	}
	return nil
}

// loadVerdicts checks the throughput and latency targets.
func loadVerdicts(r map[cell]figures) []string {
	live := func(c string) figures { return r[cell{c, livenessPath, defaultHeaders}] }
	ready := func(c string) figures { return r[cell{c, readinessPath, defaultHeaders}] }
	api := func(c string) figures { return r[cell{c, apiPath, defaultHeaders}] }
	spread := func(cs ...string) float64 {
		lo, hi := ready(cs[0]).rps, ready(cs[0]).rps
		for _, c := range cs[1:] {
			lo, hi = min(lo, ready(c).rps), max(hi, ready(c).rps)
		}
		return hi/lo - 1
	}
	return []string{
		verdict("pass-through as shipped ≥ 0.97× no filter", api("meshprobe-10").rps/api("no-filter").rps, 0.97, true),
		verdict("pass-through on every request ≥ 0.99× floor-continue", api("meshprobe-10-unscoped").rps/api("floor-continue").rps, 0.99, true),
		verdict("liveness ≥ 0.90× Envoy's health_check filter", live("meshprobe-10").rps/live("health_check").rps, 0.90, true),
		verdict("liveness p99 ≤ 1.2× the health_check filter's", live("meshprobe-10").p99/live("health_check").p99, 1.2, false),
		verdict("readiness, 10 checks ≥ 0.85× health_check with cluster percentages", ready("meshprobe-10").rps/ready("health_check-10").rps, 0.85, true),
		verdict("readiness throughput flat from 1 to 50 checks (spread ≤ 10%)", spread("meshprobe-1", "meshprobe-10", "meshprobe-50"), 0.10, false),
	}
}

// verdict is one line of the targets list: atLeast says whether the
// measured ratio must reach the target or stay under it.
func verdict(what string, got, target float64, atLeast bool) string {
	v := "**misses**"
	if (atLeast && got >= target) || (!atLeast && got <= target) {
		v = "holds"
	}
	return fmt.Sprintf("- %s: %.3f, %s", what, got, v)
}

// measure starts one Envoy per configuration the cells use, warms each
// up, then runs the rounds, every cell once per round in turn, and
// returns each cell's medians.
func (s *setup) measure(cells []cell, seconds, rounds int, warmup time.Duration, conns int) (map[cell]figures, error) {
	configs := s.configurations()
	envoys := map[string]*envoyrun.Envoy{}
	urls := map[string]string{}
	defer func() {
		for _, e := range envoys {
			if e != nil {
				e.Stop()
			}
		}
	}()
	// Start-up compiles the module, the longest part: on both CPUs, all at
	// once; then every thread of each Envoy is pinned to CPU 0.
	var mu sync.Mutex
	var g errgroup.Group
	for _, c := range cells {
		if _, ok := envoys[c.config]; ok {
			continue
		}
		envoys[c.config] = nil
		g.Go(func() error {
			e, url, err := s.start(configs[c.config], 1, "0-1")
			if err != nil {
				return fmt.Errorf("%s: %w", c.config, err)
			}
			mu.Lock()
			envoys[c.config], urls[c.config] = e, url
			mu.Unlock()
			if out, err := exec.Command("taskset", "-a", "-p", "-c", "0", strconv.Itoa(e.PID())).CombinedOutput(); err != nil {
				return fmt.Errorf("pinning %s: %v\n%s", c.config, err, out)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, c := range cells {
		if err := ready(urls[c.config] + c.path); err != nil {
			return nil, fmt.Errorf("%s: %w", c.config, err)
		}
		if _, err := load(urls[c.config]+c.path, c.headers, int(max(1, warmup.Seconds())), conns); err != nil {
			return nil, fmt.Errorf("%s warm-up: %w", c.config, err)
		}
	}
	all := map[cell][]figures{}
	for i := range rounds {
		fmt.Fprintf(os.Stderr, "envoybench: round %d of %d, %d cells\n", i+1, rounds, len(cells))
		for _, c := range cells {
			pid := envoys[c.config].PID()
			before, err := cpuSeconds(pid)
			if err != nil {
				return nil, err
			}
			f, err := load(urls[c.config]+c.path, c.headers, seconds, conns)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", c.config, c.path, err)
			}
			after, err := cpuSeconds(pid)
			if err != nil {
				return nil, err
			}
			f.cpuPer100k = (after - before) / (f.rps * float64(seconds)) * 1e5
			all[c] = append(all[c], f)
		}
	}
	out := map[cell]figures{}
	for c, fs := range all {
		pick := func(get func(figures) float64) float64 {
			v := make([]float64, len(fs))
			for j, f := range fs {
				v[j] = get(f)
			}
			return benchdata.Median(v)
		}
		out[c] = figures{
			rps:        pick(func(f figures) float64 { return f.rps }),
			p50:        pick(func(f figures) float64 { return f.p50 }),
			p99:        pick(func(f figures) float64 { return f.p99 }),
			p999:       pick(func(f figures) float64 { return f.p999 }),
			cpuPer100k: pick(func(f figures) float64 { return f.cpuPer100k }),
		}
	}
	return out, nil
}

// wrkReport prints what wrk measured on one line (latencies in µs).
const wrkReport = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    e.connect + e.read + e.write + e.status + e.timeout))
end
`

// reportScript writes wrkReport to a file once: loads run concurrently.
var reportScript = sync.OnceValues(func() (string, error) {
	script := filepath.Join(os.TempDir(), "meshprobe-envoybench.lua")
	return script, os.WriteFile(script, []byte(wrkReport), 0o644)
})

// load runs wrk on CPU 1 against url, sending Host and headers-1 more
// request headers, and returns what it measured.
func load(url string, headers, seconds, conns int) (figures, error) {
	script, err := reportScript()
	if err != nil {
		return figures{}, err
	}
	args := []string{"-c", "1", "wrk", "-t1", fmt.Sprintf("-c%d", conns), fmt.Sprintf("-d%ds", seconds), "-s", script}
	for i := 1; i < headers; i++ {
		args = append(args, "-H", fmt.Sprintf("x-bench-%02d: value-of-header-%02d", i, i))
	}
	out, err := exec.Command("taskset", append(args, url)...).CombinedOutput()
	if err != nil {
		return figures{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) != 7 || f[0] != "RESULT" {
			continue
		}
		var v [6]float64
		for i := range v {
			v[i], _ = strconv.ParseFloat(f[i+1], 64)
		}
		if v[5] > 0 {
			return figures{}, fmt.Errorf("wrk saw %.0f errors or non-2xx replies against %s", v[5], url)
		}
		return figures{rps: v[0] / (v[1] / 1e6), p50: v[2], p99: v[3], p999: v[4]}, nil
	}
	return figures{}, fmt.Errorf("no result from wrk:\n%s", out)
}

// cpuSeconds is the user and system time the process has used so far.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th of them, in clock ticks (100 a second).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too short", pid)
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100, nil
}

func ready(url string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s never answered 200 (last: %v)", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// upstream serves the pass-through traffic: 200 and a short body.
func upstream() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok"))
	}))
	return ln.Addr().String(), nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the meshprobe module")
	}
	return filepath.Dir(mod), nil
}
