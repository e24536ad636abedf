package istio

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pilot/test/xds"

	"github.com/meshprobe/meshprobe/checks"
	"github.com/meshprobe/meshprobe/internal/demo"
	"github.com/meshprobe/meshprobe/internal/testing/envoyrun"
)

// The pod and the node, on a veth pair of the test's own: kubelet and the
// dependencies sit on the host side, the pod (its app and its sidecar
// Envoy) in a network namespace. Nothing leaves this machine.
const (
	nodeAddr = "10.244.7.1"
	podAddr  = "10.244.7.2"
	// The proxy user the injector's template and istio-iptables agree on.
	proxyUID = 1337
	// The identity the injected pod gets (its Deployment names no account).
	catalogID = "spiffe://cluster.local/ns/shop/sa/default"
	// The identity the shipped details policy lets in.
	monitoringID = "spiffe://cluster.local/ns/monitoring/sa/prometheus"
	// Another workload of the mesh: catalog's clients.
	frontendID  = "spiffe://cluster.local/ns/shop/sa/frontend"
	kubeProbeUA = "kube-probe/1.34"
)

// meshOptions says what one run applies.
type meshOptions struct {
	release envoyrun.Release
	// manifests are the files of envoy/istio applied (the Deployment and
	// its Service always are).
	manifests []string
	// edit, if set, changes a manifest document before it is applied
	// (the tests that break a claim on purpose).
	edit func(doc string) string
	// wasmURL, if set, is the WasmPlugins' url instead of the harness
	// registry's.
	wasmURL string
}

// harness is one pod of the shipped setup: its sidecar Envoy configured by
// Istio's own code, its app, and its dependencies.
type harness struct {
	dir   string
	code  []byte // build/meshprobe.wasm: make oci's image of it is what the WasmPlugins' url names
	url   string // that url: oci://, served by the harness's registry
	pod   *corev1.Pod
	net   *PodNet
	cp    *xds.FakeDiscoveryServer
	envoy *envoyrun.Envoy
	ca    *CA
	app   *app
	deps  map[string]*demo.Dependency // by check name
	seen  map[string]*atomic.Pointer[request]
}

// request is what an HTTP dependency saw of the last check: the authority,
// and the client's SPIFFE id over mTLS.
type request struct{ host, peer string }

// meshPolicies are what a production mesh typically has, and what the
// shipped manifests must work under: STRICT mTLS mesh-wide, and an ALLOW
// policy that admits only mesh identities to catalog. They make Istio put
// its authentication and authorization on catalog's inbound chain.
var meshPolicies = []string{`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
`, `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: catalog-mesh-only, namespace: shop}
spec:
  selector: {matchLabels: {app: catalog}}
  action: ALLOW
  rules:
  - from: [{source: {principals: ["cluster.local/*"]}}]
`}

// allManifests is every file of envoy/istio: both WasmPlugins, the
// Sidecar and the PeerAuthentication.
var allManifests = []string{"wasmplugin-mesh-wide.yaml", "wasmplugin-catalog.yaml",
	"sidecar-catalog-inbound.yaml", "peerauthentication-catalog-probes.yaml"}

