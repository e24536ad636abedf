package istio

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"sort"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"

	"istio.io/istio/operator/pkg/render"
	"istio.io/istio/pkg/config/mesh"
	"istio.io/istio/pkg/kube/inject"
)

// injectRevision is the control-plane revision the pods are injected for.
const injectRevision = "default"

// injectorConfig is what istiod's injector loads from the
// istio-sidecar-injector ConfigMap: the parsed templates ("config" key) and
// the chart values ("values" key).
type injectorConfig struct {
	templates inject.Templates
	values    inject.ValuesConfig
}

// loadInjector renders the snapshot's own Helm charts once per process;
// rendering costs about a second and the result never changes.
var loadInjector = sync.OnceValues(renderInjectorConfig)

// renderInjectorConfig renders the istio-discovery chart the way
// `istioctl install` / `istioctl manifest generate` does (operator/pkg/render,
// charts compiled into istio.io/istio/manifests) and takes the
// istio-sidecar-injector ConfigMap out of the result. This is the same
// approach Istio's own injection tests use (getInjectionSettings in
// pkg/kube/inject/webhook_test.go), so no value is hand-written: the
// "empty" profile only switches off components, and the values are those of
// the default profile plus the chart's values.yaml.
func renderInjectorConfig() (injectorConfig, error) {
	sets, _, err := render.GenerateManifest(nil,
		[]string{"profile=empty", "components.pilot.enabled=true"}, false, nil, nil)
	if err != nil {
		return injectorConfig{}, fmt.Errorf("render istio charts: %v", err)
	}
	for _, set := range sets {
		for _, m := range set.Manifests {
			if m.GetKind() != "ConfigMap" || m.GetName() != "istio-sidecar-injector" {
				continue
			}
			raw, _, err := unstructured.NestedString(m.Object, "data", "config")
			if err != nil {
				return injectorConfig{}, err
			}
			vals, _, err := unstructured.NestedString(m.Object, "data", "values")
			if err != nil {
				return injectorConfig{}, err
			}
			cfg, err := inject.UnmarshalConfig([]byte(raw))
			if err != nil {
				return injectorConfig{}, err
			}
			vc, err := inject.NewValuesConfig(vals)
			if err != nil {
				return injectorConfig{}, err
			}
			return injectorConfig{templates: cfg.Templates, values: vc}, nil
		}
	}
	return injectorConfig{}, errors.New("rendered charts have no istio-sidecar-injector ConfigMap")
}

// firstDeployment returns the first Deployment among the YAML documents.
func firstDeployment(manifest []byte) (*appsv1.Deployment, error) {
	r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifest)))
	for {
		doc, err := r.Read()
		if err == io.EOF {
			return nil, errors.New("manifest has no Deployment")
		}
		if err != nil {
			return nil, err
		}
		// Unregistered kinds and empty documents are simply skipped.
		obj, err := inject.FromRawToObject(doc)
		if err != nil {
			continue
		}
		if d, ok := obj.(*appsv1.Deployment); ok {
			return d, nil
		}
	}
}

