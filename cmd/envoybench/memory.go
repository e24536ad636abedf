package main

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

type printf func(format string, a ...any)

// soak prints meshprobe's resident memory at 2 workers at idle, after
// 200k mixed requests and after n, and returns the growth from 200k to n
// (MiB).
func (s *setup) soak(p printf, n int) (float64, error) {
	began := time.Now()
	counts := []int{200_000, max(n, 200_000)}
	idle, after, err := s.memoryUnderLoad(counts)
	fmt.Fprintf(os.Stderr, "envoybench: %d mixed requests took %s\n", counts[1], time.Since(began).Round(time.Second))
	if err != nil {
		return 0, err
	}
	p("#### meshprobe's resident memory under mixed requests, 2 workers (MiB)\n\n")
	p("wrk sends `%s` in turn; 10 checks run every 5 s. Each figure is read once it stops moving.\n\n", strings.Join(mixed, "`, `"))
	p("| idle | after 200k requests | after %dk requests | growth |\n|---:|---:|---:|---:|\n", counts[1]/1000)
	p("| %.1f | %.1f | %.1f | %+.2f |\n\n", idle, after[0], after[1], after[1]-after[0])
	return after[1] - after[0], nil
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
