package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	extensionsv1alpha1 "istio.io/api/extensions/v1alpha1"
	networkingv1alpha3 "istio.io/api/networking/v1alpha3"
	securityv1beta1 "istio.io/api/security/v1beta1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/meshprobe/meshprobe/checks"
)

// The Istio manifests in envoy/istio are validated the way the cluster would
// read them: Istio's own API types for WasmPlugin, PeerAuthentication and
// Sidecar, Kubernetes' for Deployment and Service, each strictly (an unknown
// field or a wrong type fails), every WasmPlugin's pluginConfig through
// meshprobe's own parser, and then the setup as a whole: each kubelet probe
// must reach a meshprobe endpoint of its kind, through a port that accepts
// kubelet's plaintext.

const (
	istioRootNamespace   = "istio-system"
	probeRewriteAnnotKey = "sidecar.istio.io/rewriteAppHTTPProbers"
)

var istioManifestDir = filepath.Join("..", "envoy", "istio")

// istioObject is the envelope of an Istio custom resource; spec is decoded
// separately into Istio's protobuf type.
type istioObject struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       json.RawMessage   `json:"spec"`
}

type wasmPluginDoc struct {
	where  string
	meta   metav1.ObjectMeta
	spec   *extensionsv1alpha1.WasmPlugin
	cfg    *checks.Config
	router *checks.Router
}

type peerAuthDoc struct {
	where string
	meta  metav1.ObjectMeta
	spec  *securityv1beta1.PeerAuthentication
}

type sidecarDoc struct {
	where string
	meta  metav1.ObjectMeta
	spec  *networkingv1alpha3.Sidecar
}

type deploymentDoc struct {
	where string
	obj   *appsv1.Deployment
}

type serviceDoc struct {
	where string
	obj   *corev1.Service
}

// istioSetup is every object decoded from the manifest files.
type istioSetup struct {
	plugins     []*wasmPluginDoc
	peerAuths   []*peerAuthDoc
	sidecars    []*sidecarDoc
	deployments []*deploymentDoc
	services    []*serviceDoc
}

