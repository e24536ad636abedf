package istio

import (
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshprobe/meshprobe/checks"
)

// scopeManifest is the EnvoyFilter `meshprobe-config envoyfilter -port
// 8080` makes of both WasmPlugins: meshprobe on catalog's port 8080 only
// on the paths the plugins answer.
const scopeManifest = "envoyfilter-catalog-health-routes.yaml"

// TestIstioScoped: with the shipped EnvoyFilter, Istio's default route on
// catalog's inbound chains skips both plugins' filters, and one route per
// health path comes before it; kubelet's probes on every path
// the plugin answers (with a trailing "/" or a query) get meshprobe's
// answers, other paths never enter the plugin. A plugin whose paths
// change without a new EnvoyFilter is no longer reached on them.
func TestIstioScoped(t *testing.T) {
	for _, r := range releases(t) {
		t.Run(r.Version, func(t *testing.T) {
			m := startMesh(t, meshOptions{release: r, manifests: append(slices.Clone(allManifests), scopeManifest)})
			waitFor(t, "/health/probes/readiness", 200, 30*time.Second)
			m.checkLog(t)
			catalog := pluginConfig(t, readManifests(t, "wasmplugin-catalog.yaml")[0])
			paths := checks.ExactPaths(catalog.Routes)
			m.checkScopedConfig(t, len(paths))

			for _, p := range paths {
				for _, path := range []string{p, p + "?x=1"} {
					if code, body, err := probe(path); err != nil || code == 404 || strings.Contains(body, "RBAC") {
						t.Errorf("kubelet GET %s: %d %q (%v), want meshprobe's answer", path, code, body, err)
					}
				}
			}
			// Near misses skip the plugin: plaintext meets RBAC, a mesh
			// client reaches the app.
			for _, path := range []string{"/health/probes/readinessx", "/health/probes", "/HEALTH/up"} {
				if code, body, err := probe(path); err != nil || code != 403 || !strings.Contains(body, "RBAC") {
					t.Errorf("kubelet GET %s: %d %q (%v), want RBAC's 403", path, code, body, err)
				}
			}
			if code, body, err := get(m.meshClient(t, frontendID), "/health/probes/readinessx"); err != nil || code != 200 || !strings.HasPrefix(body, "app: ") {
				t.Errorf("mesh client GET /health/probes/readinessx: %d %q (%v), want the app's answer", code, body, err)
			}

			// The catalog plugin moves to /hc: without a new EnvoyFilter its
			// probes never reach it (RBAC answers); the regenerated one
			// routes them to it.
			moved := strings.Replace(withWasmURL(readManifests(t, "wasmplugin-catalog.yaml")[0], m.url),
				"base_path: /health\n", "base_path: /hc\n", 1)
			m.apply(t, moved)
			waitUntil(t, "/health/dependencies", 20*time.Second, func(_ int, body string) bool {
				return !strings.Contains(body, `"app"`)
			}, "the mesh-wide plugin answering /health alone")
			if code, body, err := probe("/hc/probes/readiness"); err != nil || code != 403 || !strings.Contains(body, "RBAC") {
				t.Errorf("kubelet GET /hc/probes/readiness with a stale EnvoyFilter: %d %q (%v), want RBAC's 403", code, body, err)
			}
			m.apply(t, envoyFilterFor(t, m.dir, moved))
			waitFor(t, "/hc/probes/readiness", 200, 20*time.Second)
			m.checkLog(t)
		})
		// An Istio that names the filters otherwise: the default route's
		// FilterConfig names no filter, Envoy takes it, and the plugins run
		// on every request as without the EnvoyFilter.
		t.Run(r.Version+"/stale filter names", func(t *testing.T) {
			m := startMesh(t, meshOptions{release: r, manifests: append(slices.Clone(allManifests), scopeManifest),
				edit: func(doc string) string { return strings.ReplaceAll(doc, "~istio-translated-wasmplugin", "~renamed") }})
			waitFor(t, "/health/probes/readiness", 200, 30*time.Second)
			m.testConfigAccepted(t)
			if code, body, err := get(m.meshClient(t, frontendID), "/catalog/items"); err != nil || code != 200 {
				t.Errorf("mesh client GET /catalog/items: %d %q (%v), want the app's answer", code, body, err)
			}
		})
	}
}

// checkScopedConfig: on both chains of port 8080, Istio's default route
// disables both plugins' filters, and before it come the n health routes,
// routed as the default route is, leaving the filters on.
func (m *harness) checkScopedConfig(t *testing.T, n int) {
	checked := 0
	defer func() {
		if checked != 2 {
			t.Errorf("%d HTTP chains on port 8080 checked, want 2 (mTLS and plaintext)", checked)
		}
	}()
	for _, c := range m.configDump(t).inboundChains(t, 8080) {
		if len(c.filters) == 0 {
			continue
		}
		checked++
		if len(c.routes) != n+1 {
			t.Fatalf("chain %s: %d routes, want %d health routes and Istio's default", c.name, len(c.routes), n)
		}
		def := c.routes[n]
		if path(def, "name") != "default" {
			t.Fatalf("chain %s: the last route is %v, want Istio's default", c.name, path(def, "name"))
		}
		for _, name := range []string{wide, workload} {
			f := c.filters[pluginFilter(c.filters, name)]
			if path(def, "typed_per_filter_config", f, "disabled") != true {
				t.Errorf("chain %s: the default route does not disable %s: %v", c.name, f, path(def, "typed_per_filter_config"))
			}
		}
		for _, r := range c.routes[:n] {
			if !reflect.DeepEqual(path(r, "route"), path(def, "route")) {
				t.Errorf("chain %s: route %v routes %v, Istio's default %v", c.name, path(r, "match"), path(r, "route"), path(def, "route"))
			}
			if per := path(r, "typed_per_filter_config"); per != nil {
				t.Errorf("chain %s: route %v has per-filter configuration %v", c.name, path(r, "match"), per)
			}
		}
	}
}

// envoyFilterFor runs meshprobe-config envoyfilter on the mesh-wide
// plugin and catalog (the document given), as an operator would after
// changing a plugin's paths.
func envoyFilterFor(t *testing.T, dir, catalog string) string {
	t.Helper()
	file := dir + "/catalog-plugin.yaml"
	if err := os.WriteFile(file, []byte(catalog), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", "./cmd/meshprobe-config", "envoyfilter", "-port", "8080",
		manifestDir+"/wasmplugin-mesh-wide.yaml", file)
	cmd.Dir = projectRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("meshprobe-config envoyfilter: %v", err)
	}
	return string(out)
}