// InjectPod returns the Pod that Istio's injector makes of the pod template
// of the first Deployment in manifest (YAML, possibly several documents),
// named name, with status.podIP = podIP and status.hostIP = hostIP,
// spec.nodeName set, namespace from the Deployment, Phase Running and Ready
// conditions true (so Istio's registry treats it as a ready endpoint).
//
// Injection is `istioctl kube-inject` (inject.IntoObject on the Deployment)
// with the chart-rendered templates/values, mesh.DefaultMeshConfig, cluster
// "Kubernetes" (the template's default when values set no clusterName) and
// revision "default". Like kube-inject without a cluster, it makes a classic
// istio-proxy container plus istio-init unless ENABLE_NATIVE_SIDECARS=true or
// the pod annotation sidecar.istio.io/nativeSidecar asks otherwise (the
// webhook on Kubernetes >= 1.33 nodes would make a native sidecar).
func InjectPod(manifest []byte, name, podIP, hostIP string) (*corev1.Pod, error) {
	deploy, err := firstDeployment(manifest)
	if err != nil {
		return nil, err
	}
	cfg, err := loadInjector()
	if err != nil {
		return nil, err
	}
	ns := deploy.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault // what kubectl apply would pick without -n
	}
	// The pod-template-hash label the ReplicaSet gives its pods: computed from
	// the template before injection, as the Deployment controller does (the
	// webhook only sees pods that already carry it).
	h := fnv.New32a()
	tj, _ := json.Marshal(deploy.Spec.Template)
	h.Write(tj)
	hash := rand.SafeEncodeString(fmt.Sprint(h.Sum32()))

	// The ServiceAccount admission plugin runs before mutating webhooks, so
	// the injector sees the defaulted account.
	if deploy.Spec.Template.Spec.ServiceAccountName == "" {
		deploy.Spec.Template.Spec.ServiceAccountName = "default"
	}

	var warnings []string
	out, err := inject.IntoObject(nil, cfg.templates, cfg.values, injectRevision,
		mesh.DefaultMeshConfig(), deploy, func(s string) { warnings = append(warnings, s) })
	if err != nil {
		return nil, fmt.Errorf("inject %s/%s: %v", ns, deploy.Name, err)
	}
	tmpl := out.(*appsv1.Deployment).Spec.Template
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: tmpl.ObjectMeta,
		Spec:       tmpl.Spec,
	}
	// IntoObject skips (with only a warning) pods that opt out or use host
	// networking; a harness asking for an injected pod wants an error.
	if inject.FindSidecar(pod) == nil {
		return nil, fmt.Errorf("%s/%s was not injected: %s", ns, deploy.Name, strings.Join(warnings, "; "))
	}

	// What the ReplicaSet controller, scheduler and kubelet add afterwards.
	// The owner reference lets Istio (kube.GetDeployMetaFromPod) name the
	// workload after the Deployment, matching ISTIO_META_WORKLOAD_NAME.
	rsName := deploy.Name + "-" + hash
	pod.Name = name
	pod.GenerateName = rsName + "-"
	pod.Namespace = ns
	pod.UID = podUID(ns, name)
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	controller := true
	pod.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rsName,
		UID: podUID(ns, "replicaset/"+rsName), Controller: &controller,
	}}
	// API-server defaulting: a volume without a source is an emptyDir (the
	// template writes a bare `emptyDir:` for workload-socket and others).
	for i, v := range pod.Spec.Volumes {
		if v.VolumeSource == (corev1.VolumeSource{}) {
			pod.Spec.Volumes[i].EmptyDir = &corev1.EmptyDirVolumeSource{}
		}
	}
	pod.Spec.NodeName = "node-" + strings.NewReplacer(".", "-", ":", "-").Replace(hostIP)
	pod.Status = corev1.PodStatus{
		Phase:   corev1.PodRunning,
		PodIP:   podIP,
		PodIPs:  []corev1.PodIP{{IP: podIP}},
		HostIP:  hostIP,
		HostIPs: []corev1.HostIP{{IP: hostIP}},
	}
	for _, c := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{Type: c, Status: corev1.ConditionTrue})
	}
	return pod, nil
}

// podUID makes a stable UUID-shaped UID, so runs are reproducible.
func podUID(ns, name string) types.UID {
	s := sha1.Sum([]byte(ns + "/" + name))
	return types.UID(fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16]))
}

