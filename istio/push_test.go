package istio

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Addresses on the node's side of the pod's link: the monitoring agent the
// pushed configuration lets in, and another client it does not.
const (
	monitorAddr  = nodeAddr
	strangerAddr = "10.244.7.3"
)

// pushedCatalog is the shipped per-workload WasmPlugin with a changed
// pluginConfig, as an operator would roll one out: the Kubernetes dialect,
// details and drain for the node's monitoring agent by address, and a
// check on a service the mesh does not have.
func pushedCatalog(t *testing.T, wasmURL string) string {
	doc := withWasmURL(readManifests(t, "wasmplugin-catalog.yaml")[0], wasmURL)
	for _, r := range []struct{ old, new string }{
		{`dialects: ["standard"]`, `dialects: ["standard", "kubernetes"]`},
		{"      expose: authorized\n", "      expose: authorized\n      allow_cidrs: [\"" + monitorAddr + "/32\"]\n"},
		{"    details:\n", "    - name: ghost\n      kind: http\n      cluster: \"outbound|8080||ghost.shop.svc.cluster.local\"\n      type: soft\n    drain:\n      enabled: true\n    details:\n"},
	} {
		if !strings.Contains(doc, r.old) {
			t.Fatalf("wasmplugin-catalog.yaml no longer holds %q", r.old)
		}
		doc = strings.Replace(doc, r.old, r.new, 1)
	}
	return doc
}

// testPush: a changed WasmPlugin, pushed by istiod over ECDS, keeps
// readiness 200 for a probe every 10 ms throughout, and then serves the new
// configuration.
func (m *harness) testPush(t *testing.T) {
	var stop atomic.Bool
	var wg sync.WaitGroup
	var probes, bad atomic.Int64
	var firstBad atomic.Value
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			code, body, err := probe("/health/probes/readiness")
			probes.Add(1)
			if code != 200 {
				if bad.Add(1) == 1 {
					firstBad.Store(strings.TrimSpace(body) + " " + errString(err))
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	m.apply(t, pushedCatalog(t, m.url))
	waitFor(t, "/readyz", 200, 20*time.Second) // the kubernetes dialect: the new configuration serves
	time.Sleep(time.Second)                    // and keeps serving
	stop.Store(true)
	wg.Wait()
	if bad.Load() > 0 {
		t.Errorf("%d of %d readiness probes during the push were not 200; first: %v", bad.Load(), probes.Load(), firstBad.Load())
	}
	t.Logf("%d readiness probes during the push, all 200", probes.Load())
	m.checkLog(t)

	t.Run("details by address", m.testDetailsByAddress)
	t.Run("missing cluster", m.testMissingCluster)
	t.Run("drain", m.testDrain)
	t.Run("two plugins", m.testTwoPlugins)
}

// testDetailsByAddress: under Istio's inbound listener, source.address is
// the real peer: the node's monitoring agent is let in by allow_cidrs;
// another address is not, nor is it by claiming the agent's address in
// x-forwarded-for; and the agent itself loses it when it sends one (Envoy
// then takes the address from the header, with port 0).
func (m *harness) testDetailsByAddress(t *testing.T) {
	monitor, stranger := m.nodeClient(t, monitorAddr), m.nodeClient(t, strangerAddr)
	for _, c := range []struct {
		name string
		code int
		do   func() (int, string, error)
	}{
		{"monitoring agent", 200, func() (int, string, error) { return get(monitor, "/health/info") }},
		{"stranger", 403, func() (int, string, error) { return get(stranger, "/health/info") }},
		{"stranger claiming the agent's address", 403, func() (int, string, error) {
			return get(stranger, "/health/info", "X-Forwarded-For", monitorAddr)
		}},
		{"monitoring agent behind a forwarded-for", 403, func() (int, string, error) {
			return get(monitor, "/health/info", "X-Forwarded-For", monitorAddr)
		}},
	} {
		if code, body, err := c.do(); err != nil || code != c.code {
			t.Errorf("%s: GET /health/info: %d %q (%v), want %d", c.name, code, body, err, c.code)
		}
	}
}

// testMissingCluster: a check on a cluster the proxy does not have says so,
// naming it.
func (m *harness) testMissingCluster(t *testing.T) {
	want := `mesh: the proxy refused the call to cluster "outbound|8080||ghost.shop.svc.cluster.local" (unknown cluster or malformed request)`
	var got depState
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if got = m.dependencies(t, m.nodeClient(t, monitorAddr))["ghost"]; got.Message == want {
			return
		}
	}
	t.Errorf("check ghost: %+v, want down with message %q", got, want)
}

// testDrain: the monitoring agent drains the pod (readiness 503 draining,
// liveness 200) and undoes it; a stranger may not.
func (m *harness) testDrain(t *testing.T) {
	monitor, stranger := m.nodeClient(t, monitorAddr), m.nodeClient(t, strangerAddr)
	if code, _, err := do(stranger, "POST", "/health/drain"); code != 403 {
		t.Errorf("stranger POST /health/drain: %d (%v), want 403", code, err)
	}
	if code, body, err := do(monitor, "POST", "/health/drain"); code != 200 {
		t.Fatalf("POST /health/drain: %d %q (%v)", code, body, err)
	}
	waitForBody(t, "/health/probes/readiness", `"reason":"draining"`, 5*time.Second)
	if code, _, _ := probe("/health/probes/liveness"); code != 200 {
		t.Errorf("liveness while draining: %d, want 200", code)
	}
	if code, body, err := do(monitor, "DELETE", "/health/drain"); code != 200 {
		t.Fatalf("DELETE /health/drain: %d %q (%v)", code, body, err)
	}
	waitFor(t, "/health/probes/readiness", 200, 5*time.Second)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
