package e2e

import (
	"cmp"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	extensionsv1alpha1 "istio.io/api/extensions/v1alpha1"
	networkingv1alpha3 "istio.io/api/networking/v1alpha3"
	securityv1beta1 "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	sigsjson "sigs.k8s.io/json"
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
		return true, fmt.Errorf("%s: unexpected object %q: expected a WasmPlugin, PeerAuthentication, Sidecar, Deployment or Service", where, gvk)
	}
	return true, nil
}

func istioObjectWhere(where, kind string, m metav1.ObjectMeta) string {
	return fmt.Sprintf("%s: %s %s/%s", where, kind, m.Namespace, m.Name)
}

// decodeKubernetesStrict decodes the way the API server does with strict field
// validation: field names are case-sensitive, an unknown or repeated field
// fails.
func decodeKubernetesStrict(js []byte, v any) error {
	strict, err := sigsjson.UnmarshalStrict(js, v)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// decodeIstio decodes an Istio resource: the envelope strictly, the spec
// strictly into Istio's own protobuf type, with the field names the CRD
// accepts. It returns the metadata and where, extended with kind and name.
func decodeIstio(where string, js []byte, spec proto.Message) (metav1.ObjectMeta, string, error) {
	var obj istioObject
	if err := decodeKubernetesStrict(js, &obj); err != nil {
		return obj.Metadata, where, fmt.Errorf("%s: %w", where, err)
	}
	where = istioObjectWhere(where, obj.Kind, obj.Metadata)
	if obj.Metadata.Namespace == "" {
		return obj.Metadata, where, fmt.Errorf("%s: metadata.namespace is missing: set it, so the manifest applies as is", where)
	}
	if len(obj.Spec) == 0 {
		return obj.Metadata, where, fmt.Errorf("%s: spec is missing", where)
	}
	var raw any
	if err := json.Unmarshal(obj.Spec, &raw); err != nil {
		return obj.Metadata, where, fmt.Errorf("%s: spec: %w", where, err)
	}
	// DiscardUnknown is false: an unknown field or a wrong type fails.
	if err := (protojson.UnmarshalOptions{}).Unmarshal(obj.Spec, spec); err != nil {
		return obj.Metadata, where, fmt.Errorf("%s: %w", where, locateProtoError(spec, raw, err))
	}
	if err := crdFieldNames("spec", spec.ProtoReflect().Descriptor(), raw); err != nil {
		return obj.Metadata, where, fmt.Errorf("%s: %w", where, err)
	}
	return obj.Metadata, where, nil
}

// locateProtoError names the spec field protojson refused (its own message
// gives only a byte offset): it decodes the fields one at a time.
func locateProtoError(spec proto.Message, raw any, err error) error {
	if obj, ok := raw.(map[string]any); ok {
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			one, _ := json.Marshal(map[string]any{k: obj[k]})
			fresh := spec.ProtoReflect().New().Interface()
			if ferr := protojson.Unmarshal(one, fresh); ferr != nil {
				return fmt.Errorf("spec.%s: %w", k, ferr)
			}
		}
	}
	return fmt.Errorf("spec: %w", err)
}

