package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"

	"github.com/meshprobe/meshprobe/internal/testing/envoyrun"
	"github.com/meshprobe/meshprobe/internal/testing/wasmhost"
)

// A configuration push never flips readiness. One proxy per runtime takes
// a chain of pushes, as a mesh's control plane sends them; each push is a
// case. While a probe asks readiness every 10 ms, every answer must be
// 200 (or, after an operator's drain, 503 draining), and no dependency may
// be checked twice within half an interval: neither a burst of re-checks
// at the push nor the old and the new configuration both checking during
// the overlap. Envoy takes the pushes over LDS from a file, with a one
// second drain time, after which it tears the old configuration's plugin
// down; internal/testing/wasmhost does the same with Reload and Retire.

const (
	reloadInterval = time.Second
	reloadDrain    = time.Second
)

// reloadConfig is a plugin configuration with the service version and
// the checks given, each as its name and then its other fields: an HTTP
// check of the cluster of that name, on the path of that name, unless it
// names its own cluster and path.
func reloadConfig(version string, checks ...string) string {
	var cs []string
	for _, c := range checks {
		name, extra, _ := strings.Cut(c, ",")
		if extra != "" {
			extra = "," + extra
		}
		target := fmt.Sprintf(`,"cluster":%q,"path":"/%s"`, name, name)
		if strings.Contains(extra, `"cluster"`) {
			target = "" // the check names its own target
		}
		cs = append(cs, fmt.Sprintf(`{"name":%q,"kind":"http"%s%s}`, name, target, extra))
	}
	return fmt.Sprintf(`{"service":{"name":"reload","version":%q},"refresh":{"interval":"1s","jitter":0},`+
		`"drain":{"enabled":true},"details":{"allow_cidrs":["127.0.0.0/8"]},"checks":[%s]}`, version, strings.Join(cs, ","))
}

// The base configuration: a hard check and a soft one.
var reloadBase = reloadConfig("base", "a", `b,"type":"soft"`)

// reloadStep is one push: the plugin configuration after it, and whether
// the .wasm is the newer build or the listener changes elsewhere.
type reloadStep struct {
	name      string
	config    string
	newBuild  bool   // the newer .wasm (see newerBuild)
	statName  string // the connection manager's stat prefix: a listener change the plugin does not see
	checks    []string
	drainedAt bool // an operator's drain was posted before this push
	// unknown is a check the push adds: it must show unknown at first,
	// while readiness stays 200. kept is a check that must show its old
	// result (up) from the push on, under whatever name it now has.
	unknown, kept string
}

func reloadSteps() []reloadStep {
	const (
		a        = "a"
		b        = `b,"type":"soft"`
		d        = `d,"interval":"5s","timeout":"4s"` // answers after 3 s: unknown that long
		aTimeout = `a,"timeout":"500ms"`
		aSlower  = `a,"timeout":"500ms","interval":"2s"`
		renamed  = `a-renamed,"timeout":"500ms","interval":"2s","path":"/a","cluster":"a"`
	)
	return []reloadStep{
		{name: "added soft check", config: reloadConfig("soft", a, b, `c,"type":"soft"`), checks: []string{"a", "b", "c"}, kept: "a"},
		{name: "back to base", config: reloadBase, checks: []string{"a", "b"}, kept: "a"},
		{name: "added hard check", config: reloadConfig("hard", a, b, d), checks: []string{"a", "b", "d"}, unknown: "d", kept: "a"},
		{name: "changed timeout", config: reloadConfig("timeout", aTimeout, b, d), checks: []string{"a", "b", "d"}, kept: "a"},
		{name: "changed interval", config: reloadConfig("interval", aSlower, b, d), checks: []string{"a", "b", "d"}, kept: "a"},
		{name: "renamed check", config: reloadConfig("renamed", renamed, b, d), checks: []string{"a-renamed", "b", "d"}, kept: "a-renamed"},
		{name: "removed check", config: reloadConfig("removed", renamed, d), checks: []string{"a-renamed", "d"}, kept: "a-renamed"},
		{name: "newer wasm", config: reloadConfig("removed", renamed, d), newBuild: true, checks: []string{"a-renamed", "d"}, kept: "a-renamed"},
		{name: "unrelated listener change", config: reloadConfig("removed", renamed, d), newBuild: true, statName: "inbound_v2",
			checks: []string{"a-renamed", "d"}, kept: "a-renamed"},
		{name: "drain holds across a change", config: reloadBase, drainedAt: true, checks: []string{"a", "b"}, kept: "a"},
	}
}

