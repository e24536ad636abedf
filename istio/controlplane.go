package istio

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"istio.io/istio/pilot/pkg/features"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pkg/log"
)

// projectRoot is meshprobe's checkout, absolute: the harness changes the
// working directory into the proxy's while Istio's agent code runs.
var projectRoot = func() string {
	d, err := filepath.Abs("..")
	if err != nil {
		panic(err)
	}
	return d
}()

// manifestDir holds the Istio manifests meshprobe ships.
var manifestDir = filepath.Join(projectRoot, "envoy", "istio")

// readManifests returns the YAML documents of the named files in
// envoy/istio, in order.
func readManifests(t testing.TB, files ...string) []string {
	t.Helper()
	var docs []string
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(manifestDir, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range strings.Split(string(b), "\n---") {
			if strings.TrimSpace(stripComments(d)) != "" {
				docs = append(docs, d)
			}
		}
	}
	return docs
}

func stripComments(doc string) string {
	var out []string
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// kindOf is a document's apiVersion and kind.
func kindOf(t testing.TB, doc string) (apiVersion, kind string) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
		t.Fatalf("manifest: %v\n%s", err, doc)
	}
	return tm.APIVersion, tm.Kind
}

var wasmURL = regexp.MustCompile(`(?m)^(\s*url:\s*)\S+$`)

// withWasmURL points a WasmPlugin's url at u: the one field of the shipped
// manifests the harness changes.
func withWasmURL(doc, u string) string {
	return wasmURL.ReplaceAllString(doc, "${1}"+u)
}

// controlPlane is Istio's discovery server (istiod's own config
// generators) over a unix socket at sock, where the agent would proxy it:
// it knows the Kubernetes objects kube and the Istio configuration configs
// (YAML documents).
//
// What only istio-proxy has is switched off with Istio's own flags, since
// a stock Envoy rejects filters it does not know: the metadata-exchange
// filters and ALPN (PILOT_ENABLE_METADATA_EXCHANGE=false) and the ALPN
// filter on outbound clusters (PILOT_ENABLE_ALPN_FILTER=false). Telemetry
// (istio.stats) is configured only by a Telemetry resource, and the
// harness has none.
func controlPlane(t *testing.T, sock string, kube []runtime.Object, configs []string) *xds.FakeDiscoveryServer {
	t.Helper()
	// istiod's own log would drown the test's; errors still show.
	for _, s := range log.Scopes() {
		s.SetOutputLevel(log.ErrorLevel)
	}
	features.MetadataExchange = false
	features.ALPNFilter = false
	return xds.NewFakeDiscoveryServer(t, xds.FakeOptions{
		KubernetesObjects: kube,
		ConfigString:      strings.Join(configs, "\n---\n"),
		ListenerBuilder: func() (net.Listener, error) {
			if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
				return nil, err
			}
			ln, err := net.Listen("unix", sock)
			if err == nil {
				err = os.Chmod(sock, 0o777) // Envoy runs as the proxy user
			}
			return ln, err
		},
	})
}

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}
