// Command envoybench measures meshprobe in Envoy against what Envoy offers
// natively and against the floor plugins: requests/s, p50/p99/p99.9
// latency and Envoy's CPU seconds per 100k requests, per cell, as medians
// over rounds that alternate the configurations. Envoy runs with one worker
// pinned to CPU 0; wrk (Debian package wrk) runs pinned to CPU 1, as does
// this command and the loopback upstream it serves.
//
//	go run ./e2e/cmd/envoybench [-seconds 10] [-rounds 3]
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/meshprobe/meshprobe/e2e/benchdata"
	"github.com/meshprobe/meshprobe/e2e/envoyrun"
)

func main() {
	seconds := flag.Int("seconds", 10, "seconds of load per cell and round")
	rounds := flag.Int("rounds", 3, "rounds (medians over them)")
	warmup := flag.Duration("warmup", 2*time.Second, "load before the first round, per configuration")
	conns := flag.Int("connections", 16, "wrk connections")
	only := flag.String("only", "", `"load" or "memory": run only that part`)
	flag.Parse()
	if err := run(*seconds, *rounds, *warmup, *conns, *only); err != nil {
		fmt.Fprintln(os.Stderr, "envoybench:", err)
		os.Exit(1)
	}
}

// cell is one configuration of one comparison.
type cell struct {
	name string
	boot bootstrap
	path string
}

// figures of one wrk run against one Envoy.
type figures struct {
	rps, p50, p99, p999, cpuPer100k float64 // latencies in µs
}

func run(seconds, rounds int, warmup time.Duration, conns int, only string) error {
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
		return fmt.Errorf("Envoy %s is not installed: run `make envoy` (%v)", vs[0], err)
	}
	up, err := upstream()
	if err != nil {
		return err
	}
	env := &setup{root: root, envoy: have[0], upstream: up}
	// Each group's ratios are to its cell at index base.
	groups := []struct {
		title string
		base  int
		cells []cell
	}{
		{"liveness", 1, []cell{
			{"meshprobe", env.meshprobe(10), livenessPath},
			{"Envoy health_check filter", env.healthCheck(livenessPath, 0), livenessPath},
			{"direct_response route", env.directResponse(), livenessPath},
			{"floor-reply wasm", env.floor("floor-reply"), livenessPath},
		}},
		{"readiness, 10 checks up", 1, []cell{
			{"meshprobe", env.meshprobe(10), readinessPath},
			{"Envoy health_check filter, cluster_min_healthy_percentages over 10 clusters", env.healthCheck(readinessPath, 10), readinessPath},
			{"floor-reply wasm", env.floor("floor-reply"), readinessPath},
		}},
		{"pass-through to a loopback upstream", 1, []cell{
			{"meshprobe", env.meshprobe(10), apiPath},
			{"no filter", env.noFilter(), apiPath},
			{"floor-continue wasm", env.floor("floor-continue"), apiPath},
		}},
		{"status documents, 50 checks (details allowed)", 2, []cell{
			{"meshprobe `/health/dependencies`", env.meshprobe(50), "/health/dependencies"},
			{"meshprobe `/health/metrics`", env.meshprobe(50), "/health/metrics"},
			{"floor-reply wasm", env.floor("floor-reply"), "/health/metrics"},
		}},
		{"readiness by number of checks", 0, []cell{
			{"1 check", env.meshprobe(1), readinessPath},
			{"10 checks", env.meshprobe(10), readinessPath},
			{"50 checks", env.meshprobe(50), readinessPath},
		}},
		{"`/metrics` by number of checks", 0, []cell{
			{"10 checks", env.meshprobe(10), "/health/metrics"},
			{"50 checks", env.meshprobe(50), "/health/metrics"},
			{"200 checks", env.meshprobe(200), "/health/metrics"},
		}},
	}
	if only == "memory" {
		return env.memory()
	}
	fmt.Printf("Envoy %s, 1 worker on CPU 0; wrk -t1 -c%d on CPU 1; %d s per cell, %d rounds, medians\n\n",
		env.envoy.Version, conns, seconds, rounds)
	for _, g := range groups {
		results, err := env.measure(g.cells, seconds, rounds, warmup, conns)
		if err != nil {
			return fmt.Errorf("%s: %w", g.title, err)
		}
		fmt.Printf("### %s\n\n| configuration | requests/s | × %s | p50 µs | p99 µs | p99.9 µs | Envoy CPU s / 100k |\n|---|---:|---:|---:|---:|---:|---:|\n",
			g.title, g.cells[g.base].name)
		base := results[g.base].rps
		for i, c := range g.cells {
			r := results[i]
			fmt.Printf("| %s | %.0f | %.3f | %.0f | %.0f | %.0f | %.2f |\n", c.name, r.rps, r.rps/base, r.p50, r.p99, r.p999, r.cpuPer100k)
		}
		fmt.Println()
	}
	if only == "load" {
		return nil
	}
	return env.memory()
}

// measure starts one Envoy per cell, warms each up, then runs the rounds,
// each cell once per round in turn, and returns each cell's medians.
func (s *setup) measure(cells []cell, seconds, rounds int, warmup time.Duration, conns int) ([]figures, error) {
	envoys := make([]*envoyrun.Envoy, len(cells))
	urls := make([]string, len(cells))
	defer func() {
		for _, e := range envoys {
			if e != nil {
				e.Stop()
			}
		}
	}()
	for i, c := range cells {
		e, url, err := s.start(c, 1, "0")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		envoys[i], urls[i] = e, url+c.path
		if err := ready(urls[i]); err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		if _, err := load(urls[i], int(max(1, warmup.Seconds())), conns); err != nil {
			return nil, fmt.Errorf("%s warm-up: %w", c.name, err)
		}
	}
	all := make([][]figures, len(cells))
	for range rounds {
		for i, c := range cells {
			before, err := cpuSeconds(envoys[i].PID())
			if err != nil {
				return nil, err
			}
			f, err := load(urls[i], seconds, conns)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
			after, err := cpuSeconds(envoys[i].PID())
			if err != nil {
				return nil, err
			}
			f.cpuPer100k = (after - before) / (f.rps * float64(seconds)) * 1e5
			all[i] = append(all[i], f)
		}
	}
	out := make([]figures, len(cells))
	for i, fs := range all {
		pick := func(get func(figures) float64) float64 {
			v := make([]float64, len(fs))
			for j, f := range fs {
				v[j] = get(f)
			}
			return benchdata.Median(v)
		}
		out[i] = figures{
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

// load runs wrk on CPU 1 against url and returns what it measured.
func load(url string, seconds, conns int) (figures, error) {
	script := filepath.Join(os.TempDir(), "meshprobe-envoybench.lua")
	if err := os.WriteFile(script, []byte(wrkReport), 0o644); err != nil {
		return figures{}, err
	}
	out, err := exec.Command("taskset", "-c", "1", "wrk", "-t1", fmt.Sprintf("-c%d", conns),
		fmt.Sprintf("-d%ds", seconds), "-s", script, url).CombinedOutput()
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