// newerBuild is the plugin with one more custom section: other code to
// the proxy (Envoy keys its VMs by a hash of the module, and starts new
// ones for it), the same meshprobe to the test.
func newerBuild(t testing.TB) string {
	t.Helper()
	wasm := pluginWasm(t)
	name := "meshprobe.build"
	payload := []byte("newer")
	section := append([]byte{0, byte(1 + len(name) + len(payload)), byte(len(name))}, name...)
	path := filepath.Join(t.TempDir(), "meshprobe-newer.wasm")
	if err := os.WriteFile(path, append(slices.Clone(wasm), append(section, payload...)...), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// reloadProxy is a proxy that takes pushes.
type reloadProxy struct {
	base string
	push func(t *testing.T, s reloadStep) // applies s and returns at once
	// settled reports whether the old configuration's plugin is gone.
	settled func() bool
	// resets is how many probes per push may fail below HTTP. When a
	// listener update drains a filter chain, Envoy closes its connections
	// that carry no request yet, and one whose request was on its way is
	// reset (envoyproxy/envoy#35109). Seen about once in four pushes of a
	// new .wasm, when each worker blocks while it starts its new VM. Such
	// a probe gets no answer at all, never a 503.
	resets int
}

func TestReloadKeepsReadiness(t *testing.T) {
	eachProxy(t, func(t *testing.T, rt runtimeCase) {
		peers := map[string]*httpPeer{}
		ups := map[string]upstream{}
		for _, n := range []string{"a", "b", "c", "d"} {
			peers[n] = newHTTPPeer(t, "ok", "")
			ups[n] = upstream{Addr: peers[n].addr()}
		}
		peers["d"].delay = 3 * time.Second
		peers["d"].set(modeSlow)
		var px reloadProxy
		if rt.bin == "" {
			px = reloadHost(t, ups)
		} else {
			px = reloadEnvoy(t, rt, ups)
		}
		waitStatus(t, px.base+"/health/probes/readiness", 200, 10*time.Second)
		for _, s := range reloadSteps() {
			t.Run(strings.ReplaceAll(s.name, " ", "_"), func(t *testing.T) {
				waitStatus(t, px.base+"/health/probes/readiness", 200, 10*time.Second) // whatever the step before left
				if s.drainedAt {
					if r := request(t, nil, "POST", px.base+"/health/drain"); r.status != 200 {
						t.Fatalf("POST drain: %d %s", r.status, r.body)
					}
				}
				want := func(code int, body string) bool { return code == 200 }
				if s.drainedAt {
					want = func(code int, body string) bool { return code == 503 && strings.Contains(body, "draining") }
				}
				pr := startProber(px.base + "/health/probes/readiness")
				time.Sleep(300 * time.Millisecond)
				pushed := time.Now()
				px.push(t, s)
				assertRightAfterPush(t, px.base, s)
				// The old plugin goes after the drain time; then two intervals more.
				for deadline := time.Now().Add(15 * time.Second); !px.settled(); time.Sleep(50 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatal("the old configuration's plugin is still there 15 s after the push")
					}
				}
				time.Sleep(2 * reloadInterval)
				answers := pr.stop()
				if len(answers) < 100 {
					t.Fatalf("only %d probes answered", len(answers))
				}
				resets := 0
				for _, a := range answers {
					if a.code == 0 && resets < px.resets {
						resets++
						t.Logf("a probe failed below HTTP %v after the push (Envoy's listener drain): %s", a.at.Sub(pushed).Round(time.Millisecond), a.body)
						continue
					}
					if !want(a.code, a.body) {
						t.Errorf("readiness answered %d %s %v after the push (drained: %v)", a.code, a.body, a.at.Sub(pushed).Round(time.Millisecond), s.drainedAt)
						break
					}
				}
				t.Logf("%d probes over %v from the push on, %d failed below HTTP", len(answers),
					answers[len(answers)-1].at.Sub(pushed).Round(100*time.Millisecond), resets)
				assertOneCheckPerInterval(t, peers, pushed.Add(-2*reloadInterval))
				assertServes(t, px.base, s)
				if s.drainedAt {
					if r := request(t, nil, "DELETE", px.base+"/health/drain"); r.status != 200 {
						t.Fatalf("DELETE drain: %d %s", r.status, r.body)
					}
					waitStatus(t, px.base+"/health/probes/readiness", 200, 2*time.Second)
				}
			})
		}
	})
}

// assertOneCheckPerInterval: since from, no peer was checked twice within
// half an interval.
func assertOneCheckPerInterval(t *testing.T, peers map[string]*httpPeer, from time.Time) {
	t.Helper()
	for name, p := range peers {
		var last time.Time
		for _, at := range p.arrivals() {
			if at.Before(from) {
				continue
			}
			if !last.IsZero() && at.Sub(last) < reloadInterval/2 {
				t.Errorf("dependency %s checked twice %v apart (interval %v): a check ran again at the push or twice in the overlap",
					name, at.Sub(last).Round(time.Millisecond), reloadInterval)
			}
			last = at
		}
	}
}

// assertRightAfterPush: once the pushed configuration serves, a check it
// kept shows its old result at once, and a check it added shows unknown
// while readiness stays 200.
func assertRightAfterPush(t *testing.T, base string, s reloadStep) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, body := get(t, base+"/health/up"); strings.Contains(body, `"version":"`+versionOf(s.config)+`"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pushed configuration %s does not serve within 5 s", versionOf(s.config))
		}
	}
	_, deps := readDependencies(t, base)
	if s.kept != "" && deps[s.kept].Status != "up" {
		t.Errorf("right after the push %s is %q; want its result kept (up)", s.kept, deps[s.kept].Status)
	}
	if s.unknown != "" {
		if deps[s.unknown].Status != "unknown" {
			t.Errorf("right after the push the added check %s is %q; want unknown until its first result", s.unknown, deps[s.unknown].Status)
		}
		if code, body := get(t, base+"/health/probes/readiness"); code != 200 {
			t.Errorf("readiness %d %s while the added check %s has no result; want 200", code, body, s.unknown)
		}
	}
}

// assertServes: the pushed configuration serves (its version, its checks).
func assertServes(t *testing.T, base string, s reloadStep) {
	t.Helper()
	if _, body := get(t, base+"/health/up"); !strings.Contains(body, `"version":"`+versionOf(s.config)+`"`) {
		t.Errorf("/health/up = %s; want the pushed version %s", body, versionOf(s.config))
	}
	_, deps := readDependencies(t, base)
	var names []string
	for n := range deps {
		names = append(names, n)
	}
	slices.Sort(names)
	if !slices.Equal(names, s.checks) {
		t.Errorf("/health/dependencies lists %v; want %v", names, s.checks)
	}
}

func versionOf(config string) string {
	_, v, _ := strings.Cut(config, `"version":"`)
	v, _, _ = strings.Cut(v, `"`)
	return v
}

// answer is one probe's answer.
type answer struct {
	at   time.Time
	code int
	body string
}

type prober struct {
	quit chan struct{}
	done chan []answer
}

// startProber asks url every 10 ms, each time over a new connection (as
// the kubelet does), until stop.
func startProber(url string) *prober {
	p := &prober{quit: make(chan struct{}), done: make(chan []answer, 1)}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	go func() {
		var out []answer
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.quit:
				p.done <- out
				return
			case <-tick.C:
			}
			a := answer{at: time.Now()}
			if resp, err := c.Get(url); err != nil {
				a.body = err.Error()
			} else {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				a.code, a.body = resp.StatusCode, string(b)
			}
			out = append(out, a)
		}
	}()
	return p
}

