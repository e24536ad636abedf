package istio

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"istio.io/istio/pilot/pkg/serviceregistry/kube/controller"
	"istio.io/istio/pkg/bootstrap"
	"istio.io/istio/pkg/kube"
	"istio.io/istio/pkg/kube/inject"
	"istio.io/istio/pkg/log"
	iptablescmd "istio.io/istio/tools/istio-iptables/pkg/cmd"
)

const (
	catalogManifest = "../envoy/istio/deployment-catalog.yaml"
	testPodIP       = "10.1.0.5"
	testHostIP      = "192.168.0.2"
)

// TestInjectCatalog runs Istio's injector on the shipped catalog Deployment
// and on a copy without the rewriteAppHTTPProbers annotation; the second
// case proves the probe assertions of the first can fail.
func TestInjectCatalog(t *testing.T) {
	shipped, err := os.ReadFile(catalogManifest)
	if err != nil {
		t.Fatal(err)
	}
	anno := []byte(`sidecar.istio.io/rewriteAppHTTPProbers: "false"`)
	if bytes.Count(shipped, anno) != 1 {
		t.Fatalf("%s: want exactly one %s", catalogManifest, anno)
	}
	withoutAnno := bytes.Replace(shipped, anno, nil, 1)

	cases := []struct {
		name     string
		manifest []byte
		// rewritten: probes point at the agent (15020) instead of the app.
		rewritten bool
	}{
		{"shipped", shipped, false},
		{"annotation removed", withoutAnno, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pod, err := InjectPod(c.manifest, "catalog-0", testPodIP, testHostIP)
			if err != nil {
				t.Fatal(err)
			}
			if inject.FindSidecar(pod) == nil {
				t.Fatal("no istio-proxy container")
			}
			app := inject.FindContainer("catalog", pod.Spec.Containers)
			if app == nil {
				t.Fatal("no catalog container")
			}
			env, err := ProxyEnv(pod)
			if err != nil {
				t.Fatal(err)
			}
			checkProbes(t, app, env, c.rewritten)
			checkIdentity(t, pod, env)
			checkIptables(t, pod)
		})
	}
}

func checkProbes(t *testing.T, app *corev1.Container, env map[string]string, rewritten bool) {
	t.Helper()
	var appProbers inject.KubeAppProbers
	if raw, ok := env["ISTIO_KUBE_APP_PROBERS"]; ok {
		if !rewritten {
			t.Errorf("ISTIO_KUBE_APP_PROBERS set although probes are not rewritten: %s", raw)
		}
		if err := json.Unmarshal([]byte(raw), &appProbers); err != nil {
			t.Fatalf("ISTIO_KUBE_APP_PROBERS: %v", err)
		}
	} else if rewritten {
		t.Error("ISTIO_KUBE_APP_PROBERS missing")
	}
	for _, p := range []struct {
		kind      string
		probe     *corev1.Probe
		path      string // the app's own probe
		agentPath string // what Istio rewrites it to, on the agent
	}{
		{"startup", app.StartupProbe, "/health/probes/startup", "/app-health/catalog/startupz"},
		{"readiness", app.ReadinessProbe, "/health/probes/readiness", "/app-health/catalog/readyz"},
		{"liveness", app.LivenessProbe, "/health/probes/liveness", "/app-health/catalog/livez"},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s probe: not an httpGet probe: %+v", p.kind, p.probe)
			continue
		}
		got := *p.probe.HTTPGet
		if !rewritten {
			if got.Path != p.path || got.Port != intstr.FromString("http") {
				t.Errorf("%s probe targets %s on port %s, want %s on http (8080)", p.kind, got.Path, got.Port.String(), p.path)
			}
			continue
		}
		if got.Path != p.agentPath || got.Port != intstr.FromInt32(15020) {
			t.Errorf("%s probe targets %s on port %s, want %s on 15020", p.kind, got.Path, got.Port.String(), p.agentPath)
		}
		// The agent calls the original probe, with the named port resolved.
		orig := appProbers[p.agentPath]
		if orig == nil || orig.HTTPGet == nil || orig.HTTPGet.Path != p.path || orig.HTTPGet.Port.IntValue() != 8080 {
			t.Errorf("ISTIO_KUBE_APP_PROBERS[%s] = %+v, want %s on 8080", p.agentPath, orig, p.path)
		}
	}
}

