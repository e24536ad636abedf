package e2e

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
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
		var (
			mu   sync.Mutex
			seen recorded
			hits int
		)
		app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			seen, hits = recorded{method: r.Method, uri: r.RequestURI, host: r.Host, header: r.Header.Clone(), body: body}, hits+1
			mu.Unlock()
			w.Header().Set("X-Upstream", "app")
			w.Header().Add("Set-Cookie", "a=1")
			w.Header().Add("Set-Cookie", "b=2")
			w.WriteHeader(http.StatusCreated)
			w.Write(append([]byte("echo:"), body...))
		}))
		t.Cleanup(app.Close)
		ups := map[string]upstream{"app": {Addr: app.Listener.Addr().String()}}
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
			mu.Lock()
			defer mu.Unlock()
			if hits != 0 {
				t.Errorf("the app got %d requests; floor-reply-wat should answer them all", hits)
			}
		})

		t.Run("floor-continue-wat", func(t *testing.T) {
			base := rt.envoy(t, "", ups, envoyOptions{wasm: cont, unscoped: true}).base
			body := []byte("{\"order\":42,\"note\":\"\xff binary \x00 bytes\"}")
			for _, path := range paths {
				req, _ := http.NewRequest("PUT", base+path, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer secret-token")
				req.Header.Set("X-Trace", "abc")
				req.Header.Add("X-Multi", "1")
				req.Header.Add("X-Multi", "2")
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 201 || resp.Header.Get("X-Upstream") != "app" ||
					!slices.Equal(resp.Header.Values("Set-Cookie"), []string{"a=1", "b=2"}) || !bytes.Equal(got, append([]byte("echo:"), body...)) {
					t.Errorf("PUT %s: not the app's response: %d %v %q", path, resp.StatusCode, resp.Header, got)
				}
				mu.Lock()
				s := seen
				mu.Unlock()
				if s.method != "PUT" || s.uri != path || s.host != req.URL.Host || !bytes.Equal(s.body, body) {
					t.Errorf("PUT %s: the app saw %s %s host %s body %q", path, s.method, s.uri, s.host, s.body)
				}
				for _, k := range []string{"Authorization", "X-Trace", "Content-Type"} {
					if s.header.Get(k) != req.Header.Get(k) {
						t.Errorf("PUT %s: the app saw %s %q, sent %q", path, k, s.header.Get(k), req.Header.Get(k))
					}
				}
				if !slices.Equal(s.header.Values("X-Multi"), []string{"1", "2"}) {
					t.Errorf("PUT %s: the app saw X-Multi %v, sent [1 2]", path, s.header.Values("X-Multi"))
				}
			}
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