// startMesh brings the pod up as a cluster would: injection, the init
// container's redirect, dependencies, istiod's config over ADS, SDS, and the
// sidecar Envoy as the proxy user, ready when this returns.
func startMesh(t *testing.T, o meshOptions) *harness {
	t.Helper()
	m := &harness{deps: map[string]*demo.Dependency{}, seen: map[string]*atomic.Pointer[request]{}}
	var err error
	m.dir, err = os.MkdirTemp("", "meshprobe-istio-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(m.dir) })
	// Envoy runs as the proxy user: it reads and writes here.
	if err := os.Chmod(m.dir, 0o777); err != nil {
		t.Fatal(err)
	}
	// The shipped url names ghcr.io/meshprobe/meshprobe:0.1.0; the
	// harness's registry serves that repository and tag.
	if m.code, err = os.ReadFile(filepath.Join(projectRoot, "build", "meshprobe.wasm")); err != nil {
		t.Fatalf("the plugin (make build): %v", err)
	}
	url, stopRegistry, err := Registry(m.code, "meshprobe/meshprobe", "0.1.0")
	if err != nil {
		t.Fatalf("the plugin's image: %v", err)
	}
	t.Cleanup(stopRegistry)
	m.url = cmp.Or(o.wasmURL, url)

	if o.edit == nil {
		o.edit = func(doc string) string { return doc }
	}
	deployment := strings.Join(readManifests(t, "deployment-catalog.yaml"), "\n---\n")
	m.pod, err = InjectPod([]byte(o.edit(deployment)), "catalog-5d8f7c9b4-x2x7q", podAddr, nodeAddr)
	if err != nil {
		t.Fatalf("Istio's injection: %v", err)
	}
	iptArgs, err := IptablesArgs(m.pod)
	if err != nil {
		t.Fatal(err)
	}
	m.net = NewPodNet(t, nodeAddr, podAddr, iptArgs)

	m.ca, err = NewCA()
	if err != nil {
		t.Fatal(err)
	}
	stopSDS, err := ServeSDS(filepath.Join(m.dir, "var", "run", "secrets", "workload-spiffe-uds", "socket"), m.ca, catalogID)
	if err != nil {
		t.Fatalf("SDS: %v", err)
	}
	t.Cleanup(stopSDS)

	m.app = startApp(t, m.net)

	configs := slices.Clone(meshPolicies)
	kube := []runtime.Object{namespace("shop"), namespace("istio-system"), namespace("hsm"), m.pod}
	for _, doc := range readManifests(t, "deployment-catalog.yaml") {
		if _, kind := kindOf(t, doc); kind == "Service" {
			var svc corev1.Service
			if err := yaml.UnmarshalStrict([]byte(doc), &svc); err != nil {
				t.Fatal(err)
			}
			kube = append(kube, &svc)
		}
	}
	for _, doc := range readManifests(t, o.manifests...) {
		doc = o.edit(doc)
		if _, kind := kindOf(t, doc); kind == "WasmPlugin" {
			doc = withWasmURL(doc, m.url)
			configs = append(configs, m.startDependencies(t, doc)...)
		}
		configs = append(configs, doc)
	}
	istiod := filepath.Join(m.dir, "istiod.sock")
	m.cp = controlPlane(t, istiod, kube, configs)
	agent, err := StartAgentXDS(filepath.Join(m.dir, "etc", "istio", "proxy", "XDS"), istiod, filepath.Join(m.dir, "wasm-cache"))
	if err != nil {
		t.Fatalf("the agent's xDS proxy: %v", err)
	}
	t.Cleanup(agent.Stop)

	boot := agentBootstrap(t, m.dir, m.pod)
	m.envoy, err = envoyrun.Start(context.Background(), envoyrun.Options{
		Binary: o.release.Binary, Bootstrap: boot, Dir: m.dir, Concurrency: 2,
		// What pilot-agent adds to Envoy's command line (pkg/envoy).
		Args: []string{"--drain-time-s", "45", "--drain-strategy", "immediate",
			"--local-address-ip-version", "v4", "--file-flush-interval-msec", "1000",
			"--allow-unknown-static-fields"},
		Command: func(name string, args ...string) *exec.Cmd {
			c := m.net.Command(proxyUID, proxyUID, name, args...)
			c.Dir = m.dir // the bootstrap's sockets are relative to it
			return c
		},
		Dial: m.dialPod,
	})
	if err != nil {
		t.Fatalf("Envoy %s with Istio's bootstrap: %v", o.release.Version, err)
	}
	t.Cleanup(func() {
		if err := m.envoy.Stop(); err != nil {
			t.Errorf("envoy: %v", err)
		}
		if t.Failed() {
			t.Logf("envoy log tail:\n%s", m.envoy.Tail(60))
		}
	})
	return m
}

// startDependencies starts a stand-in for every outbound cluster the
// WasmPlugin doc's checks call, on the host side of the veth, and returns
// the ServiceEntries that make Istio generate those clusters. An hsm check
// is served as a meshed workload: Istio's mTLS with the gateway's own
// SPIFFE identity, chosen by Istio's auto-mTLS from the endpoint's label.
func (m *harness) startDependencies(t *testing.T, doc string) []string {
	cfg := pluginConfig(t, doc)
	var out []string
	for _, c := range cfg.Checks {
		port, host, ok := outbound(c.Cluster)
		if !ok {
			continue
		}
		ns := strings.Split(host, ".")[1]
		dep := demo.NewDependency(c.Cluster, c.Kind)
		m.deps[c.Name] = dep
		ln, err := net.Listen("tcp", nodeAddr+":0")
		if err != nil {
			t.Fatal(err)
		}
		target := ln.Addr().(*net.TCPAddr).Port
		var serverTLS *tls.Config
		labels := ""
		if c.Kind == checks.KindHSM {
			if serverTLS, err = m.ca.ServerTLS("spiffe://cluster.local/ns/" + ns + "/sa/" + strings.Split(host, ".")[0]); err != nil {
				t.Fatal(err)
			}
			labels = "\n    labels: {security.istio.io/tlsMode: istio}"
		}
		proto := "HTTP"
		if c.Kind == checks.KindGRPC {
			proto = "GRPC"
			t.Cleanup(dep.ServeGRPC(ln, serverTLS, []string{c.GRPCService}))
		} else {
			if serverTLS != nil {
				ln = tls.NewListener(ln, serverTLS)
			}
			seen := &atomic.Pointer[request]{}
			m.seen[c.Name] = seen
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				req := request{host: r.Host}
				if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 && len(r.TLS.PeerCertificates[0].URIs) > 0 {
					req.peer = r.TLS.PeerCertificates[0].URIs[0].String()
				}
				seen.Store(&req)
				dep.ServeHTTP(w, r)
			})}
			go srv.Serve(ln)
			t.Cleanup(func() { srv.Close() })
		}
		out = append(out, fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: %s-%s
  namespace: %s
spec:
  hosts: [%s]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: %d, name: %s, protocol: %s, targetPort: %d}
  endpoints:
  - address: %s%s