// crdFieldNames refuses the field names protojson accepts besides the JSON
// ones: protojson also takes proto names (fail_strategy), which the CRD does
// not know, so the cluster would drop or refuse them.
func crdFieldNames(path string, md protoreflect.MessageDescriptor, v any) error {
	if strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
		return nil // Struct, wrappers, Duration: free-form or scalar in JSON
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil // protojson has checked the type already
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		fd := md.Fields().ByJSONName(k)
		if fd == nil {
			if byName := md.Fields().ByName(protoreflect.Name(k)); byName != nil {
				return fmt.Errorf("%s.%s: the CRD takes the field as %q", path, k, byName.JSONName())
			}
			return fmt.Errorf("%s.%s: unknown field", path, k)
		}
		if fd.Kind() != protoreflect.MessageKind {
			continue
		}
		sub := path + "." + k
		switch {
		case fd.IsMap():
			if fd.MapValue().Kind() != protoreflect.MessageKind {
				continue
			}
			m, _ := obj[k].(map[string]any)
			for _, mk := range slices.Sorted(maps.Keys(m)) {
				if err := crdFieldNames(sub+"."+mk, fd.MapValue().Message(), m[mk]); err != nil {
					return err
				}
			}
		case fd.IsList():
			l, _ := obj[k].([]any)
			for i, e := range l {
				if err := crdFieldNames(fmt.Sprintf("%s[%d]", sub, i), fd.Message(), e); err != nil {
					return err
				}
			}
		default:
			if err := crdFieldNames(sub, fd.Message(), obj[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

// validate checks one WasmPlugin on its own, and parses its pluginConfig the
// way the plugin will: Istio hands it over as the JSON of the Struct.
func (d *wasmPluginDoc) validate() error {
	sp := d.spec
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", d.where, fmt.Sprintf(format, args...)))
	}
	if !strings.HasPrefix(sp.GetUrl(), "oci://") {
		fail("url %q: want an oci:// image (the one `make oci` builds, pushed to a registry)", sp.GetUrl())
	}
	if h := sp.GetSha256(); h != "" {
		if b, err := hex.DecodeString(h); err != nil || len(b) != 32 || strings.ToLower(h) != h {
			fail("sha256 %q: want 64 lower-case hex characters", h)
		}
	}
	if sp.GetPhase() != extensionsv1alpha1.PluginPhase_AUTHN {
		fail("phase is %s: want AUTHN, so health is answered before Istio's authentication and authorization filters", sp.GetPhase())
	}
	if len(sp.GetMatch()) == 0 {
		fail("match is empty: want [{mode: SERVER}], or meshprobe also answers on outbound traffic")
	}
	for i, m := range sp.GetMatch() {
		if m.GetMode() != typev1beta1.WorkloadMode_SERVER {
			fail("match[%d].mode is %s: want SERVER (inbound only)", i, m.GetMode())
		}
	}
	if t := sp.GetType(); t != extensionsv1alpha1.PluginType_UNSPECIFIED_PLUGIN_TYPE && t != extensionsv1alpha1.PluginType_HTTP {
		fail("type is %s: meshprobe is an HTTP filter", t)
	}
	if sp.GetFailStrategy() != extensionsv1alpha1.FailStrategy_FAIL_OPEN {
		fail("failStrategy is %s: want FAIL_OPEN (a failed health plugin must not take the workload's traffic down)", sp.GetFailStrategy())
	}
	if sp.GetPriority() == nil {
		fail("priority is not set: set it, so the order of meshprobe plugins on one workload is explicit")
	}
	if sp.GetTargetRef() != nil || len(sp.GetTargetRefs()) > 0 {
		fail("targetRefs is set: sidecars are chosen by selector (targetRefs is for gateways and waypoints)")
	}
	if sp.GetPluginConfig() == nil {
		fail("pluginConfig is missing")
	} else if js, err := protojson.Marshal(sp.GetPluginConfig()); err != nil {
		fail("pluginConfig: %v", err)
	} else if cfg, err := checks.Parse(js); err != nil {
		fail("pluginConfig: meshprobe refuses it: %v", err)
	} else {
		d.cfg, d.router = cfg, checks.NewRouter(cfg.Routes)
		for i, ch := range cfg.Checks {
			if err := istioClusterName(ch.Cluster); err != nil {
				fail("pluginConfig.checks[%d].cluster %q: %v", i, ch.Cluster, err)
			}
		}
		if d.meshWide() && len(cfg.Checks) > 0 {
			fail("pluginConfig: a mesh-wide configuration checks no dependency (they differ per service): give the workload its own WasmPlugin")
		}
	}
	return errors.Join(errs...)
}

// meshWide is true for a plugin that applies to every workload.
func (d *wasmPluginDoc) meshWide() bool {
	return d.meta.Namespace == istioRootNamespace && len(d.spec.GetSelector().GetMatchLabels()) == 0
}

// appliesTo says whether Istio puts the plugin on a pod with these labels.
func (d *wasmPluginDoc) appliesTo(namespace string, labels map[string]string) bool {
	if d.meta.Namespace != namespace && d.meta.Namespace != istioRootNamespace {
		return false
	}
	return istioSelects(d.spec.GetSelector().GetMatchLabels(), labels)
}

// istioClusterName checks the form of the clusters Istio generates:
// "outbound|PORT|SUBSET|HOST" and, for the pod's own ports, "inbound|PORT||".
func istioClusterName(c string) error {
	parts := strings.Split(c, "|")
	if len(parts) != 4 || (parts[0] != "outbound" && parts[0] != "inbound") {
		return errors.New(`not a cluster Istio generates: want "outbound|PORT||HOST" or "inbound|PORT||"`)
	}
	if p, err := strconv.Atoi(parts[1]); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("port %q is not a port number", parts[1])
	}
	if parts[0] == "outbound" && parts[3] == "" {
		return errors.New("an outbound cluster names its host")
	}
	if parts[0] == "inbound" && (parts[2] != "" || parts[3] != "") {
		return errors.New(`inbound clusters are named "inbound|PORT||"`)
	}
	return nil
}

// istioSelects is Kubernetes' matchLabels: every selector label on the object. An
// empty selector selects everything.
func istioSelects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// Which meshprobe endpoints suit which kubelet probe. amsdal's liveness is
// missing on purpose: it fails when a hard dependency is down, and a liveness
// probe that does so restarts healthy pods during someone else's outage.
var kubeletProbeEndpoints = map[string][]checks.Endpoint{
	"liveness":  {checks.StdLiveness, checks.K8sLivez, checks.K8sLivezCheck, checks.PiLivez, checks.AuroraLiveness},
	"readiness": {checks.StdReadiness, checks.K8sReadyz, checks.K8sHealthz, checks.K8sReadyzCheck, checks.PiReadyz, checks.PiHealthz, checks.AuroraReadiness, checks.AmsdalReadiness},
	"startup":   {checks.StdStartup, checks.PiStartupz},
}

// check validates the setup as a whole.
func (s *istioSetup) check() error {
	var errs []error
	meshWide := 0
	for _, p := range s.plugins {
		if p.meshWide() {
			meshWide++
		}
	}
	if meshWide != 1 {
		errs = append(errs, fmt.Errorf("want one mesh-wide WasmPlugin (namespace %s, no selector), found %d", istioRootNamespace, meshWide))
	}
	if len(s.deployments) == 0 {
		errs = append(errs, errors.New("no Deployment shows the probe setup"))
	}
	for _, d := range s.deployments {
		errs = append(errs, s.checkDeployment(d)...)
	}
	return errors.Join(errs...)
}

func (s *istioSetup) checkDeployment(dd *deploymentDoc) []error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", dd.where, fmt.Sprintf(format, args...)))
	}
	ns := dd.obj.Namespace
	pod := dd.obj.Spec.Template
	labels := pod.Labels

	if v, ok := pod.Annotations[probeRewriteAnnotKey]; !ok || v != "false" {
		fail("spec.template.metadata.annotations[%q] is %q: want \"false\", or Istio sends kubelet's probes to its agent on port 15020 and meshprobe never sees them", probeRewriteAnnotKey, v)
	}

	// The meshprobe plugins on this pod, in filter-chain order (all are in
	// phase AUTHN; Istio orders one phase by descending priority).
	var chain []*wasmPluginDoc
	for _, p := range s.plugins {
		if p.cfg != nil && p.appliesTo(ns, labels) {
			chain = append(chain, p)
		}
	}
	if len(chain) == 0 {
		fail("no meshprobe WasmPlugin applies to its pods")
		return errs
	}
	slices.SortStableFunc(chain, func(a, b *wasmPluginDoc) int {
		return cmp.Compare(b.spec.GetPriority().GetValue(), a.spec.GetPriority().GetValue())
	})
	for i := 1; i < len(chain); i++ {
		if chain[i].spec.GetPriority().GetValue() == chain[i-1].spec.GetPriority().GetValue() {
			fail("%s and %s have the same priority: their order would depend on their names", chain[i-1].where, chain[i].where)
		}
	}
	// The first plugin answers every path the later ones serve, so the pod
	// never mixes two configurations.
	for _, later := range chain[1:] {
		for _, r := range later.cfg.Routes {
			if chain[0].router.Match(r.Path) == nil {
				fail("%s is first in the chain but does not serve %s, so %s answers it", chain[0].where, r.Path, later.where)
			}
		}
	}
	// Callouts to the pod's own app need a STATIC inbound cluster.
	for _, p := range chain {
		for i, ch := range p.cfg.Checks {
			if !strings.HasPrefix(ch.Cluster, "inbound|") {
				continue
			}
			port, _ := strconv.Atoi(strings.Split(ch.Cluster, "|")[1])
			if ok, seen := s.staticInbound(ns, labels, port); !ok {
				fail("%s: checks[%d] calls %q, but no Sidecar selecting these pods (%s) gives port %d an ingress defaultEndpoint: the cluster stays ORIGINAL_DST and every callout gets 503 no healthy upstream", p.where, i, ch.Cluster, seen, port)
			}
		}
	}

	probes := 0
	for ci := range pod.Spec.Containers {
		c := &pod.Spec.Containers[ci]
		var ports []int32 // the ports this container's probes use, once each
		for _, pr := range []struct {
			kind  string
			probe *corev1.Probe
		}{{"liveness", c.LivenessProbe}, {"readiness", c.ReadinessProbe}, {"startup", c.StartupProbe}} {
			if pr.probe == nil || pr.probe.HTTPGet == nil {
				continue
			}
			probes++
			hg := pr.probe.HTTPGet
			field := fmt.Sprintf("containers[%s].%sProbe", c.Name, pr.kind)
			errs = append(errs, checkIstioProbePath(dd.where, field, pr.kind, hg.Path, chain)...)
			if hg.Scheme != "" && hg.Scheme != corev1.URISchemeHTTP {
				fail("%s: scheme %s: kubelet must speak plain HTTP to the sidecar", field, hg.Scheme)
			}
			if hg.Host != "" {
				fail("%s: host %q: leave it empty so kubelet calls the pod IP, where the sidecar intercepts", field, hg.Host)
			}
			port, ok := probeContainerPort(c, hg.Port)
			if !ok {
				fail("%s: port %s is not a port of container %s", field, hg.Port.String(), c.Name)
			} else if !slices.Contains(ports, port) {
				ports = append(ports, port)
			}
		}
		for _, port := range ports {
			if ok, seen := s.permissive(ns, labels, port); !ok {
				fail("containers[%s]: probe port %d: no PeerAuthentication selecting these pods (%s) sets portLevelMtls %d to PERMISSIVE, so the sidecar refuses kubelet's plaintext probe under STRICT mTLS", c.Name, port, seen, port)
			}
			if ok, seen := s.serviceTargets(ns, labels, c, port); !ok {
				fail("containers[%s]: probe port %d: no Service selecting these pods (%s) targets it, so Istio builds no inbound listener for it", c.Name, port, seen)
			}
		}
	}
	if probes == 0 {
		fail("no container has an httpGet probe for meshprobe")
	}
	return errs
}

