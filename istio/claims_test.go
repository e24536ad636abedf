package istio

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestIstioClaimsBreak breaks, one at a time, each piece of the shipped
// setup that docs/istio.md says kubelet's probes need, and shows the
// harness sees the failure the docs predict: so the passing TestIstio is
// proof, not luck. The newest claimed Envoy only.
func TestIstioClaimsBreak(t *testing.T) {
	r := releases(t)[0]
	for _, c := range []struct {
		name string
		edit func(doc string) string
		// broken says whether the symptom shows, and what was seen.
		broken func(m *harness) (bool, string)
		url    string // the WasmPlugins' url, if not the harness registry's
	}{
		{"probe rewriting left on", drop("sidecar.istio.io/rewriteAppHTTPProbers"), func(m *harness) (bool, string) {
			// The injector moved the probes to its agent (absent here): the
			// pod's readiness probe no longer names meshprobe's path.
			p := m.pod.Spec.Containers[0].ReadinessProbe.HTTPGet
			return p.Path != "/health/probes/readiness", p.Path + " on " + p.Port.String()
		}, ""},
		{"no PeerAuthentication (STRICT mTLS)", dropKind("PeerAuthentication", "catalog-probes"), func(m *harness) (bool, string) {
			code, body, err := probe("/health/probes/liveness")
			return err != nil, strconv.Itoa(code) + " " + strings.TrimSpace(body) + " " + errString(err)
		}, ""},
		{"no Sidecar (ORIGINAL_DST inbound cluster)", dropKind("Sidecar", "catalog-inbound"), func(m *harness) (bool, string) {
			msg := ""
			for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
				msg = m.dependencies(t, m.meshClient(t, monitoringID))["app"].Message
				if strings.Contains(msg, `cluster "inbound|8080||" (no healthy upstream`) {
					return true, msg
				}
			}
			return false, msg
		}, ""},
		{"phase STATS (after Istio's RBAC)", replace("phase: AUTHN", "phase: STATS"), func(m *harness) (bool, string) {
			code, body, err := probe("/health/probes/liveness")
			return code == 403, strings.TrimSpace(body) + " " + errString(err)
		}, ""},
		// failStrategy FAIL_OPEN: a module the agent cannot pull becomes
		// an allow-all filter, not a deny-all: the app's traffic flows.
		{"module not pullable (FAIL_OPEN)", nil, func(m *harness) (bool, string) {
			for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
				code, body, err := get(m.meshClient(t, frontendID), "/catalog/items")
				pcode, pbody, _ := probe("/health/probes/liveness")
				if err == nil && code == 200 && pcode == 403 && strings.Contains(pbody, "RBAC") {
					return true, "app: " + body + "; probe: " + pbody
				}
			}
			return false, "no allow-all in meshprobe's place"
		}, "oci://127.0.0.1:1/meshprobe/meshprobe:0.1.0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := startMesh(t, meshOptions{release: r, manifests: allManifests, edit: c.edit, wasmURL: c.url})
			time.Sleep(time.Second) // the listeners and extensions are pushed
			if ok, seen := c.broken(m); !ok {
				t.Errorf("the harness did not see this break: %s", seen)
			} else {
				t.Logf("seen: %s", seen)
			}
		})
	}
}

// drop removes every line holding s.
func drop(s string) func(string) string {
	return func(doc string) string {
		var out []string
		for _, l := range strings.Split(doc, "\n") {
			if !strings.Contains(l, s) {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\n")
	}
}

// dropKind empties the document of that kind and name.
func dropKind(kind, name string) func(string) string {
	return func(doc string) string {
		if strings.Contains(doc, "kind: "+kind+"\n") && strings.Contains(doc, "name: "+name+"\n") {
			return "# dropped " + kind + " " + name
		}
		return doc
	}
}

func replace(old, new string) func(string) string {
	return func(doc string) string { return strings.ReplaceAll(doc, old, new) }
}
