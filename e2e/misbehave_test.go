package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshprobe/meshprobe/internal/buildstep/wasmshim"
	"github.com/meshprobe/meshprobe/internal/testing/envoyrun"
	"github.com/meshprobe/meshprobe/internal/testing/wasmhost"
)

// buildMisbehave builds e2e/testdata/misbehave with extra ldflags, like the
// plugin (poll_oneoff provided, so it survives a collection in any claimed
// Envoy), and returns the .wasm's absolute path; the toolchain's own output
// stays beside it as misbehave.go.wasm.
func buildMisbehave(t *testing.T, ldflags string) string {
	t.Helper()
	dir := t.TempDir()
	out, built := filepath.Join(dir, "misbehave.wasm"), filepath.Join(dir, "misbehave.go.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags", "-s -w "+ldflags, "-o", built, "./testdata/misbehave")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the misbehave plugin: %v\n%s", err, b)
	}
	mod, err := os.ReadFile(built)
	if err == nil {
		mod, err = wasmshim.ProvidePollOneoff(mod)
	}
	if err == nil {
		err = os.WriteFile(out, mod, 0o644)
	}
	if err != nil {
		t.Fatalf("providing poll_oneoff in the misbehave plugin: %v", err)
	}
	return out
}

// A plugin that calls a host function while _initialize runs is refused
// with "restricted_callback": Envoy fails the VM and will not load the
// configuration, and internal/testing/wasmhost, which mirrors the rule, refuses it too. The log check after every Envoy run
// (envoyrun.LogProblems) looks for exactly this line, so meshprobe's own runs
// prove it makes no such call.
func TestRestrictedCallAtInitialize(t *testing.T) {
	wasm := buildMisbehave(t, "-X main.initCall=get_property")
	t.Run("host", func(t *testing.T) {
		bin, err := os.ReadFile(wasm)
		if err != nil {
			t.Fatal(err)
		}
		h, err := wasmhost.New(context.Background(), wasmhost.Options{Wasm: bin, Workers: 1})
		if err == nil {
			h.Close()
			t.Fatal("the host loaded a plugin that calls proxy_get_property in _initialize")
		}
		if !strings.Contains(err.Error(), "restricted_callback") {
			t.Errorf("host error %q; want restricted_callback", err)
		}
	})
	eachEnvoy(t, func(t *testing.T, rt runtimeCase) {
		shipped, err := os.ReadFile(filepath.Join("..", "envoy", "envoy.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		js, err := envoyrun.Bootstrap{Shipped: shipped, Wasm: wasm, PluginConfig: "{}"}.JSON()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		e, err := envoyrun.Start(ctx, envoyrun.Options{Binary: rt.bin, Bootstrap: js, Dir: t.TempDir()})
		if err == nil {
			e.Stop()
			t.Fatalf("Envoy loaded a plugin that calls proxy_get_property in _initialize:\n%s", e.Tail(30))
		}
		if !strings.Contains(err.Error(), "restricted_callback") {
			t.Errorf("Envoy refused the plugin, but not for restricted_callback:\n%v", err)
		}
		if len(envoyrun.LogProblems(err.Error())) == 0 {
			t.Error("envoyrun.LogProblems does not flag Envoy's restricted_callback error")
		}
	})
}

// The shipped configuration sets failure_policy FAIL_OPEN: when the
// plugin's VM fails, Envoy skips the filter, so the app's traffic flows on
// and health paths reach the app instead of every request failing with 503.
func TestEnvoyFailurePolicyOfTheShippedConfig(t *testing.T) {
	wasm := buildMisbehave(t, "")
	eachEnvoy(t, func(t *testing.T, rt runtimeCase) {
		app := newHTTPPeer(t, "app", "")
		// One worker, one VM: the crash takes the plugin out for every request.
		px := rt.envoy(t, "{}", map[string]upstream{"app": {Addr: app.addr()}},
			envoyOptions{wasm: wasm, workers: 1, wasmErrorsExpected: true, unscoped: true})
		if code, body := get(t, px.base+"/health/probes/liveness"); code != 200 || body != "misbehave" {
			t.Fatalf("before the crash, liveness = %d %q; want the plugin's 200", code, body)
		}
		if resp, err := client.Get(px.base + "/crash"); err == nil {
			resp.Body.Close()
		}
		if !strings.Contains(px.e.Log(), "misbehave: crashing on request") {
			t.Fatalf("the plugin did not crash; log tail:\n%s", px.e.Tail(20))
		}
		for _, path := range []string{"/health/probes/liveness", "/api/orders"} {
			if code, body := get(t, px.base+path); code != 200 || body != "app" {
				t.Errorf("after the crash, %s = %d %q; want the app's 200 (the filter skipped)", path, code, body)
			}
		}
	})
}
