package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/meshprobe/meshprobe/internal/testing/benchdata"
)

// footprintWorkers are the worker counts of start-up and memory. Start-up
// is compared at 1 and 2; 4 steadies the per-worker slope (each Envoy's
// figure varies by a MiB or two).
var footprintWorkers = []int{1, 2, 4}

// footprint is what one configuration costs at one worker count: medians
// of exec → first 200 (ms) and of the resident memory at idle (MiB).
type footprint struct {
	firstLive, firstReady, rss float64
}

// footprintRow is one configuration of the start-up and memory tables;
// above names the row its ratios compare with (the rung above).
type footprintRow struct {
	key, label, above string
	boot              bootstrap
	readiness         bool
}

func (s *setup) footprintRows() []footprintRow {
	return []footprintRow{
		{"no-wasm", "no wasm filter (direct_response route)", "", s.directResponse(), false},
		{"floor-continue-wat", "runtime-free wasm (WAT) continue", "no-wasm", s.floor("floor-continue-wat"), false},
		{"floor-reply-wat", "runtime-free wasm (WAT) reply", "no-wasm", s.floor("floor-reply-wat"), false},
		{"floor-continue", "Go floor-continue wasm", "floor-continue-wat", s.floor("floor-continue"), false},
		{"floor-reply", "Go floor-reply wasm", "floor-reply-wat", s.floor("floor-reply"), false},
		{"meshprobe", "meshprobe, 10 checks", "floor-reply", s.meshprobe(10, true), true},
	}
}

// footprints starts runs Envoys per configuration and worker count, one
// at a time and in turn, and prints the medians: the time from exec to the
// first 200 on liveness (Envoy on both CPUs), then, after every worker has
// served requests for a second, the resident memory once it has stopped
// moving.
func (s *setup) footprints(p printf, runs int) (map[string]map[int]footprint, error) {
	rows := s.footprintRows()
	type sample struct{ live, ready, rss []float64 }
	samples := map[string]map[int]*sample{}
	for _, r := range rows {
		samples[r.key] = map[int]*sample{}
		for _, w := range footprintWorkers {
			samples[r.key][w] = &sample{}
		}
	}
	for i := range runs {
		fmt.Fprintf(os.Stderr, "envoybench: start-up and memory, run %d of %d\n", i+1, runs)
		for _, w := range footprintWorkers {
			for _, r := range rows {
				live, ready, rss, err := s.footprintOnce(r, w)
				if err != nil {
					return nil, fmt.Errorf("%s, %d workers: %w", r.label, w, err)
				}
				sm := samples[r.key][w]
				sm.live, sm.ready, sm.rss = append(sm.live, live), append(sm.ready, ready), append(sm.rss, rss)
			}
		}
	}
	out := map[string]map[int]footprint{}
	for _, r := range rows {
		out[r.key] = map[int]footprint{}
		for w, sm := range samples[r.key] {
			out[r.key][w] = footprint{benchdata.Median(sm.live), benchdata.Median(sm.ready), benchdata.Median(sm.rss)}
		}
	}
	printFootprints(p, rows, out, runs)
	return out, nil
}