// checkIdentity checks what tells istiod who the proxy is: env, labels, and
// that Istio's registry sees the pod as a ready endpoint of workload catalog.
func checkIdentity(t *testing.T, pod *corev1.Pod, env map[string]string) {
	t.Helper()
	for k, want := range map[string]string{
		"ISTIO_META_WORKLOAD_NAME": "catalog",
		"ISTIO_META_OWNER":         "kubernetes://apis/apps/v1/namespaces/shop/deployments/catalog",
		"ISTIO_META_CLUSTER_ID":    "Kubernetes",
		"POD_NAME":                 "catalog-0",
		"POD_NAMESPACE":            "shop",
		"INSTANCE_IP":              testPodIP,
		"HOST_IP":                  testHostIP,
		"SERVICE_ACCOUNT":          "default",
		"ISTIO_META_NODE_NAME":     pod.Spec.NodeName,
		// resourceFieldRef of the chart's default limits (2000m, 1024Mi).
		"ISTIO_CPU_LIMIT": "2",
		"GOMAXPROCS":      "2",
		"GOMEMLIMIT":      "1073741824",
	} {
		if got, ok := env[k]; !ok || got != want {
			t.Errorf("env %s = %q (set: %v), want %q", k, got, ok, want)
		}
	}
	if pod.Spec.NodeName == "" {
		t.Error("spec.nodeName is empty")
	}

	// Labels reach the proxy through the pod, not env: the injector adds its
	// own, and the istio-podinfo volume gives them all to the agent.
	if v, ok := env["ISTIO_METAJSON_LABELS"]; ok {
		t.Errorf("unexpected ISTIO_METAJSON_LABELS=%s: labels would come from env", v)
	}
	for k, want := range map[string]string{
		"app":                                 "catalog",
		"version":                             "v1",
		"security.istio.io/tlsMode":           "istio",
		"service.istio.io/canonical-name":     "catalog",
		"service.istio.io/canonical-revision": "v1",
	} {
		if got := pod.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	info, err := PodInfo(pod)
	if err != nil {
		t.Fatal(err)
	}
	// Parsed by the agent's own reader of /etc/istio/pod/labels.
	labels, err := bootstrap.ParseDownwardAPI(info["labels"])
	if err != nil || !reflect.DeepEqual(labels, pod.Labels) {
		t.Errorf("podinfo labels = %v (%v), want %v", labels, err, pod.Labels)
	}
	mounted := slices.ContainsFunc(inject.FindSidecar(pod).VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.Name == "istio-podinfo" && m.MountPath == "/etc/istio/pod"
	})
	if !mounted {
		t.Error("istio-proxy does not mount istio-podinfo at /etc/istio/pod")
	}

	if !controller.IsPodReady(pod) {
		t.Error("Istio's registry would not treat the pod as ready")
	}
	if meta, _ := kube.GetDeployMetaFromPod(pod); meta.Name != "catalog" || meta.Namespace != "shop" {
		t.Errorf("Istio derives workload %v, want shop/catalog", meta)
	}
}

func checkIptables(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	args, err := IptablesArgs(pod)
	if err != nil {
		t.Fatal(err)
	}
	if len(args) == 0 {
		t.Fatal("no istio-iptables args")
	}
	// Parse them with istio-iptables' own command (without running it). In
	// the image it is `pilot-agent istio-iptables`, and --log_output_level
	// is a flag of pilot-agent's root, so attach the logging flags as it does.
	logOpts := log.DefaultOptions()
	cmd := iptablescmd.GetCommand(logOpts)
	logOpts.AttachCobraFlags(cmd)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("istio-iptables rejects %q: %v", args, err)
	}
	for flag, want := range map[string]string{
		"inbound-capture-port": "15006",
		"proxy-uid":            "1337",
		"envoy-port":           "15001",
	} {
		f := cmd.Flags().Lookup(flag)
		if f == nil {
			t.Fatalf("istio-iptables has no --%s", flag)
		}
		if got := f.Value.String(); got != want {
			t.Errorf("istio-iptables --%s = %q, want %q (args %q)", flag, got, want, args)
		}
	}
	// The same values must be given explicitly, not left to the defaults.
	if !slices.Contains(args, "15006") || !slices.Contains(args, "1337") {
		t.Errorf("args %q do not name 15006 and 1337", args)
	}
}

// TestInjectProxyArgsAndVolumes checks the proxy's command line after
// kubelet's $(POD_NAMESPACE) expansion, and that every volume has a source
// after the API server's defaulting.
func TestInjectProxyArgsAndVolumes(t *testing.T) {
	manifest, err := os.ReadFile(catalogManifest)
	if err != nil {
		t.Fatal(err)
	}
	pod, err := InjectPod(manifest, "catalog-0", testPodIP, testHostIP)
	if err != nil {
		t.Fatal(err)
	}
	args, err := ProxyArgs(pod)
	if err != nil {
		t.Fatal(err)
	}
	if len(args) < 4 || args[0] != "proxy" || args[1] != "sidecar" {
		t.Fatalf("args %q, want proxy sidecar ...", args)
	}
	if i := slices.Index(args, "--domain"); i < 0 || i+1 == len(args) || args[i+1] != "shop.svc.cluster.local" {
		t.Errorf("args %q, want --domain shop.svc.cluster.local", args)
	}
	for _, v := range pod.Spec.Volumes {
		if v.VolumeSource == (corev1.VolumeSource{}) {
			t.Errorf("volume %s has no source", v.Name)
		}
	}
	if !slices.ContainsFunc(pod.Spec.Volumes, func(v corev1.Volume) bool {
		return v.Name == "workload-socket" && v.EmptyDir != nil
	}) {
		t.Error("workload-socket is not an emptyDir")
	}
}

// TestInjectExpand covers kubelet's $(VAR) rules used for env and args.
func TestInjectExpand(t *testing.T) {
	vars := map[string]string{"A": "x"}
	for in, want := range map[string]string{
		"$(A).svc": "x.svc",
		"$(B)":     "$(B)", // undefined stays as written
		"$$(A)":    "$(A)", // escaped
		"a$b":      "a$b",
		"$(A":      "$(A",
		"end$":     "end$",
	} {
		if got := kubeletExpand(in, vars); got != want {
			t.Errorf("kubeletExpand(%q) = %q, want %q", in, got, want)
		}
	}
}
