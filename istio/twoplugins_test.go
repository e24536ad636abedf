package istio

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// testTwoPlugins: the mesh-wide and the per-workload WasmPlugin run in
// the same VMs (TestIstioPluginVMs) and share Envoy's shared data, which
// Envoy scopes by vm_id, and Istio gives both the same (none). They
// do not clash because every key meshprobe writes starts with the plugin's
// name, which Istio makes NS.NAME: draining one plugin leaves the other
// ready.
func (m *harness) testTwoPlugins(t *testing.T) {
	dump := m.configDump(t)
	chain := dump.inboundChains(t, 8080)[0].filters
	w, c := dump.extension(t, chain[pluginFilter(chain, wide)]), dump.extension(t, chain[pluginFilter(chain, workload)])
	if w.VMID != "" || c.VMID != "" {
		t.Errorf("vm_id %q and %q: Istio set one; the shared-data scoping below assumed none", w.VMID, c.VMID)
	}
	if !strings.HasPrefix(w.Name, wide+"~") || !strings.HasPrefix(c.Name, workload+"~") {
		t.Errorf("plugin names %q and %q, want %s~… and %s~…: meshprobe's shared-data keys start with them", w.Name, c.Name, wide, workload)
	}

	// Move the mesh-wide plugin to a base path of its own, so that both
	// answer: draining one leaves the other ready.
	wideDoc := withWasmURL(readManifests(t, "wasmplugin-mesh-wide.yaml")[0], m.url)
	if !strings.Contains(wideDoc, "base_path: /health\n") {
		t.Fatal("wasmplugin-mesh-wide.yaml no longer sets base_path /health")
	}
	m.apply(t, strings.Replace(wideDoc, "base_path: /health\n", "base_path: /mesh\n", 1))
	defer m.apply(t, wideDoc)
	waitFor(t, "/mesh/probes/readiness", 200, 20*time.Second)

	monitor := m.nodeClient(t, monitorAddr)
	if code, body, err := do(monitor, "POST", "/health/drain"); code != 200 {
		t.Fatalf("POST /health/drain: %d %q (%v)", code, body, err)
	}
	waitForBody(t, "/health/probes/readiness", `"reason":"draining"`, 5*time.Second)
	// A shared proxy record would reach the mesh-wide plugin's summary at
	// its next tick (within a second): watch a few.
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if code, body, err := probe("/mesh/probes/readiness"); code != 200 {
			t.Errorf("the mesh-wide plugin's readiness while the workload's drains: %d %q (%v), want 200", code, body, err)
			break
		}
	}
	if code, body, err := do(monitor, "DELETE", "/health/drain"); code != 200 {
		t.Fatalf("DELETE /health/drain: %d %q (%v)", code, body, err)
	}
	waitFor(t, "/health/probes/readiness", 200, 5*time.Second)
}

// TestIstioPluginVMs: what a second WasmPlugin on a workload costs. A
// WasmPlugin gets a base VM, one on the main thread and one per worker (4
// here). Istio leaves vm_id empty, both plugins load the same module, and
// the agent's conversion strips the environment variables Istio puts on
// each (pull policy, resource version): their VM configurations are equal,
// so Envoy runs both in the same VMs (two root contexts each, which
// testTwoPlugins then exercises), in every claimed release.
func TestIstioPluginVMs(t *testing.T) {
	for _, r := range releases(t) {
		t.Run(r.Version, func(t *testing.T) {
			var vms, heap [2]int
			for i, c := range []struct {
				manifests []string
				plugins   []string
			}{
				{[]string{"wasmplugin-catalog.yaml", "sidecar-catalog-inbound.yaml", "peerauthentication-catalog-probes.yaml"}, []string{workload}},
				{allManifests, []string{workload, wide}},
			} {
				t.Run(strings.TrimSuffix(c.manifests[0], ".yaml"), func(t *testing.T) {
					m := startMesh(t, meshOptions{release: r, manifests: c.manifests})
					waitFor(t, "/health/probes/readiness", 200, 30*time.Second)
					// Both extensions are in: their VMs are made.
					chain := m.configDump(t).inboundChains(t, 8080)[0].filters
					for _, p := range c.plugins {
						m.configDump(t).extension(t, chain[pluginFilter(chain, p)])
					}
					const active = "wasm.envoy.wasm.runtime.v8.active"
					stats, err := m.envoy.AdminGet("/stats?filter=^" + strings.ReplaceAll(active, ".", "\\.") + "$")
					if err != nil {
						t.Fatal(err)
					}
					vms[i] = statValue(stats, active)
					mem, _ := m.envoy.AdminGet("/memory")
					var h struct {
						Allocated int `json:"allocated,string"`
					}
					json.Unmarshal([]byte(mem), &h)
					heap[i] = h.Allocated
				})
			}
			t.Logf("VMs: %d with one WasmPlugin, %d with both; Envoy's heap %.1f MiB, then %.1f MiB",
				vms[0], vms[1], float64(heap[0])/(1<<20), float64(heap[1])/(1<<20))
			if vms[0] != 4 || vms[1] != 4 {
				t.Errorf("VMs: %d with one WasmPlugin, %d with both; want 4 (2 workers, main thread, base) for both", vms[0], vms[1])
			}
		})
	}
}