// footprintOnce starts one Envoy and returns the ms from exec to the first
// 200 on liveness and on readiness (0 unless the row asks for it), and the
// resident memory at idle after every worker has served requests (V8
// compiles a function in a worker when that worker first calls it).
func (s *setup) footprintOnce(r footprintRow, workers int) (live, ready, rss float64, err error) {
	port, err := freePort()
	if err != nil {
		return 0, 0, 0, err
	}
	b := r.boot(s)
	b.ListenerPort = port
	js, err := b.JSON()
	if err != nil {
		return 0, 0, 0, err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	paths := []string{livenessPath}
	if r.readiness {
		paths = append(paths, readinessPath)
	}
	ms := make([]float64, len(paths))
	var g errgroup.Group
	start := time.Now()
	for i, path := range paths {
		g.Go(func() error {
			t, err := poll(url+path, "", 60*time.Second)
			ms[i] = float64(t.Sub(start).Microseconds()) / 1e3
			return err
		})
	}
	// Both CPUs at every worker count: V8 sizes its own threads to the
	// CPUs it may use, which would otherwise count as workers' memory.
	e, err := s.exec(js, workers, "0-1")
	if err != nil {
		return 0, 0, 0, err
	}
	defer e.Stop()
	if err := g.Wait(); err != nil {
		return 0, 0, 0, err
	}
	live = ms[0]
	if r.readiness {
		ready = ms[1]
	}
	// 64 connections: the kernel spreads them over the workers' listening
	// sockets.
	if _, err := load(url+livenessPath, defaultHeaders, 1, 64); err != nil {
		return 0, 0, 0, err
	}
	rss, err = settled(e.PID())
	return live, ready, rss, err
}

// printFootprints writes the start-up and memory tables, each row also as
// a ratio to the rung above it.
func printFootprints(p printf, rows []footprintRow, f map[string]map[int]footprint, runs int) {
	ratio := func(a, b float64) string {
		if b <= 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f", a/b)
	}
	p("#### Start-up: exec → first 200 on liveness (ms, median of %d Envoys)\n\n| configuration |", runs)
	for _, w := range footprintWorkers {
		p(" %d worker(s) | × rung above |", w)
	}
	p("\n|---|%s\n", strings.Repeat("---:|", 2*len(footprintWorkers)))
	for _, r := range rows {
		p("| %s |", r.label)
		for _, w := range footprintWorkers {
			x := "–"
			if r.above != "" {
				x = ratio(f[r.key][w].firstLive, f[r.above][w].firstLive)
			}
			p(" %.0f | %s |", f[r.key][w].firstLive, x)
		}
		p("\n")
	}
	p("\nEnvoy runs on both CPUs; this command, which polls, on CPU 1. meshprobe answers readiness 200 from its checks'\n")
	p("first results, after (ms)")
	for _, w := range footprintWorkers {
		p(" %.0f with %d worker(s);", f["meshprobe"][w].firstReady, w)
	}
	p(" from exec.\n\n")

	none := f["no-wasm"]
	over := func(key string, w int) float64 { return f[key][w].rss - none[w].rss }
	p("#### Envoy's resident memory at idle (MiB, median of %d Envoys)\n\n| configuration |", runs)
	for _, w := range footprintWorkers {
		p(" %d worker(s) |", w)
	}
	for _, w := range footprintWorkers[:2] {
		p(" above no wasm, %d worker(s) | × rung above |", w)
	}
	p(" per worker above no wasm | × rung above |\n|---|%s\n", strings.Repeat("---:|", len(footprintWorkers)+6))
	for _, r := range rows {
		p("| %s |", r.label)
		for _, w := range footprintWorkers {
			p(" %.1f |", f[r.key][w].rss)
		}
		above := func(a, b float64) string {
			if r.above == "" || r.above == "no-wasm" {
				return "–"
			}
			return ratio(a, b)
		}
		for _, w := range footprintWorkers[:2] {
			p(" %.1f | %s |", over(r.key, w), above(over(r.key, w), over(r.above, w)))
		}
		p(" %.2f | %s |\n", memSlope(f, r.key), above(memSlope(f, r.key), memSlope(f, r.above)))
	}
	p("\nPer worker is the least-squares slope over %v workers. Envoy keeps a base VM besides each worker's,\n", footprintWorkers)
	p("and V8 compiles the module, whose code grows with its size (below).\n\n")
}

// memSlope is the per-worker slope of key's resident memory above no wasm.
func memSlope(f map[string]map[int]footprint, key string) float64 {
	y := make([]float64, len(footprintWorkers))
	for i, w := range footprintWorkers {
		y[i] = f[key][w].rss - f["no-wasm"][w].rss
	}
	return slope(footprintWorkers, y)
}
