// Command benchtable runs meshprobe's benchmarks and writes BENCHMARKS.md:
// medians over several rounds, the ratios to the floor plugins, the issue's
// targets and whether they hold, the memory soak, and the machine and
// conditions they were measured on. `make bench` builds the plugin and the
// floors, then runs it from the module root.
//
//	go run ./cmd/benchtable                      # run everything, write BENCHMARKS.md
//	go test -bench . -count 5 ... | go run ./cmd/benchtable -in -   # tabulate given output
//
// Each round is one `go test -count 1` per package, so the rounds interleave
// the packages: equivalent to -count N, but a burst of load from other
// processes spreads over the rounds instead of landing on one figure's N
// runs. The wasm figures pair every request kind with its floor inside one
// benchmark (e2e/bench_test.go), so their ratios hold still even then.
// Everything after the notes marker in an existing BENCHMARKS.md is kept.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

const notesMarker = "<!-- benchtable: everything below this line is kept when the file is regenerated -->"

func main() {
	rounds := flag.Int("rounds", 3, "rounds of the speed benchmarks (medians over them)")
	envoy := flag.Bool("envoy", true, "run the Envoy comparison first (cmd/envoybench, about 10 minutes)")
	benchtime := flag.String("benchtime", "200ms", "go test -benchtime of the speed benchmarks")
	soak := flag.Int("soak", 2_000_000, "requests of the memory soak (0: no soak)")
	in := flag.String("in", "", "read go test -bench output from this file (- for stdin) instead of running")
	out := flag.String("out", "BENCHMARKS.md", "file to write, relative to the module root (empty: stdout only)")
	raw := flag.String("raw", "build/bench.txt", "file to keep the raw go test output in, for benchstat (empty: none)")
	flag.Parse()

	started := time.Now()
	load := loadavg()
	var output []byte
	var err error
	if *in != "" {
		output, err = readInput(*in)
	} else {
		output, err = run(*rounds, *benchtime, *soak, *envoy)
	}
	if root, rerr := moduleRoot(); rerr == nil {
		os.Chdir(root) // -out and -raw are relative to the module root
	}
	if *raw != "" && *in == "" && len(output) > 0 {
		if werr := os.WriteFile(*raw, output, 0o644); werr != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", werr)
		}
	}
	r := parse(output)
	envoyDoc, envoyErr := os.ReadFile(envoyTables)
	switch {
	case *in == "" && !*envoy:
		envoyDoc, envoyErr = nil, errors.New("not run (-envoy=false)")
	case envoyFailure != nil:
		envoyDoc, envoyErr = nil, envoyFailure
	}
	sizes, sizesErr := exec.Command("go", "run", "./cmd/wasmsize", "-vs", "./e2e/testdata/floor-reply", "-top", "25").Output()
	if sizesErr != nil {
		sizes = []byte(fmt.Sprintf("**Not measured** (cmd/wasmsize: %v).\n", sizesErr))
	}
	cond := conditions{envoy: string(envoyDoc), envoyErr: envoyErr, sizes: string(sizes), rounds: *rounds, benchtime: *benchtime, soak: *soak, load: load + " → " + loadavg(),
		took: time.Since(started).Round(time.Second), fromInput: *in != "", failure: err}
	doc := render(r, cond)
	fmt.Print(doc)
	if *out != "" {
		if old, err := os.ReadFile(*out); err == nil {
			if i := bytes.Index(old, []byte(notesMarker)); i >= 0 {
				doc += "\n" + strings.TrimLeft(string(old[i+len(notesMarker):]), "\n")
			}
		}
		if err := os.WriteFile(*out, []byte(doc), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "wrote", *out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func readInput(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(name)
}

// envoyTables is where envoybench writes its tables, relative to the
// module root.
const envoyTables = "build/bench-envoy.md"

// envoyFailure says why the Envoy comparison has no tables this run.
var envoyFailure error

// run runs the benchmarks from the module root, echoing their output to
// stderr as it comes, and returns all of it. The Envoy comparison runs
// first, alone on the machine (envoybench pins Envoy and wrk to a CPU
// each), and writes its tables to envoyTables.
func run(rounds int, benchtime string, soak int, envoy bool) ([]byte, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	if envoy {
		os.Remove(filepath.Join(root, envoyTables))
		fmt.Fprintln(os.Stderr, "$ taskset -c 1 go run ./cmd/envoybench -out", envoyTables)
		cmd := exec.Command("taskset", "-c", "1", "go", "run", "./cmd/envoybench", "-out", envoyTables)
		cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			// The wazero tables are still worth having: go on, loudly.
			envoyFailure = fmt.Errorf("cmd/envoybench failed (%v); its output is above", err)
			fmt.Fprintln(os.Stderr, "WARNING: the Envoy comparison is SKIPPED:", envoyFailure)
		}
	}
	var all bytes.Buffer
	goTest := func(args ...string) error {
		args = append([]string{"test", "-run", "^$", "-benchmem", "-count", "1"}, args...)
		fmt.Fprintln(os.Stderr, "$ go", strings.Join(args, " "))
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		cmd.Stdout = io.MultiWriter(&all, os.Stderr)
		cmd.Stderr = os.Stderr
		return cmd.Run()
	}
	for i := range rounds {
		fmt.Fprintf(os.Stderr, "round %d of %d\n", i+1, rounds)
		if err := goTest("-bench", "^BenchmarkWasm", "-benchtime", benchtime, "./e2e"); err != nil {
			return all.Bytes(), fmt.Errorf("wasm benchmarks: %w", err)
		}
		if err := goTest("-bench", "^BenchmarkNative$", "-benchtime", benchtime, "./plugin"); err != nil {
			return all.Bytes(), fmt.Errorf("native benchmarks: %w", err)
		}
	}
	// Its blocks alternate the two modules inside one run, and most of its
	// time is two Envoys starting: once is enough.
	if err := goTest("-bench", "^BenchmarkEnvoyPollShim$", "-benchtime", benchtime, "./e2e"); err != nil {
		return all.Bytes(), fmt.Errorf("benchmarks in Envoy: %w", err)
	}
	// Every other benchmark of the two packages is a scenario measured once.
	for _, pkg := range []string{"./e2e", "./plugin"} {
		names, err := scenarios(root, pkg)
		if err != nil {
			return all.Bytes(), err
		}
		if len(names) > 0 {
			if err := goTest("-bench", "^("+strings.Join(names, "|")+")$", "-benchtime", "1x", pkg); err != nil {
				return all.Bytes(), fmt.Errorf("scenario benchmarks in %s: %w", pkg, err)
			}
		}
	}
	if soak > 0 {
		if err := goTest("-bench", "^BenchmarkSoak$", "-benchtime", fmt.Sprintf("%dx", soak), "-timeout", "30m", "./e2e"); err != nil {
			return all.Bytes(), fmt.Errorf("soak: %w", err)
		}
	}
	return all.Bytes(), nil
}

// ours are the benchmarks this command runs and tabulates itself.
var ours = map[string]bool{"BenchmarkWasm": true, "BenchmarkWasmInstantiate": true, "BenchmarkSoak": true, "BenchmarkNative": true,
	"BenchmarkEnvoyPollShim": true}

// scenarios lists the package's other benchmarks (go test -list).
func scenarios(root, pkg string) ([]string, error) {
	cmd := exec.Command("go", "test", "-list", "^Benchmark", pkg)
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go test -list %s: %w", pkg, err)
	}
	var names []string
	for _, l := range strings.Fields(string(out)) {
		if strings.HasPrefix(l, "Benchmark") && !ours[l] {
			names = append(names, l)
		}
	}
	return names, nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the meshprobe module")
	}
	return filepath.Dir(mod), nil
}

