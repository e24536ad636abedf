// Command envoybench measures meshprobe in Envoy against what Envoy offers
// natively and against the floor plugins, Go and runtime-free, each table a
// ladder from Envoy alone to meshprobe. Under load: requests/s, p50/p99/p99.9
// latency and Envoy's CPU per request, per cell, as medians over rounds that
// alternate the configurations; Envoy runs with one worker pinned to CPU 0,
// wrk (Debian package wrk) pinned to CPU 1, as are this command and the
// loopback upstream it serves. Then start-up and resident memory at 1, 2
// and 4 workers, module sizes, LDS push times and a memory soak, and the
// targets each holds or misses.
//
//	go run ./cmd/envoybench [-seconds 5] [-rounds 3] [-out file.md]
//	go run ./cmd/envoybench -only load -match 'floor|no-filter' -seconds 1 -rounds 1   # a quick look
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
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/meshprobe/meshprobe/internal/testing/benchdata"
	"github.com/meshprobe/meshprobe/internal/testing/envoyrun"
)

func main() {
	var o options
	flag.IntVar(&o.seconds, "seconds", 5, "seconds of load per cell and round")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds (medians over them)")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "load before the first round, per cell")
	flag.IntVar(&o.conns, "connections", 16, "wrk connections")
	flag.StringVar(&o.only, "only", "", `"load", "start" or "soak": run only that part`)
	flag.StringVar(&o.match, "match", "", "load only the cells whose configuration matches this regexp (the tables leave the rest out)")
	flag.IntVar(&o.startRuns, "start-runs", 3, "Envoys started per configuration and worker count for start-up and memory (medians over them)")
	flag.IntVar(&o.soak, "soak", 1_000_000, "mixed requests of the memory soak (0: none)")
	outFile := flag.String("out", "", "also write the tables (markdown) to this file")
	flag.Parse()
	var doc strings.Builder
	err := run(o, io.MultiWriter(os.Stdout, &doc))
	if err == nil && *outFile != "" {
		err = os.WriteFile(*outFile, []byte(doc.String()), 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "envoybench:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	seconds, rounds, conns, startRuns, soak int
	warmup                                  time.Duration
	only, match                             string
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
	rps, p50, p99, p999 float64 // latencies in µs
	cpuPerReq           float64 // Envoy's CPU µs per request
}

func (s *setup) configurations() map[string]bootstrap {
	return map[string]bootstrap{
		"meshprobe-10":          s.meshprobe(10, true),
		"meshprobe-50":          s.meshprobe(50, true),
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

func run(o options, out io.Writer) error {
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
	match, err := regexp.Compile(o.match)
	if err != nil {
		return err
	}
	s := &setup{root: root, envoy: have[0], upstream: up}
	p := func(format string, a ...any) { fmt.Fprintf(out, format, a...) }
	began := time.Now()
	took := func(part string) {
		fmt.Fprintf(os.Stderr, "envoybench: %s done at %s\n", part, time.Since(began).Round(time.Second))
	}
	m := measured{}
	if o.only == "" || o.only == "load" {
		ts := tables()
		var cells []cell
		seen := map[cell]bool{}
		for _, t := range ts {
			for _, r := range t.rows {
				if !seen[r.cell] && match.MatchString(r.cell.config) {
					seen[r.cell] = true
					cells = append(cells, r.cell)
				}
			}
		}
		if m.load, err = s.measure(cells, o.seconds, o.rounds, o.warmup, o.conns); err != nil {
			return err
		}
		p("Envoy %s with one worker (`--concurrency 1`) pinned to CPU 0; wrk -t1 -c%d pinned to CPU 1, as are the loopback\n", s.envoy.Version, o.conns)
		p("upstream and the dependencies; each Envoy warmed up %s; %d rounds of %d s per cell, the %d cells in turn\n", o.warmup, o.rounds, o.seconds, len(cells))
		p("within each round; medians over the rounds. Envoy CPU is user+system time from /proc per request.\n")
		p("Each table is a ladder: Envoy alone, a wasm module with no language runtime (WAT), a Go floor module, meshprobe.\n")
		p("*× rung above* and *CPU over rung above* compare a row with the nearest row above it on a lower rung: on the\n")
		p("runtime-free row they show what Envoy's wasm costs, on the Go floor's what Go costs, on meshprobe's what it adds.\n\n")
		printTables(p, ts, m.load)
		took("load")
	}
	if o.only == "" || o.only == "start" {
		if m.start, err = s.footprints(p, o.startRuns); err != nil {
			return err
		}
		if m.sizes, err = moduleSizes(p, root); err != nil {
			return err
		}
		if err := s.pushes(p); err != nil {
			return err
		}
		took("start-up and memory")
	}
	if (o.only == "" || o.only == "soak") && o.soak > 0 {
		if m.growth, err = s.soak(p, o.soak); err != nil {
			return err
		}
		m.soaked = true
		took("memory soak")
	}
	p("#### Targets in Envoy\n\n%s\n\n", strings.Join(m.verdicts(), "\n"))
	return nil
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
			f.cpuPerReq = (after - before) / (f.rps * float64(seconds)) * 1e6
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
			rps:       pick(func(f figures) float64 { return f.rps }),
			p50:       pick(func(f figures) float64 { return f.p50 }),
			p99:       pick(func(f figures) float64 { return f.p99 }),
			p999:      pick(func(f figures) float64 { return f.p999 }),
			cpuPerReq: pick(func(f figures) float64 { return f.cpuPerReq }),
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
