package e2e

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"

	"github.com/meshprobe/meshprobe/internal/envoyboot"
	"github.com/meshprobe/meshprobe/internal/testing/envoyrun"
	"github.com/meshprobe/meshprobe/internal/testing/wasmhost"
)

// Every scenario over real sockets runs on each proxy: internal/testing/wasmhost, the fast
// stand-in, and the newest and oldest claimed Envoy (envoy/versions) that `make
// envoy` installed. Envoy is the judge: where the two differ, the host is
// fixed to behave as Envoy does.

// upstream is a dependency a test points a cluster at.
type upstream = envoyrun.Cluster

// proxy is meshprobe serving one listener.
type proxy struct {
	kind string // "host" or "envoy-VERSION"
	base string // the listener's URL
	h    *wasmhost.Host
	e    *envoyrun.Envoy
}

// logs are the plugin's log lines so far, over every VM (the main
// thread's included).
func (p *proxy) logs() []string {
	if p.h != nil {
		var out []string
		for _, v := range p.h.VMs() {
			for _, l := range v.Logs() {
				out = append(out, l.Msg)
			}
		}
		return out
	}
	var out []string
	for _, l := range strings.Split(p.e.Log(), "\n") {
		if m := envoyWasmLog.FindStringSubmatch(l); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// envoyWasmLog is a plugin log line in Envoy's log: "wasm log" and the
// context's names (two from a root context, three from a stream's), then
// ": " and the message.
var envoyWasmLog = regexp.MustCompile(`\] wasm log [^:]*: (.*)$`)

// envoyOptions adjust an Envoy run beyond the shipped bootstrap.
type envoyOptions struct {
	edit    func(*bootstrapv3.Bootstrap) error
	wasm    string // another plugin than build/meshprobe.wasm (an absolute path)
	workers int    // --concurrency, if not envoyWorkers
	// unscoped runs the filter on every request, not only on the health
	// routes envoy/envoy.yaml declares (envoyrun.Bootstrap.Unscoped).
	unscoped bool
	// wasmErrorsExpected: the scenario provokes wasm errors on purpose, so
	// the log check after the run does not count them.
	wasmErrorsExpected bool
}

// starter starts meshprobe with config, its clusters pointing at ups; the
// listener's pass-through traffic goes to cluster "app".
type starter func(t testing.TB, workers int, config string, ups map[string]upstream) *proxy

// runtimeCase is one proxy kind scenarios run on.
type runtimeCase struct {
	name  string
	bin   string // Envoy's binary; "" for the host
	start starter
	envoy func(t testing.TB, config string, ups map[string]upstream, o envoyOptions) *proxy // nil for the host
}

// eachProxy runs f once per proxy kind, as subtests named after it.
func eachProxy(t *testing.T, f func(t *testing.T, rt runtimeCase)) {
	for _, rt := range runtimes(t) {
		t.Run(rt.name, func(t *testing.T) { f(t, rt) })
	}
}

// eachEnvoy runs f once per installed tested Envoy (the newest and the
// oldest claimed; every claimed one with MESHPROBE_ENVOY=all).
func eachEnvoy(t *testing.T, f func(t *testing.T, rt runtimeCase)) {
	for _, rt := range runtimes(t) {
		if rt.envoy != nil {
			t.Run(rt.name, func(t *testing.T) { f(t, rt) })
		}
	}
}

var (
	envoysOnce sync.Once
	envoys     []envoyrun.Release
	envoysErr  error
	missing    []string
)

// runtimes are the host and each installed tested Envoy. A tested Envoy
// that is not installed skips loudly, and fails the test where
// MESHPROBE_REQUIRE_ENVOY is set (.ci/run sets it).
func runtimes(t *testing.T) []runtimeCase {
	t.Helper()
	envoysOnce.Do(func() {
		var vs []string
		if vs, envoysErr = envoyrun.Versions(".."); envoysErr == nil {
			if os.Getenv("MESHPROBE_ENVOY") != "all" { // make soak sets it
				vs = envoyrun.Tested(vs)
			}
			envoys, missing, envoysErr = envoyrun.Installed("..", vs)
		}
	})
	if envoysErr != nil {
		t.Fatal(envoysErr)
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("SKIPPED Envoy %v in %s: not installed (run `make envoy`); only internal/testing/wasmhost ran", missing, t.Name())
		if os.Getenv("MESHPROBE_REQUIRE_ENVOY") != "" {
			t.Errorf("%s, and MESHPROBE_REQUIRE_ENVOY is set", msg)
		} else {
			fmt.Fprintln(os.Stderr, msg)
		}
	}
	rts := []runtimeCase{{name: "host", start: startHost}}
	for _, r := range envoys {
		v, bin := r.Version, r.Binary
		rt := runtimeCase{name: "envoy-" + v, bin: bin}
		rt.envoy = func(t testing.TB, config string, ups map[string]upstream, o envoyOptions) *proxy {
			return startEnvoy(t, v, bin, config, ups, o)
		}
		rt.start = func(t testing.TB, _ int, config string, ups map[string]upstream) *proxy {
			return rt.envoy(t, config, ups, envoyOptions{})
		}
		rts = append(rts, rt)
	}
	return rts
}

// startHost runs the plugin on internal/testing/wasmhost (see startReal).
func startHost(t testing.TB, workers int, config string, ups map[string]upstream) *proxy {
	t.Helper()
	hu := map[string]wasmhost.Upstream{}
	for name, u := range ups {
		h := wasmhost.Upstream{Addr: u.Addr, HTTP2: u.HTTP2}
		if u.TLS != nil {
			c, err := envoyboot.ClientConfig(u.TLS)
			if err != nil {
				t.Fatal(err)
			}
			h.TLS = c
		}
		hu[name] = h
	}
	h, base := startReal(t, workers, config, hu)
	return &proxy{kind: "host", base: base, h: h}
}

// envoyWorkers is Envoy's --concurrency in every scenario.
const envoyWorkers = 4

// startEnvoy runs Envoy on a bootstrap derived from envoy/envoy.yaml. On
// failure its log is kept under build/test-logs and its tail printed;
// after every run the log must hold no wasm error, no restricted host call
// and no crash, and Envoy must stop cleanly.
func startEnvoy(t testing.TB, version, bin, config string, ups map[string]upstream, o envoyOptions) *proxy {
	t.Helper()
	shipped, err := os.ReadFile(filepath.Join("..", "envoy", "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	wasm := o.wasm
	if wasm == "" {
		pluginWasm(t) // fails clearly if the plugin is not built
		if wasm, err = filepath.Abs(pluginPath()); err != nil {
			t.Fatal(err)
		}
	}
	workers := cmp.Or(o.workers, envoyWorkers)
	js, err := envoyrun.Bootstrap{Shipped: shipped, Wasm: wasm, PluginConfig: config, Clusters: ups, Edit: o.edit, Unscoped: o.unscoped}.JSON()
	if err != nil {
		t.Fatalf("deriving the Envoy bootstrap: %v", err)
	}
	e, err := envoyrun.Start(context.Background(), envoyrun.Options{Binary: bin, Bootstrap: js, Concurrency: workers, Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("Envoy %s: %v", version, err)
	}
	stopEnvoyAtCleanup(t, version, e, o.wasmErrorsExpected)
	addr, err := e.Listener(envoyrun.ListenerName)
	if err != nil {
		t.Fatal(err)
	}
	return &proxy{kind: "envoy-" + version, base: "http://" + addr, e: e}
}

// stopEnvoyAtCleanup stops e when the test ends. Envoy must stop cleanly
// and its log must hold no wasm error, no restricted host call and no
// crash (unless wasmErrorsExpected); a failed test keeps the log under
// build/test-logs and prints its tail.
func stopEnvoyAtCleanup(t testing.TB, version string, e *envoyrun.Envoy, wasmErrorsExpected bool) {
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Errorf("Envoy %s did not stop cleanly: %v", version, err)
		}
		if !wasmErrorsExpected {
			for _, bad := range envoyrun.LogProblems(e.Log()) {
				t.Errorf("Envoy's log: %s", bad)
			}
		}
		if t.Failed() {
			keep := filepath.Join("..", "build", "test-logs", strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+".log")
			os.MkdirAll(filepath.Dir(keep), 0o755)
			os.WriteFile(keep, []byte(e.Log()), 0o644)
			t.Logf("Envoy's log is kept in %s; its tail:\n%s", keep, e.Tail(30))
		}
	})
}