// ProxyEnv is the istio-proxy container's environment as the kubelet would
// give it to the proxy process: plain values (with kubelet's $(VAR)
// expansion), and valueFrom fieldRef resolved against the pod
// (metadata.name, metadata.namespace, metadata.uid, status.podIP,
// status.podIPs, status.hostIP, status.hostIPs, spec.serviceAccountName,
// spec.nodeName, metadata.labels['k'], metadata.annotations['k']);
// resourceFieldRef resolved to the container's limits/requests as kubelet
// does. An unset limit is "0": kubelet would substitute the node's
// allocatable, which this harness has no node for, and 0 is the documented
// "no limit" default of ISTIO_CPU_LIMIT in pilot-agent. Other valueFrom kinds
// (ConfigMap/Secret refs) and envFrom are errors. Kubelet's service link
// variables (KUBERNETES_SERVICE_HOST...) are not included.
//
// Pod labels do not reach the proxy by env in this Istio: see PodInfo.
func ProxyEnv(pod *corev1.Pod) (map[string]string, error) {
	c := inject.FindSidecar(pod)
	if c == nil {
		return nil, errors.New("pod has no istio-proxy container")
	}
	return containerEnv(pod, c)
}

func containerEnv(pod *corev1.Pod, c *corev1.Container) (map[string]string, error) {
	if len(c.EnvFrom) > 0 {
		return nil, fmt.Errorf("container %s: envFrom is not supported", c.Name)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		var v string
		var err error
		switch {
		case e.ValueFrom == nil:
			// Kubelet expands references to variables defined earlier.
			v = kubeletExpand(e.Value, env)
		case e.ValueFrom.FieldRef != nil:
			v, err = fieldValue(pod, e.ValueFrom.FieldRef.FieldPath)
		case e.ValueFrom.ResourceFieldRef != nil:
			v, err = resourceValue(pod, c, e.ValueFrom.ResourceFieldRef)
		default:
			err = errors.New("only fieldRef and resourceFieldRef are supported")
		}
		if err != nil {
			return nil, fmt.Errorf("container %s env %s: %v", c.Name, e.Name, err)
		}
		env[e.Name] = v
	}
	return env, nil
}

// fieldValue resolves a downward API fieldPath for env, as kubelet does.
func fieldValue(pod *corev1.Pod, path string) (string, error) {
	if key, ok := subscript(path, "metadata.labels"); ok {
		return pod.Labels[key], nil
	}
	if key, ok := subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[key], nil
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP":
		return pod.Status.PodIP, nil
	case "status.hostIP":
		return pod.Status.HostIP, nil
	case "status.podIPs":
		ips := make([]string, 0, len(pod.Status.PodIPs))
		for _, ip := range pod.Status.PodIPs {
			ips = append(ips, ip.IP)
		}
		return strings.Join(ips, ","), nil
	case "status.hostIPs":
		ips := make([]string, 0, len(pod.Status.HostIPs))
		for _, ip := range pod.Status.HostIPs {
			ips = append(ips, ip.IP)
		}
		return strings.Join(ips, ","), nil
	}
	return "", fmt.Errorf("unsupported fieldPath %q", path)
}

// subscript parses `prefix['key']`, the only form env may use for maps.
func subscript(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix+"['")
	if !ok || !strings.HasSuffix(rest, "']") {
		return "", false
	}
	return strings.TrimSuffix(rest, "']"), true
}

// resourceValue mirrors kubelet's ExtractContainerResourceValue: the quantity
// divided by the divisor (default 1), rounded up.
func resourceValue(pod *corev1.Pod, self *corev1.Container, ref *corev1.ResourceFieldSelector) (string, error) {
	c := self
	if ref.ContainerName != "" && ref.ContainerName != self.Name {
		if c = inject.FindContainerFromPod(ref.ContainerName, pod); c == nil {
			return "", fmt.Errorf("no container %q", ref.ContainerName)
		}
	}
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok {
		return "", fmt.Errorf("unsupported resource %q", ref.Resource)
	}
	var list corev1.ResourceList
	switch kind {
	case "limits":
		list = c.Resources.Limits
	case "requests":
		list = c.Resources.Requests
	default:
		return "", fmt.Errorf("unsupported resource %q", ref.Resource)
	}
	q := list[corev1.ResourceName(name)]
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	switch corev1.ResourceName(name) {
	case corev1.ResourceCPU:
		return fmt.Sprint(int64(math.Ceil(float64(q.MilliValue()) / float64(divisor.MilliValue())))), nil
	case corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
		return fmt.Sprint(int64(math.Ceil(float64(q.Value()) / float64(divisor.Value())))), nil
	}
	return "", fmt.Errorf("unsupported resource %q", ref.Resource)
}