// validateIstioManifests decodes and checks every document of every file
// (name -> content) and returns every problem found, each naming its file.
func validateIstioManifests(files map[string][]byte) error {
	s := &istioSetup{}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(files)) {
		docs := splitIstioDocuments(files[name])
		n := 0
		for i, doc := range docs {
			where := name
			if len(docs) > 1 {
				where = fmt.Sprintf("%s (document %d)", name, i+1)
			}
			added, err := s.add(where, doc)
			if err != nil {
				errs = append(errs, err)
			}
			if added || err != nil {
				n++
			}
		}
		if n == 0 {
			errs = append(errs, fmt.Errorf("%s: no Kubernetes object in it", name))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return s.check()
}

var istioDocSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

func splitIstioDocuments(data []byte) [][]byte {
	var out [][]byte
	for _, d := range istioDocSeparator.Split(string(data), -1) {
		out = append(out, []byte(d))
	}
	return out
}

// add decodes one YAML document; it reports false for a document without
// content (only comments).
func (s *istioSetup) add(where string, doc []byte) (bool, error) {
	js, err := yaml.YAMLToJSONStrict(doc) // refuses a key given twice
	if err != nil {
		return false, fmt.Errorf("%s: %w", where, err)
	}
	if string(js) == "null" {
		return false, nil
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(js, &head); err != nil {
		return true, fmt.Errorf("%s: not a Kubernetes object: %w", where, err)
	}
	gvk := head.APIVersion + " " + head.Kind
	switch gvk {
	case "extensions.istio.io/v1alpha1 WasmPlugin":
		var spec extensionsv1alpha1.WasmPlugin
		meta, where, err := decodeIstio(where, js, &spec)
		if err != nil {
			return true, err
		}
		d := &wasmPluginDoc{where: where, meta: meta, spec: &spec}
		if err := d.validate(); err != nil {
			return true, err
		}
		s.plugins = append(s.plugins, d)
	case "security.istio.io/v1 PeerAuthentication", "security.istio.io/v1beta1 PeerAuthentication":
		var spec securityv1beta1.PeerAuthentication
		meta, where, err := decodeIstio(where, js, &spec)
		if err != nil {
			return true, err
		}
		if len(spec.GetPortLevelMtls()) > 0 && len(spec.GetSelector().GetMatchLabels()) == 0 {
			return true, fmt.Errorf("%s: portLevelMtls needs a selector (Istio ignores port-level settings without one)", where)
		}
		s.peerAuths = append(s.peerAuths, &peerAuthDoc{where: where, meta: meta, spec: &spec})
	case "networking.istio.io/v1 Sidecar", "networking.istio.io/v1beta1 Sidecar", "networking.istio.io/v1alpha3 Sidecar":
		var spec networkingv1alpha3.Sidecar
		meta, where, err := decodeIstio(where, js, &spec)
		if err != nil {
			return true, err
		}
		s.sidecars = append(s.sidecars, &sidecarDoc{where: where, meta: meta, spec: &spec})
	case "networking.istio.io/v1alpha3 EnvoyFilter":
		// What it makes of the sidecar is proven in istio/ (TestIstioScoped).
		var spec networkingv1alpha3.EnvoyFilter
		if _, _, err := decodeIstio(where, js, &spec); err != nil {
			return true, err
		}
	case "apps/v1 Deployment":
		var d appsv1.Deployment
		if err := decodeKubernetesStrict(js, &d); err != nil {
			return true, fmt.Errorf("%s: Deployment: %w", where, err)
		}
		where = istioObjectWhere(where, head.Kind, d.ObjectMeta)
		if d.Namespace == "" {
			return true, fmt.Errorf("%s: metadata.namespace is missing: set it, so the manifest applies as is", where)
		}
		s.deployments = append(s.deployments, &deploymentDoc{where: where, obj: &d})
	case "v1 Service":
		var svc corev1.Service
		if err := decodeKubernetesStrict(js, &svc); err != nil {
			return true, fmt.Errorf("%s: Service: %w", where, err)
		}
		where = istioObjectWhere(where, head.Kind, svc.ObjectMeta)
		if svc.Namespace == "" {
			return true, fmt.Errorf("%s: metadata.namespace is missing: set it, so the manifest applies as is", where)
		}
		s.services = append(s.services, &serviceDoc{where: where, obj: &svc})
	default:
		return true, fmt.Errorf("%s: unexpected object %q: expected a WasmPlugin, PeerAuthentication, Sidecar, EnvoyFilter, Deployment or Service", where, gvk)
	}
	return true, nil
}

func istioObjectWhere(where, kind string, m metav1.ObjectMeta) string {
	return fmt.Sprintf("%s: %s %s/%s", where, kind, m.Namespace, m.Name)
}

// The lookups below also return the objects they considered (those that
// select the pods), for the error message: the fix is usually in one of them.

func readIstioManifests(t *testing.T) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(istioManifestDir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() || (!strings.HasSuffix(e.Name(), ".yaml") && !strings.HasSuffix(e.Name(), ".yml")) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(istioManifestDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = data
	}
	if len(files) == 0 {
		t.Fatalf("no manifests in %s", istioManifestDir)
	}
	return files
}

func TestIstioManifestsAreValid(t *testing.T) {
	files := readIstioManifests(t)
	if err := validateIstioManifests(files); err != nil {
		t.Fatalf("envoy/istio:\n%v", err)
	}
}

// Broken copies must fail, each for its own reason and naming its file: the
// test above can only pass because the validation is real.
func TestIstioManifestsBrokenCopiesFail(t *testing.T) {
	good := readIstioManifests(t)
	const (
		mesh    = "wasmplugin-mesh-wide.yaml"
		catalog = "wasmplugin-catalog.yaml"
		deploy  = "deployment-catalog.yaml"
		peer    = "peerauthentication-catalog-probes.yaml"
		sidecar = "sidecar-catalog-inbound.yaml"
	)
	cases := []struct{ name, file, old, new, want string }{
		{"misspelled WasmPlugin field", mesh, "phase: AUTHN", "phaze: AUTHN", `unknown field "phaze"`},
		{"wrong type in a WasmPlugin", catalog, "priority: 100", `priority: "high"`, "priority"},
		{"proto name the CRD does not take", mesh, "failStrategy: FAIL_OPEN", "fail_strategy: FAIL_OPEN", `the CRD takes the field as "failStrategy"`},
		{"pluginConfig meshprobe refuses", catalog, "kind: grpc", "kind: redis", "meshprobe refuses it: invalid configuration: checks[2].kind: unknown kind"},
		{"pluginConfig with an unknown field", mesh, "base_path: /health", "basepath: /health", "meshprobe refuses it: invalid configuration: basepath: unknown field"},
		{"cluster name Istio does not generate", catalog, `"outbound|8080||catalog-db.shop.svc.cluster.local"`, "catalog-db", "not a cluster Istio generates"},
		{"dependencies in the mesh-wide config", mesh, "    dialects: [\"standard\"]\n", "    dialects: [\"standard\"]\n    checks: [{name: db, kind: http, cluster: \"outbound|5432||db.shop.svc.cluster.local\"}]\n", "mesh-wide configuration checks no dependency"},
		{"wrong phase", catalog, "phase: AUTHN", "phase: AUTHZ", "want AUTHN"},
		{"outbound traffic too", mesh, "mode: SERVER", "mode: CLIENT_AND_SERVER", "want SERVER"},
		{"not an oci image", mesh, "url: oci://", "url: https://", "want an oci:// image"},
		{"fail closed", mesh, "failStrategy: FAIL_OPEN", "failStrategy: FAIL_CLOSE", "want FAIL_OPEN"},
		{"equal priorities", catalog, "priority: 100", "priority: 10", "same priority"},
		{"misspelled Deployment field", deploy, "containerPort: 8080", "containerPrt: 8080", `unknown field "spec.template.spec.containers[0].ports[0].containerPrt"`},
		{"Deployment field in the wrong case", deploy, "containerPort: 8080", "containerport: 8080", `unknown field "spec.template.spec.containers[0].ports[0].containerport"`},
		{"probe path meshprobe does not serve", deploy, "path: /health/probes/readiness", "path: /health/probes/ready", `path "/health/probes/ready" is not served by meshprobe`},
		{"liveness on the readiness endpoint", deploy, "path: /health/probes/liveness", "path: /health/probes/readiness", "not a liveness endpoint"},
		{"probe rewriting left on", deploy, `rewriteAppHTTPProbers: "false"`, `rewriteAppHTTPProbers: "true"`, "15020"},
		{"probe port the PeerAuthentication does not open", peer, "8080:", "9090:", "refuses kubelet's plaintext probe"},
		{"probe port STRICT", peer, "mode: PERMISSIVE", "mode: STRICT", "refuses kubelet's plaintext probe"},
		{"PeerAuthentication mode misspelled", peer, "mode: PERMISSIVE", "mode: PERMISIVE", "PERMISIVE"},
		{"no STATIC inbound cluster for the app check", sidecar, "    defaultEndpoint: 0.0.0.0:8080\n", "", "no healthy upstream"},
		{"unexpected kind", sidecar, "kind: Sidecar", "kind: Sidecars", "unexpected object"},
		{"missing namespace", catalog, "  namespace: shop\n", "", "metadata.namespace is missing"},
		{"key given twice", deploy, "  replicas: 3\n", "  replicas: 3\n  replicas: 2\n", "replicas"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(string(good[c.file]), c.old) {
				t.Fatalf("%s no longer contains %q: update this test", c.file, c.old)
			}
			files := maps.Clone(good)
			files[c.file] = []byte(strings.Replace(string(good[c.file]), c.old, c.new, 1))
			err := validateIstioManifests(files)
			t.Logf("error: %v", err)
			switch {
			case err == nil:
				t.Fatalf("no error; want one mentioning %q", c.want)
			case !strings.Contains(err.Error(), c.want):
				t.Errorf("error:\n%v\nwant one mentioning %q", err, c.want)
			case !strings.Contains(err.Error(), c.file):
				t.Errorf("error:\n%v\nwant it to name %s", err, c.file)
			}
		})
	}
}