func (p *prober) stop() []answer {
	close(p.quit)
	return <-p.done
}

// reloadHost runs the plugin on internal/testing/wasmhost; a push is a Reload, and the old
// instance is retired after the drain time.
func reloadHost(t *testing.T, ups map[string]upstream) reloadProxy {
	hu := map[string]wasmhost.Upstream{}
	for n, u := range ups {
		hu[n] = wasmhost.Upstream{Addr: u.Addr}
	}
	h, base := startReal(t, 2, reloadBase, hu)
	var (
		mu      sync.Mutex
		pending int
		newer   []byte
	)
	return reloadProxy{
		base: base,
		push: func(t *testing.T, s reloadStep) {
			wasm := pluginWasm(t)
			if s.newBuild {
				if newer == nil {
					b, err := os.ReadFile(newerBuild(t))
					if err != nil {
						t.Fatal(err)
					}
					newer = b
				}
				wasm = newer
			}
			old, err := h.Reload(wasm, []byte(s.config))
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range h.Instance() {
				if !v.Configured() {
					t.Fatalf("the pushed configuration was refused: %v", v.Logs())
				}
			}
			if old == nil {
				return // nothing changed for the plugin: its instance stays
			}
			mu.Lock()
			pending++
			mu.Unlock()
			time.AfterFunc(reloadDrain, func() {
				h.Retire(old)
				mu.Lock()
				pending--
				mu.Unlock()
			})
		},
		settled: func() bool {
			mu.Lock()
			defer mu.Unlock()
			return pending == 0
		},
	}
}