// checkIstioProbePath finds the plugin that answers a probe's path (the first in
// the chain that serves it) and checks that the endpoint suits the probe.
func checkIstioProbePath(where, field, kind, path string, chain []*wasmPluginDoc) []error {
	for _, p := range chain {
		route := p.router.Match(path)
		if route == nil {
			continue
		}
		if !slices.Contains(kubeletProbeEndpoints[kind], route.Endpoint) {
			return []error{fmt.Errorf("%s: %s: path %q is the %s endpoint (answered by %s), not a %s endpoint", where, field, path, route.EndpointLabel(), p.where, kind)}
		}
		return nil
	}
	var by []string
	for _, p := range chain {
		by = append(by, p.where)
	}
	return []error{fmt.Errorf("%s: %s: path %q is not served by meshprobe on these pods (%s)", where, field, path, strings.Join(by, "; "))}
}

// probeContainerPort resolves a probe or target port (number or name).
func probeContainerPort(c *corev1.Container, p intstr.IntOrString) (int32, bool) {
	for _, cp := range c.Ports {
		if (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) || (p.Type == intstr.String && cp.Name == p.StrVal && p.StrVal != "") {
			return cp.ContainerPort, true
		}
	}
	return 0, false
}

// The lookups below also return the objects they considered (those that
// select the pods), for the error message: the fix is usually in one of them.