`, c.Name, strconv.Itoa(port), ns, host, port, strings.ToLower(proto), proto, target, nodeAddr, labels))
	}
	return out
}

// outbound splits Istio's outbound cluster name "outbound|PORT||HOST".
func outbound(cluster string) (port int, host string, ok bool) {
	f := strings.Split(cluster, "|")
	if len(f) != 4 || f[0] != "outbound" || f[2] != "" {
		return 0, "", false
	}
	port, err := strconv.Atoi(f[1])
	return port, f[3], err == nil
}

// pluginConfigMap is a WasmPlugin's pluginConfig as decoded YAML.
func pluginConfigMap(t testing.TB, doc string) map[string]any {
	t.Helper()
	var wp struct {
		Spec struct {
			PluginConfig map[string]any `json:"pluginConfig"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal([]byte(doc), &wp); err != nil {
		t.Fatal(err)
	}
	return wp.Spec.PluginConfig
}

// pluginConfig parses a WasmPlugin's pluginConfig with meshprobe's parser.
func pluginConfig(t testing.TB, doc string) *checks.Config {
	t.Helper()
	js, err := json.Marshal(pluginConfigMap(t, doc))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := checks.Parse(js)
	if err != nil {
		t.Fatalf("pluginConfig: %v", err)
	}
	return cfg
}

// app is the workload's container: it listens on the pod's port 8080,
// answers /healthz (the plugin's "app" check) healthy or not, and echoes
// every other request so pass-through shows.
type app struct {
	failing atomic.Bool
	hits    atomic.Int64 // requests that reached the app other than /healthz
}

