package e2e

import (
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	wasmextv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/meshprobe/meshprobe/internal/testing/envoyrun"
)

// soakKinds are the requests of the soak: every probe, the status documents
// with details (the client is on loopback) and /metrics.
var soakKinds = []string{
	"/health/probes/liveness", "/health/probes/readiness", "/health/probes/startup",
	"/health/up", "/health/dependencies", "/health/info", "/health/metrics", "/readyz?verbose", "/livez",
}

// soakBootstrap sets environment variables of meshprobe's VM (Envoy's
// vm_config environment_variables) and spreads connections evenly over the
// workers (the kernel may give one worker none of a few connections).
func soakBootstrap(env map[string]string) func(*bootstrapv3.Bootstrap) error {
	return func(b *bootstrapv3.Bootstrap) error {
		for _, l := range b.GetStaticResources().GetListeners() {
			l.ConnectionBalanceConfig = &listenerv3.Listener_ConnectionBalanceConfig{
				BalanceType: &listenerv3.Listener_ConnectionBalanceConfig_ExactBalance_{
					ExactBalance: &listenerv3.Listener_ConnectionBalanceConfig_ExactBalance{}}}
			err := envoyrun.EachHTTPFilter(l, func(f *hcmv3.HttpFilter) error {
				var w wasmv3.Wasm
				if f.GetTypedConfig().UnmarshalTo(&w) != nil {
					return nil
				}
				w.GetConfig().GetVmConfig().EnvironmentVariables = &wasmextv3.EnvironmentVariables{KeyValues: env}
				a, err := anypb.New(&w)
				f.ConfigType = &hcmv3.HttpFilter_TypedConfig{TypedConfig: a}
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
}

var (
	// vmStderr is a line of the VM's stderr in Envoy's log (the host logs
	// each write at error level). Go's runtime prints gctrace and a crash
	// a few bytes per write, so a line is a fragment.
	vmStderr = regexp.MustCompile(`\]\[error\]\[wasm\] .*\] wasm log[^:]*: `)
	// gcStart starts one collection's gctrace line ("gc N @..."), with
	// Envoy's thread id, so that collections count per VM.
	gcStart = regexp.MustCompile(`(?m)^\[[^]]*\]\[(\d+)\]\[error\]\[wasm\] .*\] wasm log[^:]*: gc( |$)`)
)

// TestEnvoyGarbageCollections: Go's runtime calls poll_oneoff when a
// collection restarts the world, and Envoy before 1.39 answers ENOSYS
// (internal/buildstep/wasmshim). With GOGC=1 each VM collects every few requests;
// every request must still be answered by meshprobe (a 503 of a check
// slowed by a busy machine is an answer too) and the log must hold no
// crash. MESHPROBE_SOAK_REQUESTS (requests per kind, default 2000)
// makes it the soak `make soak` runs in every claimed Envoy;
// MESHPROBE_SOAK_GOGC=default leaves the plugin's own GOGC (50), to see
// when a production VM first collects.
func TestEnvoyGarbageCollections(t *testing.T) {
	perKind := 2000
	if s := os.Getenv("MESHPROBE_SOAK_REQUESTS"); s != "" {
		var err error
		if perKind, err = strconv.Atoi(s); err != nil || perKind <= 0 {
			t.Fatalf("MESHPROBE_SOAK_REQUESTS=%q: want a positive number", s)
		}
	}
	env := map[string]string{"GOGC": "1", "GODEBUG": "gctrace=1"}
	if os.Getenv("MESHPROBE_SOAK_GOGC") == "default" {
		delete(env, "GOGC")
	}
	eachEnvoy(t, func(t *testing.T, rt runtimeCase) {
		app, hsm, grpcp := newHTTPPeer(t, "ok", ""), newHTTPPeer(t, `{"status":"OK"}`, ""), newGRPCPeer(t, "")
		config := `{"dialects":["standard","kubernetes"],"refresh":{"interval":"100ms"},
			"details":{"allow_cidrs":["127.0.0.0/8"]},"checks":[
			{"name":"app","kind":"http","cluster":"app"},
			{"name":"hsm","kind":"hsm","cluster":"hsm","path":"/v1/status","type":"soft"},
			{"name":"grpc","kind":"grpc","cluster":"grpc"}]}`
		px := rt.envoy(t, config, map[string]upstream{
			"app": {Addr: app.addr()}, "hsm": {Addr: hsm.addr()}, "grpc": {Addr: grpcp.addr(), HTTP2: true}},
			envoyOptions{edit: soakBootstrap(env), wasmErrorsExpected: true})
		waitStatus(t, px.base+"/health/probes/readiness", 200, 5*time.Second)

		total := int64(perKind * len(soakKinds))
		var (
			next       atomic.Int64
			mu         sync.Mutex
			firstBad   = total // index of the first request meshprobe did not answer
			afterwards = map[string]int{}
			answered   = map[int]int{} // meshprobe's answers by status
		)
		start := time.Now()
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := next.Add(1) - 1; i < total; i = next.Add(1) - 1 {
					path := soakKinds[i%int64(len(soakKinds))]
					resp, err := client.Get(px.base + path)
					outcome := "connection error"
					if err == nil {
						io.Copy(io.Discard, resp.Body) // so that the connection is reused
						resp.Body.Close()
						outcome = strconv.Itoa(resp.StatusCode) + " not from meshprobe" // Envoy's, or the app's when failing open
					}
					mu.Lock()
					if err == nil && resp.Header.Get("cache-control") == "no-store" {
						answered[resp.StatusCode]++
					} else {
						firstBad = min(firstBad, i)
						afterwards[outcome]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		took := time.Since(start)
		log := px.e.Log()
		perThread := map[string]int{}
		gcs := 0
		for _, m := range gcStart.FindAllStringSubmatch(log, -1) {
			perThread[m[1]]++
			gcs++
		}
		t.Logf("%d requests (%d of each of %d kinds) in %v, meshprobe's answers by status %v; %d collections across %d VMs",
			total, perKind, len(soakKinds), took.Round(time.Millisecond), answered, gcs, len(perThread))
		if firstBad < total {
			var outcomes []string
			for _, k := range slices.Sorted(maps.Keys(afterwards)) {
				outcomes = append(outcomes, fmt.Sprintf("%s ×%d", k, afterwards[k]))
			}
			t.Errorf("from request %d on, %d requests not answered by meshprobe: %s", firstBad+1,
				sumValues(afterwards), strings.Join(outcomes, ", "))
		}
		var crash []string
		for _, l := range strings.Split(log, "\n") {
			switch {
			case strings.Contains(l, "fatal error") || strings.Contains(l, "panic"):
				crash = append(crash, l)
			case vmStderr.MatchString(l): // gctrace
			case len(envoyrun.LogProblems(l)) > 0:
				t.Errorf("Envoy's log: %s", l)
			}
		}
		for _, l := range crash[:min(len(crash), 3)] {
			t.Errorf("Envoy's log: %s", l)
		}
		// Every worker's VM collected several times: the test could not pass
		// by not collecting. (With the plugin's own GOGC a short run may
		// not collect at all; that mode only measures.)
		busy := 0
		for _, n := range perThread {
			if n >= 5 {
				busy++
			}
		}
		if env["GOGC"] != "" && busy < envoyWorkers {
			t.Errorf("%d VMs collected 5 times or more (%v by thread), want all %d workers: GOGC or gctrace did not reach the VMs",
				busy, perThread, envoyWorkers)
		}
	})
}

func sumValues(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
