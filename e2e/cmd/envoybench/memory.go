package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// memory prints Envoy's resident memory at idle for 1, 2, 4 and 8 workers,
// without a wasm filter, with floor-continue and with meshprobe (10
// checks), and what each worker adds (the slope from 1 to 8 workers).
func (s *setup) memory() error {
	workers := []int{1, 2, 4, 8}
	cells := []cell{
		{"no wasm filter", s.noFilter(), livenessPath},
		{"floor-continue wasm", s.floor("floor-continue"), livenessPath},
		{"meshprobe, 10 checks", s.meshprobe(10), livenessPath},
	}
	fmt.Printf("### Envoy's resident memory at idle (MiB)\n\n| configuration |")
	for _, w := range workers {
		fmt.Printf(" %d worker(s) |", w)
	}
	fmt.Printf(" per worker |\n|---|%s---:|\n", strings.Repeat("---:|", len(workers)))
	slopes := make([]float64, len(cells))
	for i, c := range cells {
		rss := make([]float64, len(workers))
		for j, w := range workers {
			e, url, err := s.start(c, w, "")
			if err != nil {
				return fmt.Errorf("%s, %d workers: %w", c.name, w, err)
			}
			err = ready(url + c.path)
			if err == nil {
				time.Sleep(3 * time.Second) // every VM started, a few ticks run
				rss[j], err = residentMiB(e.PID())
			}
			e.Stop()
			if err != nil {
				return fmt.Errorf("%s, %d workers: %w", c.name, w, err)
			}
		}
		slopes[i] = (rss[len(rss)-1] - rss[0]) / float64(workers[len(workers)-1]-workers[0])
		fmt.Printf("| %s |", c.name)
		for _, r := range rss {
			fmt.Printf(" %.1f |", r)
		}
		fmt.Printf(" %.2f |\n", slopes[i])
	}
	fmt.Printf("\nPer worker over no wasm filter: floor-continue %.2f MiB, meshprobe %.2f MiB (%.2f× the floor's).\n\n",
		slopes[1]-slopes[0], slopes[2]-slopes[0], (slopes[2]-slopes[0])/(slopes[1]-slopes[0]))
	return nil
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
