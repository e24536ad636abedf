package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// The runtime-free floors (floors/*.wat, which the Envoy benchmark sets
// beside the Go floors) load in each tested Envoy and do what their rows
// claim, on every request (unscoped, as the benchmark runs them):
// floor-reply-wat answers any request itself, floor-continue-wat lets any
// request through to the app unchanged. After each run Envoy's log must
// hold no wasm error (startEnvoy).
func TestEnvoyRuntimeFreeFloors(t *testing.T) {
	reply, cont := watFloor(t, "floor-reply-wat"), watFloor(t, "floor-continue-wat")
	eachEnvoy(t, func(t *testing.T, rt runtimeCase) {
		app := newEchoApp(t)
		ups := map[string]upstream{"app": {Addr: app.addr()}}
		paths := []string{"/health/probes/liveness", "/api/orders/42?q=a%20b&x=1", "/", "/anything/else"}

		t.Run("floor-reply-wat", func(t *testing.T) {
			base := rt.envoy(t, "", ups, envoyOptions{wasm: reply, unscoped: true}).base
			for _, path := range paths {
				for _, method := range []string{"GET", "POST"} {
					r := request(t, nil, method, base+path)
					if r.status != 200 || r.body != `{"status":"up"}` ||
						r.header.Get("Content-Type") != "application/json" || r.header.Get("Cache-Control") != "no-store" {
						t.Errorf("%s %s: %d %v %q; want 200, application/json, no-store, {\"status\":\"up\"}", method, path, r.status, r.header, r.body)
					}
				}
			}
			if _, hits := app.last(); hits != 0 {
				t.Errorf("the app got %d requests; floor-reply-wat should answer them all", hits)
			}
		})

		t.Run("floor-continue-wat", func(t *testing.T) {
			passThroughUnchanged(t, rt.envoy(t, "", ups, envoyOptions{wasm: cont, unscoped: true}).base, app, paths)
		})
	})
}

// watFloor is the absolute path of build/<name>.wasm, a runtime-free floor;
// a missing file fails the test with how to build it.
func watFloor(t *testing.T, name string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "build", name+".wasm"))
	if err == nil {
		_, err = os.Stat(path)
	}
	if err != nil {
		t.Fatalf("%v: run `make build/%s.wasm` (or `make test`) first", err, name)
	}
	return path
}
