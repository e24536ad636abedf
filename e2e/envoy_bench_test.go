package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshprobe/meshprobe/internal/testing/envoyrun"
)

// BenchmarkEnvoyPollShim: what providing poll_oneoff inside the module
// (cmd/wasmshim) costs per request in the newest claimed Envoy, which also
// runs the Go toolchain's own output (it answers poll_oneoff itself). Two
// Envoys with one worker each, one per module, get requests in
// alternating blocks (benchPaired) over one keep-alive connection each:
// x-floor is shipped over toolchain.
func BenchmarkEnvoyPollShim(b *testing.B) {
	vs, err := envoyrun.Versions("..")
	if err != nil {
		b.Fatal(err)
	}
	have, _, err := envoyrun.Installed("..", vs[:1])
	if err != nil {
		b.Fatal(err)
	}
	if len(have) == 0 {
		b.Skipf("SKIPPED: Envoy %s is not installed (run `make envoy`)", vs[0])
	}
	rel := have[0]
	toolchain, err := filepath.Abs(filepath.Join("..", "build", "meshprobe.go.wasm"))
	if err == nil {
		_, err = os.Stat(toolchain)
	}
	if err != nil {
		b.Fatalf("%v: run `make build` first", err)
	}
	app := newHTTPPeer(b, "ok", "")
	config := `{"refresh":{"interval":"1s"},"checks":[{"name":"app","kind":"http","cluster":"app"}]}`
	ups := map[string]upstream{"app": {Addr: app.addr()}}
	start := func(wasm string) string {
		px := startEnvoy(b, rel.Version, rel.Binary, config, ups, envoyOptions{wasm: wasm, workers: 1, unscoped: true})
		waitStatus(b, px.base+"/health/probes/readiness", 200, 5*time.Second)
		return px.base
	}
	pluginWasm(b) // fails clearly if the plugin is not built
	shipped, err := filepath.Abs(pluginPath())
	if err != nil {
		b.Fatal(err)
	}
	bases := [2]string{start(shipped), start(toolchain)}
	for _, k := range []struct{ name, path string }{
		{"passthrough", "/api/orders?page=2"},
		{"liveness", "/health/probes/liveness"},
		{"readiness", "/health/probes/readiness"},
	} {
		b.Run(k.name, func(b *testing.B) {
			var do [2]func()
			for i, base := range bases {
				c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
				url := base + k.path
				do[i] = func() {
					resp, err := c.Get(url)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Fatalf("%s: %d", url, resp.StatusCode)
					}
				}
				do[i]() // open the connection
			}
			benchPaired(b, do[0], do[1])
		})
	}
}