// results: benchmark name (without the -GOMAXPROCS suffix) -> unit -> one
// value per run.
type results map[string]map[string][]float64

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(.+)$`)

func parse(output []byte) results {
	r := results{}
	sc := bufio.NewScanner(bytes.NewReader(output))
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		f := strings.Fields(m[3])
		if r[m[1]] == nil {
			r[m[1]] = map[string][]float64{}
		}
		for i := 0; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				r[m[1]][f[i+1]] = append(r[m[1]][f[i+1]], v)
			}
		}
	}
	return r
}

// median of one figure; ok is false if it was never measured.
func (r results) median(name, unit string) (float64, bool) {
	v := slices.Clone(r[name][unit])
	if len(v) == 0 {
		return 0, false
	}
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2, true
	}
	return v[len(v)/2], true
}

func (r results) runs(name, unit string) int { return len(r[name][unit]) }

type conditions struct {
	envoy     string // envoybench's tables
	envoyErr  error  // why there are none
	sizes     string // cmd/wasmsize's table against floor-reply
	rounds    int
	benchtime string
	soak      int
	load      string
	took      time.Duration
	fromInput bool
	failure   error
}

// page is BENCHMARKS.md being written, with the verdicts of its targets.
type page struct {
	strings.Builder
	verdicts []string
}

func (w *page) p(format string, a ...any) { fmt.Fprintf(w, format, a...) }

// verdict records whether a target holds and returns the word for its row.
func (w *page) verdict(what string, holds, measured bool) string {
	v := "**misses**"
	switch {
	case !measured:
		v = "not measured"
	case holds:
		v = "holds"
	}
	w.verdicts = append(w.verdicts, fmt.Sprintf("- %s: %s", what, v))
	return v
}

// render writes BENCHMARKS.md, one section at a time.
func render(r results, c conditions) string {
	w := &page{}
	w.conditions(c)
	w.envoy(c)
	w.sizes(c)
	w.wasm(r)
	w.pollShim(r)
	w.native(r)
	w.soak(r, c)
	w.scenarios(r)
	w.targets(r)
	return w.String()
}

// conditions writes the title and the machine and conditions of the run.
func (w *page) conditions(c conditions) {
	w.p("# Benchmarks\n\n")
	w.p("Generated by `make bench` (`go run ./cmd/benchtable`); do not edit the figures by hand.\n")
	w.p("Absolute figures are this machine's on this day; compare ratios, which are measured within one run.\n\n")
	if c.failure != nil {
		w.p("**This run failed** (%v): the figures below are what was measured before.\n\n", c.failure)
	}

	w.p("## Machine and conditions\n\n")
	w.p("| | |\n|---|---|\n")
	w.p("| CPU | %s |\n", cpuModel())
	w.p("| CPUs (nproc) | %d |\n", runtime.NumCPU())
	w.p("| Go | %s (%s/%s) |\n", goVersion(), runtime.GOOS, runtime.GOARCH)
	w.p("| wasm runtime | wazero %s, through internal/testing/wasmhost, guest calls unbounded as in Envoy (wasmhost.Options.Unbounded) |\n", moduleVersion("github.com/tetratelabs/wazero"))
	w.p("| date | %s |\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	if c.fromInput {
		w.p("| runs | tabulated from given `go test -bench` output |\n")
	} else {
		w.p("| runs | %d rounds × (`go test -count 1 -benchtime %s -benchmem` of ./e2e and ./plugin); medians over the rounds; soak %d requests once |\n", c.rounds, c.benchtime, c.soak)
		w.p("| load average (1, 5, 15 min) | %s |\n", c.load)
		w.p("| took | %s |\n", c.took)
	}
	w.p("\n")
}

// envoy writes envoybench's tables.
func (w *page) envoy(c conditions) {
	w.p("## In Envoy: meshprobe against what Envoy offers natively, and against the floor plugins\n\n")
	if c.envoyErr != nil {
		w.p("**Not measured** (%v). `make bench` measures it when Envoy and wrk are installed.\n\n", c.envoyErr)
	} else {
		w.p("%s\n", strings.TrimSpace(strings.ReplaceAll(c.envoy, "#### ", "### ")))
		w.p("\n\n")
	}
}

// sizes writes the code section per package, against the Go floor.
func (w *page) sizes(c conditions) {
	w.p("## The module's size by package\n\n")
	w.p("Code section bytes (KiB) per Go package of the plugin and of the Go floor-reply plugin, both built as\n")
	w.p("`make build` builds them but keeping the name section (`go run ./cmd/wasmsize -vs ./e2e/testdata/floor-reply`;\n")
	w.p("`TestFunctionsAgreeWithObjdump` holds its reading equal to wabt's `wasm-objdump`). The Envoy section's\n")
	w.p("module sizes are the shipped, stripped modules.\n\n%s\n", c.sizes)
}

// wasm writes the compiled plugin on wazero against its floors, and instantiation.
func (w *page) wasm(r results) {
	w.p("## Compiled plugin on wazero (build/meshprobe.wasm)\n\n")
	w.p("Each row pairs the plugin with a floor built the same way (same SDK, same flags), in alternating\n")
	w.p("blocks of requests inside one benchmark: `floor-continue` reads `:path` and continues,\n")
	w.p("`floor-reply` reads `:path` and sends a constant local reply through the SDK (e2e/testdata/).\n")
	w.p("Two options of floor-reply show what bounds liveness: `+method` also reads `:method` and answers\n")
	w.p("405 to anything but GET and HEAD, as DESIGN requires of every read route; `+raw` sends its\n")
	w.p("headers serialized once through the raw hostcall, as meshprobe does, where the SDK serializes\n")
	w.p("them on every call. Against `floor-reply+method+raw`, liveness shows what meshprobe itself adds.\n")
	w.p("A request is the host's whole stream lifecycle: context create and request headers, then log,\n")
	w.p("done and delete.\n")
	w.p("The dependencies have answered 200 once, so the state is up, with a result for every check.\n")
	w.p("Figures are medians over blocks of requests, so a block that lost the CPU to another process\n")
	w.p("does not count; neither does a guest garbage collection, which lands in few blocks.\n\n")
	w.p("| request | meshprobe µs/req | floor | floor µs/req | × floor | target | |\n|---|---:|---|---:|---:|---:|---|\n")
	wasmRows := []struct {
		name, label, floor string
		target             float64
	}{
		{"passthrough", "pass-through `GET /api/orders?…` (10 headers)", "continue", 1.10},
		{"liveness", "liveness", "reply", 1.25},
		{"method-floor", "*not meshprobe:* floor-reply reading `:method` too (DESIGN's 405 rule)", "reply", 0},
		{"raw-floor", "*not meshprobe:* floor-reply sending its headers serialized once (as meshprobe does)", "reply", 0},
		{"liveness/method-raw-floor", "liveness", "reply+method+raw", 0},
		{"readiness/checks=1", "readiness, 1 check", "reply", 0},
		{"readiness/checks=10", "readiness, 10 checks", "reply", 2},
		{"readiness/checks=50", "readiness, 50 checks", "reply", 0},
		{"dependencies/checks=1", "`/dependencies`, 1 check", "reply", 0},
		{"dependencies/checks=10", "`/dependencies`, 10 checks", "reply", 0},
		{"dependencies/checks=50", "`/dependencies`, 50 checks", "reply", 8.8}, // as with one record for all checks
		{"dependencies-details/checks=50", "`/dependencies` with details, 50 checks", "reply", 0},
		{"metrics/checks=50", "`/metrics`, 50 checks (details allowed)", "reply", 143}, // as with one record for all checks
		{"status-details/checks=200", "`/status` (HTML), 200 checks (details allowed)", "reply", 0},
	}
	for _, row := range wasmRows {
		name := "BenchmarkWasm/" + row.name
		ns, ok := r.median(name, "ns/req")
		floor, _ := r.median(name, "floor-ns/req")
		x, _ := r.median(name, "x-floor")
		target, v := "", ""
		if row.target > 0 {
			target = fmt.Sprintf("≤ %.2f×", row.target)
			v = w.verdict(fmt.Sprintf("wasm %s ≤ %.2f× floor-%s (median %.2f×)", row.label, row.target, row.floor, x), x <= row.target, ok)
		}
		if !ok {
			w.p("| %s | not measured | | | | %s | %s |\n", row.label, target, v)
			continue
		}
		w.p("| %s | %s | floor-%s | %s | %.2f× | %s | %s |\n", row.label, us(ns), row.floor, us(floor), x, target, v)
	}
	w.p("\n")

	w.p("| module | .wasm size | instantiate (wasmhost.New, 1 VM, cache warm) | linear memory after start |\n|---|---:|---:|---:|\n")
	for _, m := range []struct{ name, label string }{{"meshprobe/checks=10", "meshprobe, 10 checks"}, {"floor-continue", "floor-continue"}} {
		name := "BenchmarkWasmInstantiate/" + m.name
		size, ok := r.median(name, "wasm-bytes")
		if !ok {
			w.p("| %s | not measured | | |\n", m.label)
			continue
		}
		ns, _ := r.median(name, "ns/op")
		mem, _ := r.median(name, "mem-bytes")
		w.p("| %s | %s | %.1f ms | %s |\n", m.label, mib(size), ns/1e6, mib(mem))
	}
	w.p("\n")
}

// pollShim writes what the poll_oneoff shim costs.
func (w *page) pollShim(r results) {
	w.p("## In Envoy: what providing poll_oneoff inside the module costs\n\n")
	w.p("`make build` replaces the module's poll_oneoff import by a function of its own (cmd/wasmshim), so\n")
	w.p("that Envoy before 1.39 cannot kill the VM at a garbage collection. The newest claimed Envoy\n")
	w.p("runs both modules: two Envoys with one worker each, one per module, get requests in alternating\n")
	w.p("blocks over one keep-alive connection each (BenchmarkEnvoyPollShim); medians over blocks, as above.\n")
	w.p("A round trip through Envoy costs far more than the plugin's part of it, so the last two rows\n")
	w.p("pair the same two modules on wazero, where the plugin is most of the cost.\n\n")
	w.p("| request | shipped µs/req | toolchain's module µs/req | × toolchain's | target | |\n|---|---:|---:|---:|---:|---|\n")
	for _, k := range []struct{ name, label string }{
		{"BenchmarkEnvoyPollShim/passthrough", "*in Envoy:* pass-through"},
		{"BenchmarkEnvoyPollShim/liveness", "*in Envoy:* liveness"},
		{"BenchmarkEnvoyPollShim/readiness", "*in Envoy:* readiness, 1 check"},
		{"BenchmarkWasm/liveness/toolchain-module", "*on wazero:* liveness"},
		{"BenchmarkWasm/readiness/toolchain-module", "*on wazero:* readiness, 10 checks"},
	} {
		name := k.name
		ns, ok := r.median(name, "ns/req")
		base, _ := r.median(name, "floor-ns/req")
		x, _ := r.median(name, "x-floor")
		v := w.verdict(fmt.Sprintf("%s with poll_oneoff provided ≤ 1.03× the toolchain's module (median %.3f×)", k.label, x), x <= 1.03, ok)
		if !ok {
			w.p("| %s | not measured | | | ≤ 1.03× | %s |\n", k.label, v)
			continue
		}
		w.p("| %s | %s | %s | %.3f× | ≤ 1.03× | %s |\n", k.label, us(ns), us(base), x, v)
	}
	w.p("\n")
}

// native writes native Go, with allocations over the floors.
func (w *page) native(r results) {
	w.p("## Native Go (plugin package in the SDK's proxytest emulator)\n\n")
	w.p("The emulator allocates on its own (it clones the request headers, copies every value it\n")
	w.p("returns), so the plugin's own allocations are its figure minus the floor's (native twins of the\n")
	w.p("floors, plugin/bench_test.go).\n\n")
	w.p("| request | ns/op | B/op | allocs/op | floor allocs/op | allocs over floor | target | |\n|---|---:|---:|---:|---:|---:|---:|---|\n")
	floorAllocs := map[string]float64{}
	for _, f := range []string{"floor-continue", "floor-reply"} {
		floorAllocs[f], _ = r.median("BenchmarkNative/"+f, "allocs/op")
	}
	nativeRows := []struct{ name, label, floor string }{
		{"floor-continue", "floor-continue", ""},
		{"passthrough", "pass-through", "floor-continue"},
		{"floor-reply", "floor-reply", ""},
		{"liveness", "liveness", "floor-reply"},
		{"readiness/checks=1", "readiness, 1 check", "floor-reply"},
		{"readiness/checks=10", "readiness, 10 checks", "floor-reply"},
		{"readiness/checks=50", "readiness, 50 checks", "floor-reply"},
		{"dependencies/checks=1", "`/dependencies`, 1 check", "floor-reply"},
		{"dependencies/checks=10", "`/dependencies`, 10 checks", "floor-reply"},
		{"dependencies/checks=50", "`/dependencies`, 50 checks", "floor-reply"},
		{"dependencies-details/checks=50", "`/dependencies` with details, 50 checks", "floor-reply"},
		{"metrics/checks=50", "`/metrics`, 50 checks", "floor-reply"},
	}
	for _, n := range nativeRows {
		name := "BenchmarkNative/" + n.name
		ns, ok := r.median(name, "ns/op")
		if !ok {
			w.p("| %s | not measured | | | | | | |\n", n.label)
			continue
		}
		bytesOp, _ := r.median(name, "B/op")
		allocs, _ := r.median(name, "allocs/op")
		floorCol, over, target, v := "", "", "", ""
		if n.floor != "" {
			floorCol = fmt.Sprintf("%.0f", floorAllocs[n.floor])
			over = fmt.Sprintf("%+.0f", allocs-floorAllocs[n.floor])
		}
		if n.name == "passthrough" {
			target = "0"
			v = w.verdict(fmt.Sprintf("native pass-through allocates nothing of its own (median %s allocs/op over the floor)", over), allocs <= floorAllocs[n.floor], true)
		}
		w.p("| %s | %.0f | %.0f | %.0f | %s | %s | %s | %s |\n", n.label, ns, bytesOp, allocs, floorCol, over, target, v)
	}
	w.p("\n")
}

// soak writes the memory soak.
func (w *page) soak(r results, c conditions) {
	w.p("## Memory soak (one VM, compiled plugin)\n\n")
	const soak = "BenchmarkSoak"
	if start, ok := r.median(soak, "mem-start-bytes"); ok {
		n := r[soak]["ns/op"]
		tenth, _ := r.median(soak, "mem-tenth-bytes")
		end, _ := r.median(soak, "mem-end-bytes")
		callouts, _ := r.median(soak, "callouts")
		var reqs string
		if c.soak > 0 && !c.fromInput {
			reqs = strconv.Itoa(c.soak)
		} else {
			reqs = "b.N"
		}
		w.p("%s mixed requests (pass-through and probes of five dialects; every 100 requests a tick,\n", reqs)
		w.p("the callouts due answered — healthy, 500, failed JSON expectation, grpc, timeout — and one\n")
		w.p("expensive request: /metrics, /info, details, health+json, verbose, drain). %.0f callouts answered.\n\n", callouts)
		w.p("| linear memory after start | after 1/10 of the requests | after all | target | |\n|---:|---:|---:|---:|---|\n")
		v := w.verdict(fmt.Sprintf("soak: linear memory after all requests ≤ after a tenth (%s vs %s)", mib(end), mib(tenth)), end <= tenth, true)
		w.p("| %s | %s | %s | after all ≤ after 1/10 | %s |\n", mib(start), mib(tenth), mib(end), v)
		if len(n) > 0 {
			w.p("\nMean cost per soak request: %s µs.\n", strings.TrimSpace(us(n[0])))
		}
	} else {
		w.verdict("soak: linear memory after all requests ≤ after a tenth", false, false)
		w.p("Not run.\n")
	}
}

// scenarios writes the e2e scenarios, once each.
func (w *page) scenarios(r results) {
	var others []string
	for name := range r {
		if base, _, _ := strings.Cut(name, "/"); !ours[base] {
			others = append(others, name)
		}
	}
	if len(others) > 0 {
		slices.Sort(others)
		w.p("\n## Scenarios (measured once each)\n\n| benchmark | figures |\n|---|---|\n")
		for _, name := range others {
			var units []string
			for u := range r[name] {
				if u != "B/op" && u != "allocs/op" { // host-side allocations of a whole scenario say nothing
					units = append(units, u)
				}
			}
			slices.Sort(units)
			var fs []string
			for _, u := range units {
				if v, _ := r.median(name, u); u != "ns/op" {
					fs = append(fs, strconv.FormatFloat(v, 'f', -1, 64)+" "+u)
				}
			}
			if v, ok := r.median(name, "ns/op"); ok {
				fs = append(fs, "took "+time.Duration(v).Round(time.Millisecond).String())
			}
			w.p("| %s | %s |\n", strings.TrimPrefix(name, "Benchmark"), strings.Join(fs, ", "))
		}
	}
}

// targets writes every verdict, and where the raw output is.
func (w *page) targets(r results) {
	w.p("\n## Targets\n\n%s\n\n", strings.Join(w.verdicts, "\n"))
	if runs := r.runs("BenchmarkWasm/passthrough", "x-floor"); runs > 0 {
		w.p("Medians over %d runs; the raw output is in build/bench.txt (benchstat reads it).\n\n", runs)
	}
	w.p("%s\n", notesMarker)
}

func us(ns float64) string { return fmt.Sprintf("%.1f", ns/1e3) }
func mib(b float64) string { return fmt.Sprintf("%.2f MiB", b/(1<<20)) }
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func goVersion() string {
	if out, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		return strings.TrimSpace(string(out))
	}
	return runtime.Version()
}

func moduleVersion(path string) string {
	if out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", path).Output(); err == nil {
		return strings.TrimSpace(string(out))
	}
	return "unknown"
}
