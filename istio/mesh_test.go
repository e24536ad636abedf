package istio

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshprobe/meshprobe/internal/testing/envoyrun"
)

// releases are the claimed Envoy releases the tests run in (the newest and
// the oldest, as the e2e scenarios), installed by `make envoy`. Without
// them the tests skip loudly; MESHPROBE_REQUIRE_ENVOY=1 (CI) fails instead.
func releases(t *testing.T) []envoyrun.Release {
	root := projectRoot
	vs, err := envoyrun.Versions(root)
	if err != nil {
		t.Fatal(err)
	}
	have, missing, err := envoyrun.Installed(root, envoyrun.Tested(vs))
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		msg := "Envoy " + strings.Join(missing, ", ") + " is not installed (make envoy)"
		if os.Getenv("MESHPROBE_REQUIRE_ENVOY") == "1" {
			t.Fatal(msg)
		}
		if len(have) == 0 {
			t.Skip("SKIPPED: " + msg)
		}
		t.Logf("SKIPPED in %s: %s", strings.Join(missing, ", "), msg)
	}
	return have
}

// TestIstio runs the shipped envoy/istio setup, as Istio's own code turns it
// into the sidecar's configuration, in each tested Envoy release.
func TestIstio(t *testing.T) {
	for _, r := range releases(t) {
		t.Run(r.Version, func(t *testing.T) {
			m := startMesh(t, meshOptions{release: r, manifests: allManifests})
			waitFor(t, "/health/probes/readiness", 200, 30*time.Second)

			t.Run("config accepted", m.testConfigAccepted)
			t.Run("kubelet probes", m.testKubeletProbes)
			t.Run("identity", m.testIdentity)
			t.Run("dependencies", m.testDependencies)
			t.Run("failures", m.testFailures)
			t.Run("push", m.testPush)
		})
	}
}

// testConfigAccepted: Envoy took everything Istio sent, and meshprobe sits
// on the inbound HTTP chain of the app port before Istio's authentication
// and authorization, its configuration and fail strategy as shipped.
const wide, workload = "istio-system.meshprobe", "shop.meshprobe-catalog"

func (m *harness) testConfigAccepted(t *testing.T) {
	stats, err := m.envoy.AdminGet("/stats")
	if err != nil {
		t.Fatal(err)
	}
	// Istio's stats matcher keeps LDS and CDS stats (not ECDS's: a rejected
	// extension shows in the log).
	for _, name := range []string{"listener_manager.lds.update_rejected", "cluster_manager.cds.update_rejected"} {
		if !strings.Contains(stats, name+": 0\n") {
			t.Errorf("Envoy's %s is not 0 (or missing): Envoy rejected Istio's configuration", name)
		}
	}
	m.checkLog(t)

	dump := m.configDump(t)
	var chain []string // an HTTP chain's filters, for the extensions' names
	for _, c := range dump.inboundChains(t, 8080) {
		if len(c.filters) == 0 {
			continue
		}
		chain = c.filters
		t.Logf("inbound chain %s (%s): %s", c.name, c.transport, strings.Join(c.filters, " → "))
		iWorkload, iWide := pluginFilter(c.filters, workload), pluginFilter(c.filters, wide)
		if iWorkload < 0 || iWide < 0 {
			t.Fatalf("chain %s: both WasmPlugins must be on it, got %v", c.name, c.filters)
		}
		if iWorkload > iWide {
			t.Errorf("chain %s: the per-workload plugin (priority 100) must come before the mesh-wide one (10): %v", c.name, c.filters)
		}
		if !slices.ContainsFunc(c.filters, isAuthFilter) {
			t.Errorf("chain %s: Istio's authorization filter is missing under an AuthorizationPolicy: %v", c.name, c.filters)
		}
		for i, f := range c.filters {
			if isAuthFilter(f) && i < iWide {
				t.Errorf("chain %s: %s comes before meshprobe: %v", c.name, f, c.filters)
			}
		}
	}
	if chain == nil {
		t.Fatal("port 8080 has no HTTP filter chain")
	}

	for name, want := range map[string]string{workload: "wasmplugin-catalog.yaml", wide: "wasmplugin-mesh-wide.yaml"} {
		ext := dump.extension(t, chain[pluginFilter(chain, name)])
		if ext.FailurePolicy != "FAIL_OPEN" {
			t.Errorf("%s: failure policy %q, want FAIL_OPEN (failStrategy: FAIL_OPEN)", name, ext.FailurePolicy)
		}
		// The agent's conversion pulled make oci's image from the registry
		// and points the filter at the plugin it held.
		if got, err := os.ReadFile(ext.Code); err != nil || !strings.HasPrefix(ext.Code, filepath.Join(m.dir, "wasm-cache")) || !bytes.Equal(got, m.code) {
			t.Errorf("%s: the module Envoy loads is %q (%v), want build/meshprobe.wasm pulled into the agent's cache", name, ext.Code, err)
		}
		var shipped, got any
		js, _ := json.Marshal(pluginConfigMap(t, readManifests(t, want)[0]))
		json.Unmarshal(js, &shipped)
		if err := json.Unmarshal([]byte(ext.Configuration), &got); err != nil {
			t.Fatalf("%s: configuration %q: %v", name, ext.Configuration, err)
		}
		if !reflect.DeepEqual(shipped, got) {
			t.Errorf("%s: configuration changed on the way:\nshipped %s\ngot     %s", name, js, ext.Configuration)
		}
	}
}

