package e2e

import (
	"fmt"
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
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	wasmextv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/meshprobe/meshprobe/e2e/envoyrun"
)

// soakKinds are the requests of the soak: every probe, the status documents
// with details (the client is on loopback) and /metrics.
var soakKinds = []string{
	"/health/probes/liveness", "/health/probes/readiness", "/health/probes/startup",
	"/health/up", "/health/dependencies", "/health/info", "/health/metrics", "/readyz?verbose", "/livez",
}

// vmEnvironment sets environment variables of meshprobe's VM (Envoy's
// vm_config environment_variables).
func vmEnvironment(env map[string]string) func(*bootstrapv3.Bootstrap) error {
	return func(b *bootstrapv3.Bootstrap) error {
		for _, l := range b.GetStaticResources().GetListeners() {
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
	// gcStart is the fragment that starts one collection's gctrace line.
	gcStart = regexp.MustCompile(`(?m)\]\[error\]\[wasm\] .*\] wasm log[^:]*: gc\s*$`)
)

// TestEnvoyGarbageCollections: Go's runtime calls poll_oneoff when a
// collection restarts the world, and Envoy before 1.39 answers ENOSYS
// (internal/wasmshim). With GOGC=1 each VM collects every few requests;
// every request must still get meshprobe's own 200 and the log must hold
// no crash. MESHPROBE_SOAK_REQUESTS (requests per kind, default 2000)
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
			envoyOptions{edit: vmEnvironment(env), wasmErrorsExpected: true})
		waitStatus(t, px.base+"/health/probes/readiness", 200, 5*time.Second)

		total := int64(perKind * len(soakKinds))
		var (
			next       atomic.Int64
			mu         sync.Mutex
			firstBad   = total // index of the first request meshprobe did not answer with 200
			afterwards = map[string]int{}
		)
		start := time.Now()
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := next.Add(1) - 1; i < total; i = next.Add(1) - 1 {
					path := soakKinds[i%int64(len(soakKinds))]
					outcome := "ok"
					resp, err := client.Get(px.base + path)
					switch {
					case err != nil:
						outcome = "connection error"
					case resp.StatusCode != 200:
						outcome = strconv.Itoa(resp.StatusCode)
					case resp.Header.Get("cache-control") != "no-store":
						outcome = "200 not from meshprobe" // failed open: the app answered
					}
					if err == nil {
						resp.Body.Close()
					}
					if outcome != "ok" {
						mu.Lock()
						firstBad = min(firstBad, i)
						afterwards[outcome]++
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		took := time.Since(start)
		log := px.e.Log()
		gcs := len(gcStart.FindAllStringIndex(log, -1))
		t.Logf("%d requests (%d of each of %d kinds) in %v; %d collections across the VMs",
			total, perKind, len(soakKinds), took.Round(time.Millisecond), gcs)
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
			case len(envoyLogProblems(l)) > 0:
				t.Errorf("Envoy's log: %s", l)
			}
		}
		for _, l := range crash[:min(len(crash), 3)] {
			t.Errorf("Envoy's log: %s", l)
		}
		// Enough collections that every VM went through several: the test
		// could not pass by not collecting.
		if want := 5 * (envoyWorkers + 1); gcs < want {
			t.Errorf("only %d collections logged, want at least %d: GOGC or gctrace did not reach the VM", gcs, want)
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