// reloadEnvoy runs Envoy with its listener from LDS and a one second
// drain time; a push swaps the listener file.
func reloadEnvoy(t *testing.T, rt runtimeCase, ups map[string]upstream) reloadProxy {
	shipped, err := os.ReadFile(filepath.Join("..", "envoy", "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pluginWasm(t)
	wasm, err := filepath.Abs(pluginPath())
	if err != nil {
		t.Fatal(err)
	}
	newer := newerBuild(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint32(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	boot := func(s reloadStep) envoyrun.Bootstrap {
		b := envoyrun.Bootstrap{Shipped: shipped, Wasm: wasm, PluginConfig: s.config, Clusters: ups, ListenerPort: port}
		if s.newBuild {
			b.Wasm = newer
		}
		if s.statName != "" {
			b.Edit = func(bs *bootstrapv3.Bootstrap) error {
				for _, l := range bs.GetStaticResources().GetListeners() {
					if err := envoyrun.EachConnectionManager(l, func(m *hcmv3.HttpConnectionManager) error {
						m.StatPrefix = s.statName
						return nil
					}); err != nil {
						return err
					}
				}
				return nil
			}
		}
		return b
	}
	lds := &envoyrun.LDS{Dir: t.TempDir()}
	js, err := lds.Bootstrap(boot(reloadStep{config: reloadBase}))
	if err != nil {
		t.Fatal(err)
	}
	e, err := envoyrun.Start(context.Background(), envoyrun.Options{Binary: rt.bin, Bootstrap: js, Concurrency: envoyWorkers,
		Dir: t.TempDir(), Args: []string{"--drain-time-s", fmt.Sprint(int(reloadDrain.Seconds()))}})
	if err != nil {
		t.Fatalf("%s: %v", rt.name, err)
	}
	stopEnvoyAtCleanup(t, rt.name, e, false)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	var (
		pushedAt        time.Time
		teardownsWanted int // the old instances' teardown log lines expected by now
		last            reloadStep
	)
	last.config = reloadBase
	return reloadProxy{
		base:   base,
		resets: 2,
		push: func(t *testing.T, s reloadStep) {
			if s.config != last.config || s.newBuild != last.newBuild {
				teardownsWanted = strings.Count(e.Log(), "plugin instance stopped") + 1
			}
			last = s
			pushedAt = time.Now()
			before, _ := e.AdminGet("/stats?filter=^listener_manager.listener_(modified|in_place_updated)$")
			if err := lds.Push(boot(s)); err != nil {
				t.Fatal(err)
			}
			// Envoy applies the file within moments: wait until its
			// listener manager counts the update.
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				if now, _ := e.AdminGet("/stats?filter=^listener_manager.listener_(modified|in_place_updated)$"); now != before {
					t.Logf("Envoy took the push: %s", strings.Join(strings.Fields(now), " "))
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("Envoy did not take the push within 10 s:\n%s", e.Tail(20))
				}
			}
		},
		// The old filter chain goes once its connections have drained (at
		// once when it has none), within the drain time, and its plugin
		// with it: settled when nothing is warming or draining and the
		// drain time is over, and, after a change the plugin sees, once an
		// old instance has logged its teardown.
		settled: func() bool {
			stats, err := e.AdminGet("/stats?filter=^listener_manager.total_(listeners_warming|listeners_draining|filter_chains_draining)$")
			if err != nil || time.Since(pushedAt) < reloadDrain || teardownsWanted > strings.Count(e.Log(), "plugin instance stopped") {
				return false
			}
			for _, l := range strings.Split(strings.TrimSpace(stats), "\n") {
				if !strings.HasSuffix(l, ": 0") {
					return false
				}
			}
			return true
		},
	}
}