func (s *istioSetup) permissive(ns string, labels map[string]string, port int32) (bool, string) {
	var seen []string
	for _, pa := range s.peerAuths {
		if pa.meta.Namespace != ns && pa.meta.Namespace != istioRootNamespace {
			continue
		}
		sel := pa.spec.GetSelector().GetMatchLabels()
		if len(sel) == 0 || !istioSelects(sel, labels) {
			continue
		}
		seen = append(seen, pa.where)
		if m, ok := pa.spec.GetPortLevelMtls()[uint32(port)]; ok && m.GetMode() == securityv1beta1.PeerAuthentication_MutualTLS_PERMISSIVE {
			return true, ""
		}
	}
	return false, istioConsidered(seen)
}

func (s *istioSetup) serviceTargets(ns string, labels map[string]string, c *corev1.Container, port int32) (bool, string) {
	var seen []string
	for _, sd := range s.services {
		svc := sd.obj
		if svc.Namespace != ns || len(svc.Spec.Selector) == 0 || !istioSelects(svc.Spec.Selector, labels) {
			continue
		}
		seen = append(seen, sd.where)
		for _, sp := range svc.Spec.Ports {
			target := sp.TargetPort
			if target.Type == intstr.Int && target.IntVal == 0 {
				target = intstr.FromInt32(sp.Port)
			}
			if p, ok := probeContainerPort(c, target); ok && p == port {
				return true, ""
			}
		}
	}
	return false, istioConsidered(seen)
}

func (s *istioSetup) staticInbound(ns string, labels map[string]string, port int) (bool, string) {
	var seen []string
	for _, sc := range s.sidecars {
		if sc.meta.Namespace != ns || !istioSelects(sc.spec.GetWorkloadSelector().GetLabels(), labels) {
			continue
		}
		seen = append(seen, sc.where)
		for _, in := range sc.spec.GetIngress() {
			if int(in.GetPort().GetNumber()) == port && in.GetDefaultEndpoint() != "" {
				return true, ""
			}
		}
	}
	return false, istioConsidered(seen)
}

func istioConsidered(wheres []string) string {
	if len(wheres) == 0 {
		return "there is none"
	}
	return "considered: " + strings.Join(wheres, "; ")
}

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
