package main

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/meshprobe/meshprobe/internal/benchdata"
)

type printf func(format string, a ...any)

// memory prints Envoy's resident memory at idle for 1, 2, 4 and 8 workers,
// without a wasm filter, with floor-continue in Go and in WAT (runtime-free)
// and with meshprobe (10 checks), and what each worker adds (the slope from
// 1 to 8 workers); then meshprobe's at 2 workers after 200k and 1M mixed
// requests.
func (s *setup) memory(p printf) ([]string, error) {
	workers := []int{1, 2, 4, 8}
	rows := []struct {
		label string
		boot  bootstrap
	}{
		{"no wasm filter", s.noFilter()},
		{"floor-continue wasm", s.floor("floor-continue")},
		{"runtime-free wasm (WAT) continue", s.floor("floor-continue-wat")},
		{"meshprobe, 10 checks", s.meshprobe(10, true)},
	}
	const none, floorRow, watRow, ours = 0, 1, 2, 3 // rows' indices
	p("#### Envoy's resident memory at idle (MiB)\n\n| configuration |")
	for _, w := range workers {
		p(" %d worker(s) |", w)
	}
	p(" per worker |\n|---|%s---:|\n", strings.Repeat("---:|", len(workers)))
	slopes, oneWorker := make([]float64, len(rows)), make([]float64, len(rows))
	for i, r := range rows {
		// memoryRuns Envoys per worker count, a few started at once (each
		// process's memory is its own).
		samples := make([][]float64, len(workers))
		var mu sync.Mutex
		var g errgroup.Group
		g.SetLimit(4) // more starting at once would each take over a minute on 2 CPUs
		for j, w := range workers {
			for range memoryRuns {
				g.Go(func() error {
					m, err := s.idleMemory(r.boot, w)
					if err != nil {
						return fmt.Errorf("%s, %d workers: %w", r.label, w, err)
					}
					mu.Lock()
					samples[j] = append(samples[j], m)
					mu.Unlock()
					return nil
				})
			}
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		rss := make([]float64, len(workers))
		for j := range samples {
			rss[j] = benchdata.Median(samples[j])
		}
		slopes[i], oneWorker[i] = slope(workers, rss), rss[0]
		p("| %s |", r.label)
		for _, v := range rss {
			p(" %.1f |", v)
		}
		p(" %.2f |\n", slopes[i])
	}
	over := func(i int) float64 { return slopes[i] - slopes[none] }
	floor, wat, mine := over(floorRow), over(watRow), over(ours)
	p("\nPer worker (the least-squares slope over 1 to 8 workers) over no wasm filter: floor-continue %.2f MiB,\n", floor)
	p("the runtime-free floor-continue (WAT) %.2f MiB, meshprobe %.2f MiB (%.2f× the Go floor's). At one worker,\n", wat, mine, mine/floor)
	p("the wasm runtime costs the process %.0f MiB with the Go floor, %.0f MiB with the WAT floor and %.0f MiB with meshprobe:\n",
		oneWorker[floorRow]-oneWorker[none], oneWorker[watRow]-oneWorker[none], oneWorker[ours]-oneWorker[none])
	p("Envoy keeps a base VM besides each worker's, and V8 compiles the module, whose code grows with its size\n")
	p("(meshprobe's is about twice the Go floor's; the WAT floor's is a few hundred bytes).\n\n")

	began := time.Now()
	idle, after, err := s.memoryUnderLoad([]int{200_000, 1_000_000})
	fmt.Fprintf(os.Stderr, "envoybench: 1M mixed requests took %s\n", time.Since(began).Round(time.Second))
	if err != nil {
		return nil, err
	}
	p("#### meshprobe's resident memory under mixed requests, 2 workers (MiB)\n\n")
	p("wrk sends `%s` in turn; 10 checks run every 5 s. Each figure is read once it stops moving.\n\n", strings.Join(mixed, "`, `"))
	p("| idle | after 200k requests | after 1M requests | growth 200k → 1M |\n|---:|---:|---:|---:|\n")
	p("| %.1f | %.1f | %.1f | %+.2f |\n\n", idle, after[0], after[1], after[1]-after[0])
	return []string{
		verdict("meshprobe's resident memory per worker ≤ 1.25× the floor wasm's (both over no wasm filter)", mine/floor, 1.25, false),
		verdict("resident memory after 1M requests ≤ after 200k + 1 MiB (growth, MiB)", after[1]-after[0], 1, false),
	}, nil
}

// memoryRuns is how many Envoys each idle figure is the median of: one, so
// that make bench stays under 15 minutes; a figure varies by about 2 MiB
// from one Envoy to the next, so the per-worker slope by about 0.5 MiB.
const memoryRuns = 1

// idleMemory starts Envoy with the configuration and workers, has every
// worker serve requests for a second (V8 compiles a function in a worker
// when that worker first calls it, so a worker that never served a request
// would cost less than one in service), and returns its resident memory
// once it has stopped moving.
func (s *setup) idleMemory(boot bootstrap, workers int) (float64, error) {
	e, url, err := s.start(boot, workers, "0-1") // both CPUs: this command runs pinned to one
	if err != nil {
		return 0, err
	}
	defer e.Stop()
	if err := ready(url + livenessPath); err != nil {
		return 0, err
	}
	// 64 connections: the kernel spreads them over the workers' listening
	// sockets, and leaves one of 8 workers without any in about 1% of runs.
	if _, err := load(url+livenessPath, defaultHeaders, 1, 64); err != nil {
		return 0, err
	}
	return settled(e.PID())
}

// settled samples the resident memory every half second until two samples
// in a row are within 0.1 MiB, for at most 10 s.
func settled(pid int) (float64, error) {
	last := -1.0
	for range 20 {
		time.Sleep(500 * time.Millisecond)
		m, err := residentMiB(pid)
		if err != nil || last >= 0 && math.Abs(m-last) < 0.1 {
			return m, err
		}
		last = m
	}
	return last, nil
}

// mixed are the requests of the memory soak, in the proportions a
// sidecar sees: mostly probes and pass-through, some status documents.
var mixed = []string{livenessPath, readinessPath, apiPath, livenessPath, readinessPath, "/health/probes/startup",
	apiPath, "/health/dependencies", livenessPath, readinessPath, "/health/metrics", "/health/info"}

// memoryUnderLoad starts meshprobe (10 checks) with 2 workers and returns
// its resident memory at idle and after each cumulative count of requests.
func (s *setup) memoryUnderLoad(counts []int) (float64, []float64, error) {
	e, url, err := s.start(s.meshprobe(10, true), 2, "0-1")
	if err != nil {
		return 0, nil, err
	}
	defer e.Stop()
	if err := ready(url + readinessPath); err != nil {
		return 0, nil, err
	}
	settle := func() (float64, error) { return settled(e.PID()) }
	idle, err := settle()
	if err != nil {
		return 0, nil, err
	}
	var out []float64
	done := 0
	for _, n := range counts {
		sent, err := requests(url, n-done)
		if err != nil {
			return 0, nil, err
		}
		done += sent
		m, err := settle()
		if err != nil {
			return 0, nil, err
		}
		out = append(out, m)
	}
	return idle, out, nil
}

// requests has wrk send at least n requests, the mixed paths
// in turn, in runs of a few seconds (wrk stops on time, not on a count),
// fails on any error or status other than 2xx and 3xx (wrk's count), and
// returns how many it sent.
func requests(url string, n int) (int, error) {
	quoted := make([]string, len(mixed))
	for i, m := range mixed {
		quoted[i] = strconv.Quote(m)
	}
	script := fmt.Sprintf(`local paths, reqs, i = {%s}, {}, 0
init = function()
  for k, p in ipairs(paths) do reqs[k] = wrk.format(nil, p) end
end
request = function()
  i = i %% #reqs + 1
  return reqs[i]
end
done = function(summary)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d\n", summary.requests, e.connect + e.read + e.write + e.timeout + e.status))
end
`, strings.Join(quoted, ", "))
	file := filepath.Join(os.TempDir(), "meshprobe-envoybench-mixed.lua")
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		return 0, err
	}
	sent := 0
	for sent < n {
		// On both CPUs, with Envoy's two workers, as the kernel sees fit:
		// that sends 1M requests soonest (this command runs pinned to CPU 1).
		out, err := exec.Command("taskset", "-c", "0-1", "wrk", "-t1", "-c16", "-d5s", "-s", file, url).CombinedOutput()
		if err != nil {
			return sent, fmt.Errorf("wrk: %v\n%s", err, out)
		}
		got, bad := -1, 0
		for _, l := range strings.Split(string(out), "\n") {
			if _, err := fmt.Sscanf(l, "RESULT %d %d", &got, &bad); err == nil {
				break
			}
		}
		switch {
		case got < 0:
			return sent, fmt.Errorf("no result from wrk:\n%s", out)
		case bad > 0:
			return sent, fmt.Errorf("wrk: %d errors or non-2xx replies in %d requests", bad, got)
		}
		sent += got
	}
	return sent, nil
}

// residentMiB is the process's VmRSS.
func residentMiB(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseFloat(f[0], 64)
				return kb / 1024, err
			}
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmRSS", pid)
}

// slope is the least-squares slope of y over x.
func slope(x []int, y []float64) float64 {
	var mx, my float64
	for i := range x {
		mx, my = mx+float64(x[i]), my+y[i]
	}
	mx, my = mx/float64(len(x)), my/float64(len(x))
	var num, den float64
	for i := range x {
		dx := float64(x[i]) - mx
		num, den = num+dx*(y[i]-my), den+dx*dx
	}
	return num / den
}