func startApp(t *testing.T, pn *PodNet) *app {
	a := &app{}
	ln, err := pn.Listen("tcp", "0.0.0.0:8080")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			if a.failing.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		a.hits.Add(1)
		fmt.Fprintf(w, "app: %s %s", r.Method, r.URL.Path)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return a
}

// apply creates or changes Istio resources (YAML) as kubectl apply would;
// istiod then pushes the new configuration to the proxy.
func (m *harness) apply(t *testing.T, doc string) {
	t.Helper()
	cfgs, _, err := crd.ParseInputs(doc)
	if err != nil || len(cfgs) == 0 {
		t.Fatalf("apply: %v\n%s", err, doc)
	}
	store := m.cp.Store()
	for _, c := range cfgs {
		if old := store.Get(c.GroupVersionKind, c.Name, c.Namespace); old != nil {
			c.ResourceVersion = old.ResourceVersion
			_, err = store.Update(c)
		} else {
			_, err = store.Create(c)
		}
		if err != nil {
			t.Fatalf("apply %s/%s: %v", c.Namespace, c.Name, err)
		}
	}
}

// nodeClient is a plaintext client on the node bound to source address
// from (one of the node's addresses on the pod's link), as a monitoring
// agent on the node would be.
func (m *harness) nodeClient(t *testing.T, from string) *http.Client {
	if from != nodeAddr {
		if out, err := exec.Command("ip", "addr", "replace", from+"/24", "dev", m.net.hostVeth).CombinedOutput(); err != nil {
			t.Fatalf("adding %s to the node: %v: %s", from, err, out)
		}
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, DialContext: d.DialContext}}
}

// meshClient speaks Istio mTLS to the pod's port 8080 as the workload id,
// from the node: a client in the mesh, as the sidecar's inbound TLS chain
// expects it (ALPN istio-http/1.1).
func (m *harness) meshClient(t *testing.T, id string) *http.Client {
	cfg, err := m.ca.ClientTLS(id, "istio-http/1.1")
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return (&tls.Dialer{Config: cfg}).DialContext(ctx, network, addr)
		}}}
}

// get GETs path on the pod's port 8080 with client c (over TLS if c speaks
// it) and returns status and body.
func get(c *http.Client, path string, header ...string) (int, string, error) {
	return do(c, http.MethodGet, path, header...)
}

func do(c *http.Client, method, path string, header ...string) (int, string, error) {
	scheme := "http"
	if tr, ok := c.Transport.(*http.Transport); ok && tr.DialTLSContext != nil {
		scheme = "https"
	}
	req, err := http.NewRequest(method, scheme+"://"+podAddr+":8080"+path, nil)
	if err != nil {
		return 0, "", err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// kubelet sends a plaintext HTTP probe to the pod's port 8080 from the node,
// as kubelet's prober does.
var kubelet = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// probe GETs path on the pod's port 8080 as kubelet does.
func probe(path string, header ...string) (int, string, error) {
	return get(kubelet, path, append([]string{"User-Agent", kubeProbeUA}, header...)...)
}

// waitFor polls probe(path) until it answers code, at most d.
func waitFor(t testing.TB, path string, code int, d time.Duration) {
	t.Helper()
	waitUntil(t, path, d, func(got int, _ string) bool { return got == code }, fmt.Sprint(code))
}

// waitForBody polls probe(path) until its body holds want, at most d.
func waitForBody(t testing.TB, path, want string, d time.Duration) {
	t.Helper()
	waitUntil(t, path, d, func(_ int, body string) bool { return strings.Contains(body, want) }, want)
}

func waitUntil(t testing.TB, path string, d time.Duration, ok func(int, string) bool, want string) {
	t.Helper()
	var got int
	var body string
	var err error
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if got, body, err = probe(path); err == nil && ok(got, body) {
			return
		}
	}
	t.Fatalf("GET %s: want %s within %s, last %d %q (%v)", path, want, d, got, body, err)
}

// dialPod connects from inside the pod's namespace (Envoy's admin listens
// on the pod's loopback, as in a cluster).
func (m *harness) dialPod(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := m.net.do(func() (err error) {
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}
