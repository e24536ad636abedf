package istio

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// testIdentity: /health/up shows the identity Istio's node metadata
// carries (the pod's app and version labels, its namespace, the cluster
// id), beside the configured env; /health/info, details-gated, too.
func (m *harness) testIdentity(t *testing.T) {
	code, body, err := probe("/health/up")
	if err != nil || code != 200 {
		t.Fatalf("GET /health/up: %d %q (%v)", code, body, err)
	}
	var up map[string]any
	if err := json.Unmarshal([]byte(body), &up); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"service_name": "catalog", "version": "v1", "env": "prod",
		"namespace": "shop", "cluster": "Kubernetes"} {
		if up[k] != want {
			t.Errorf("/health/up %s = %v, want %q (from Istio's node metadata); body %s", k, up[k], want, body)
		}
	}
	code, info, err := get(m.meshClient(t, monitoringID), "/health/info")
	if err != nil || code != 200 || !strings.Contains(info, `"namespace":"shop"`) || !strings.Contains(info, `"cluster":"Kubernetes"`) {
		t.Errorf("monitoring GET /health/info: %d %q (%v), want the identity", code, info, err)
	}
}

// testDependencies: every check reaches its dependency through the cluster
// the manifest names: the app's inbound cluster (made STATIC by the
// Sidecar), outbound services for the HTTP and gRPC dependencies, and the
// HSM gateway over Istio's mTLS (auto-mTLS from the endpoint's label).
func (m *harness) testDependencies(t *testing.T) {
	deps := m.dependencies(t, m.meshClient(t, monitoringID))
	for _, name := range []string{"app", "catalog-db", "pricing", "hsm"} {
		if d := deps[name]; d.Status != "up" {
			t.Errorf("check %s: %+v, want up", name, d)
		}
	}
	// Istio's stats matcher drops per-cluster stats; the dependencies say
	// what reached them: the HSM gateway saw catalog's own mesh identity.
	for name, want := range map[string]request{
		"catalog-db": {host: "catalog-db.shop.svc.cluster.local:8080"},
		"hsm":        {host: "hsm-gateway.hsm.svc.cluster.local:8080", peer: catalogID},
	} {
		if got := m.seen[name].Load(); got == nil || *got != want {
			t.Errorf("%s saw %+v, want %+v", name, got, want)
		}
	}
	// The stats meshprobe defines are kept by Istio's matcher (its
	// inclusion prefix "wasm" covers wasmcustom).
	stats, err := m.envoy.AdminGet("/stats?filter=meshprobe_check_up")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"app", "catalog-db", "pricing", "hsm"} {
		if statValue(stats, "wasmcustom.meshprobe_check_up.check="+name) != 1 {
			t.Errorf("Envoy's stats lack meshprobe_check_up for %s = 1:\n%s", name, stats)
		}
	}
}

// testFailures: a hard dependency (the app) failing takes readiness down,
// and back up when it recovers; liveness never moves. A soft one (the
// database) only degrades /health/dependencies.
func (m *harness) testFailures(t *testing.T) {
	m.deps["catalog-db"].Set(true)
	m.app.failing.Store(true)
	// interval 10s with 10% jitter; failure_threshold 2 (app), 3 (default)
	waitFor(t, "/health/probes/readiness", 503, 30*time.Second)
	if code, body, _ := probe("/health/probes/readiness"); !strings.Contains(body, `"reason":"dependencies"`) {
		t.Errorf("readiness: %d %q, want reason dependencies", code, body)
	}
	waitForBody(t, "/health/dependencies", `"catalog-db":{"name":"catalog-db","type":"soft","status":"down"}`, 40*time.Second)
	if code, _, err := probe("/health/probes/liveness"); code != 200 {
		t.Errorf("liveness moved with a dependency: %d (%v)", code, err)
	}
	m.app.failing.Store(false)
	waitFor(t, "/health/probes/readiness", 200, 30*time.Second)
	if code, body, _ := probe("/health/dependencies"); !strings.Contains(body, `{"status":"degraded"`) {
		t.Errorf("/health/dependencies with only the soft check down: %d %q, want degraded", code, body)
	}
	m.deps["catalog-db"].Set(false)
	waitForBody(t, "/health/dependencies", `{"status":"up"`, 30*time.Second)
}

type depState struct{ Status, Message string }

// dependencies reads /health/dependencies with client c.
func (m *harness) dependencies(t *testing.T, c *http.Client) map[string]depState {
	t.Helper()
	code, body, err := get(c, "/health/dependencies")
	if err != nil || code >= 500 && code != 503 {
		t.Fatalf("GET /health/dependencies: %d %q (%v)", code, body, err)
	}
	var doc struct {
		Dependencies map[string]depState `json:"dependencies"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("/health/dependencies: %v: %q", err, body)
	}
	return doc.Dependencies
}

// statValue is the value of the stat named name in Envoy's /stats text.
func statValue(stats, name string) int {
	for _, l := range strings.Split(stats, "\n") {
		if n, v, ok := strings.Cut(l, ": "); ok && n == name {
			var x int
			json.Unmarshal([]byte(v), &x)
			return x
		}
	}
	return 0
}
