package plugin

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// The compiled plugin every test also runs on. `make test` builds it first;
// MESHPROBE_WASM points elsewhere.
func wasmFile() string {
	if p := os.Getenv("MESHPROBE_WASM"); p != "" {
		return p
	}
	return filepath.Join("..", "build", "meshprobe.wasm")
}

var wasmVM proxytest.WasmVMContext

func TestMain(m *testing.M) {
	bin, err := os.ReadFile(wasmFile())
	if err != nil {
		fmt.Fprintf(os.Stderr, "plugin tests run on the compiled plugin too and cannot find it: %v\nrun `make build` (or `make test`) first\n", err)
		os.Exit(1)
	}
	// One compiled VM serves every wasm run: compiling the module takes far
	// longer than any test, and each emulator creates fresh plugin and HTTP
	// contexts in it, as Envoy does on a config reload.
	if wasmVM, err = proxytest.NewWasmVMContext(bin); err != nil {
		fmt.Fprintf(os.Stderr, "loading %s: %v\n", wasmFile(), err)
		os.Exit(1)
	}
	code := m.Run()
	wasmVM.Close()
	os.Exit(code)
}

// bothRuntimes runs f natively and on the compiled .wasm. The emulator is
// process-global, so the two runs are sequential, never parallel.
func bothRuntimes(t *testing.T, f func(t *testing.T, vm types.VMContext)) {
	t.Run("native", func(t *testing.T) { f(t, NewVMContext()) })
	t.Run("wasm", func(t *testing.T) { f(t, wasmVM) })
}

// proxy is one emulated proxy running the plugin with one configuration.
type proxy struct {
	t    *testing.T
	host proxytest.HostEmulator
}

// props are host properties, dotted path -> value ("source.address" -> "10.0.0.1:80").
type props map[string]string

// startProxy starts the VM and plugin (one per subtest: the emulator holds a
// process-wide lock until the subtest's cleanup resets it); it returns the start status so that
// tests of bad configuration can assert the refusal.
func startProxy(t *testing.T, vm types.VMContext, config string, p props) (*proxy, types.OnPluginStartStatus) {
	t.Helper()
	opt := proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration([]byte(config))
	for k, v := range p {
		opt = opt.WithProperty(strings.Split(k, "."), []byte(v))
	}
	host, reset := proxytest.NewHostEmulator(opt)
	t.Cleanup(reset)
	if host.StartVM() != types.OnVMStartStatusOK {
		t.Fatal("VM did not start")
	}
	return &proxy{t: t, host: host}, host.StartPlugin()
}

// mustStart starts a proxy whose configuration must be accepted.
func mustStart(t *testing.T, vm types.VMContext, config string, p props) *proxy {
	t.Helper()
	px, st := startProxy(t, vm, config, p)
	if st != types.OnPluginStartStatusOK {
		t.Fatalf("configuration refused: %v", px.host.GetErrorLogs())
	}
	return px
}

// response is what a request got: passed through, or answered locally.
type response struct {
	passed  bool
	status  int
	headers map[string]string
	body    string
	// reqHeaders are the request headers after the filter (pass-through checks).
	reqHeaders [][2]string
}

func (px *proxy) do(method, path string, extra ...[2]string) response {
	px.t.Helper()
	hdrs := append([][2]string{{":method", method}, {":path", path}, {":authority", "svc"}, {":scheme", "http"}}, extra...)
	id := px.host.InitializeHttpContext()
	action := px.host.CallOnRequestHeaders(id, hdrs, true)
	var r response
	r.reqHeaders = px.host.GetCurrentRequestHeaders(id)
	if lr := px.host.GetSentLocalResponse(id); lr != nil {
		if action != types.ActionPause {
			px.t.Fatalf("%s %s: local reply sent but the filter returned %v, not Pause", method, path, action)
		}
		r.status = int(lr.StatusCode)
		r.body = string(lr.Data) // copied: on wasm it points into guest memory
		r.headers = map[string]string{}
		for _, h := range lr.Headers {
			r.headers[h[0]] = h[1]
		}
	} else {
		if action != types.ActionContinue {
			px.t.Fatalf("%s %s: no reply and the filter returned %v, not Continue", method, path, action)
		}
		r.passed = true
	}
	px.host.CompleteHttpContext(id)
	return r
}

func (px *proxy) get(path string, extra ...[2]string) response {
	px.t.Helper()
	return px.do("GET", path, extra...)
}

// allLogs is every line the plugin logged, at any level.
func (px *proxy) allLogs() []string {
	h := px.host
	var all []string
	for _, l := range [][]string{h.GetTraceLogs(), h.GetDebugLogs(), h.GetInfoLogs(), h.GetWarnLogs(), h.GetErrorLogs(), h.GetCriticalLogs()} {
		all = append(all, l...)
	}
	return all
}