// kubeletExpand is kubelet's $(VAR) expansion for env values and args: $(VAR)
// becomes VAR's value if defined (else stays as written), $$ is a literal $.
func kubeletExpand(s string, vars map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// ProxyArgs returns the injected istio-proxy's args (after the image's
// pilot-agent entrypoint, e.g. proxy sidecar --domain ...) with $(VAR)
// expanded from ProxyEnv, as kubelet does.
func ProxyArgs(pod *corev1.Pod) ([]string, error) {
	env, err := ProxyEnv(pod)
	if err != nil {
		return nil, err
	}
	c := inject.FindSidecar(pod)
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		args[i] = kubeletExpand(a, env)
	}
	return args, nil
}

// IptablesArgs returns the args of the injected istio-init (or
// istio-validation) container that runs istio-iptables, without the binary
// name, so they can be passed to istio-iptables' cobra command
// (istio.io/istio/tools/istio-iptables/pkg/cmd). The args include
// --log_output_level, which that command only accepts once the logging flags
// are attached (log.Options.AttachCobraFlags), as pilot-agent's root command
// does for its istio-iptables subcommand.
func IptablesArgs(pod *corev1.Pod) ([]string, error) {
	for _, name := range []string{inject.InitContainerName, inject.ValidationContainerName} {
		c := inject.FindContainer(name, pod.Spec.InitContainers)
		if c == nil {
			continue
		}
		// The template puts the binary first in args (the image entrypoint
		// is pilot-agent's wrapper); accept it in command too.
		argv := append(append([]string{}, c.Command...), c.Args...)
		if len(argv) == 0 || argv[0] != "istio-iptables" {
			return nil, fmt.Errorf("init container %s does not run istio-iptables: %q", name, argv)
		}
		env, err := containerEnv(pod, c)
		if err != nil {
			return nil, err
		}
		out := make([]string, 0, len(argv)-1)
		for _, a := range argv[1:] {
			out = append(out, kubeletExpand(a, env))
		}
		return out, nil
	}
	return nil, errors.New("pod has no istio-init or istio-validation init container")
}

// PodInfo returns the files of the injected istio-podinfo downward API
// volume (mounted at /etc/istio/pod), keyed by path ("labels",
// "annotations"), in kubelet's format (sorted key="quoted value" lines).
// This is how the proxy learns the pod's labels: pilot-agent's bootstrap
// reads ./etc/istio/pod/labels (constants.PodInfoLabelsPath); the injector
// sets no ISTIO_METAJSON_LABELS env.
func PodInfo(pod *corev1.Pod) (map[string]string, error) {
	for _, v := range pod.Spec.Volumes {
		if v.Name != "istio-podinfo" || v.DownwardAPI == nil {
			continue
		}
		files := map[string]string{}
		for _, item := range v.DownwardAPI.Items {
			if item.FieldRef == nil {
				return nil, fmt.Errorf("istio-podinfo %s: only fieldRef is supported", item.Path)
			}
			switch item.FieldRef.FieldPath {
			case "metadata.labels":
				files[item.Path] = formatMap(pod.Labels)
			case "metadata.annotations":
				files[item.Path] = formatMap(pod.Annotations)
			default:
				s, err := fieldValue(pod, item.FieldRef.FieldPath)
				if err != nil {
					return nil, err
				}
				files[item.Path] = s
			}
		}
		return files, nil
	}
	return nil, errors.New("pod has no istio-podinfo downward API volume")
}

// formatMap is kubelet's fieldpath.FormatMap.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = fmt.Sprintf("%s=%q", k, m[k])
	}
	return strings.Join(lines, "\n")
}