// checkLog: Envoy's log holds no wasm error, crash or refused host call,
// no rejected configuration, and no warning from meshprobe.
func (m *harness) checkLog(t *testing.T) {
	for _, bad := range envoyrun.LogProblems(m.envoy.Log()) {
		t.Errorf("Envoy's log: %s", bad)
	}
	for _, l := range strings.Split(m.envoy.Log(), "\n") {
		warned := strings.Contains(l, "\twarning\t") || strings.Contains(l, "\terror\t")
		if warned && (strings.Contains(l, "meshprobe") || strings.Contains(l, "rejected")) {
			t.Errorf("Envoy's log: %s", l)
		}
	}
}

// isAuthFilter: Istio's authentication and authorization filters.
func isAuthFilter(name string) bool {
	return strings.Contains(name, "rbac") || strings.Contains(name, "authn") || strings.Contains(name, "jwt")
}

// testKubeletProbes: kubelet's plaintext probes on the app port reach
// meshprobe, and other paths reach the app.
func (m *harness) testKubeletProbes(t *testing.T) {
	for _, c := range m.pod.Spec.Containers {
		if c.Name != "catalog" {
			continue
		}
		for _, p := range []struct {
			kind string
			path string
		}{{"startup", c.StartupProbe.HTTPGet.Path}, {"readiness", c.ReadinessProbe.HTTPGet.Path}, {"liveness", c.LivenessProbe.HTTPGet.Path}} {
			code, body, err := probe(p.path)
			if err != nil || code != 200 || !strings.Contains(body, `"status":"up"`) {
				t.Errorf("%s probe %s: %d %q (%v), want meshprobe's 200", p.kind, p.path, code, body, err)
			}
		}
	}
	// Other paths pass meshprobe untouched and meet Istio's authorization:
	// plaintext has no principal and is refused, a mesh client reaches the app.
	before := m.app.hits.Load()
	if code, body, err := probe("/catalog/items"); err != nil || code != 403 || !strings.Contains(body, "RBAC") {
		t.Errorf("kubelet GET /catalog/items: %d %q (%v), want RBAC's 403", code, body, err)
	}
	code, body, err := get(m.meshClient(t, frontendID), "/catalog/items")
	if err != nil || code != 200 || body != "app: GET /catalog/items" {
		t.Errorf("mesh client GET /catalog/items: %d %q (%v), want the app's answer", code, body, err)
	}
	if n := m.app.hits.Load() - before; n != 1 {
		t.Errorf("the app saw %d requests, want 1", n)
	}
}

// pluginFilter is the index in chain of the filter Istio made of the
// WasmPlugin NAMESPACE.NAME ("extensions.istio.io/<kind>/NAMESPACE.NAME",
// with a suffix when translated), or -1.
func pluginFilter(chain []string, nsName string) int {
	return slices.IndexFunc(chain, func(f string) bool {
		_, rest, ok := strings.Cut(f, "/"+nsName)
		return ok && (rest == "" || rest[0] == '~')
	})
}
