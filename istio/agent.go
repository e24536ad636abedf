package istio

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	agentconfig "istio.io/istio/pilot/cmd/pilot-agent/config"
	"istio.io/istio/pkg/bootstrap"
	"istio.io/istio/pkg/bootstrap/platform"
	"istio.io/istio/pkg/security"
)

// The parts of istio-agent (pilot-agent) the harness plays, with Istio's own
// code where the agent has it: the proxy configuration from the injected
// PROXY_CONFIG and the pod's downward-API files, the node metadata from the
// istio-proxy container's environment, and the bootstrap rendered from the
// template the snapshot ships. Everything relative (the XDS and SDS sockets,
// the pod files) is under the proxy's working directory, as in the
// container, so the test changes into it while Istio's code reads them.

// istioModuleDir is where the pinned istio.io/istio snapshot lies in the
// module cache: its bootstrap template is read from there.
func istioModuleDir(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "istio.io/istio").Output()
	if err != nil {
		t.Fatalf("locating istio.io/istio: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// writePodInfo writes the pod's downward-API files (labels, annotations)
// under dir/etc/istio/pod, where the injected volume mounts them.
func writePodInfo(dir string, pod *corev1.Pod) error {
	files, err := PodInfo(pod)
	if err != nil {
		return err
	}
	podDir := filepath.Join(dir, "etc", "istio", "pod")
	if err := os.MkdirAll(podDir, 0o755); err != nil {
		return err
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(podDir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// agentBootstrap renders the Envoy bootstrap istio-agent would write for
// pod, with the proxy's working directory dir (the test changes into it).
func agentBootstrap(t *testing.T, dir string, pod *corev1.Pod) []byte {
	t.Helper()
	env, err := ProxyEnv(pod)
	if err != nil {
		t.Fatal(err)
	}
	if err := writePodInfo(dir, pod); err != nil {
		t.Fatal(err)
	}
	tmpl := filepath.Join(istioModuleDir(t), "tools", "packaging", "common", "envoy_bootstrap.json")
	t.Chdir(dir)
	pc, err := agentconfig.ConstructProxyConfig("", "istio-proxy", env["PROXY_CONFIG"], 0)
	if err != nil {
		t.Fatalf("Istio's proxy configuration from PROXY_CONFIG: %v", err)
	}
	var envs []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		envs = append(envs, k+"="+env[k])
	}
	ip := pod.Status.PodIP
	node, err := bootstrap.GetNodeMetaData(bootstrap.MetadataOptions{
		ID:                  "sidecar~" + ip + "~" + pod.Name + "." + pod.Namespace + "~" + pod.Namespace + ".svc.cluster.local",
		Envs:                envs,
		Platform:            &platform.Unknown{},
		InstanceIPs:         []string{ip},
		ProxyConfig:         pc,
		EnvoyPrometheusPort: 15090,
		EnvoyStatusPort:     15021,
		// pilot-agent's default (WORKLOAD_IDENTITY_SOCKET_FILE unset).
		WorkloadIdentitySocketFile: security.DefaultWorkloadIdentitySocketFile,
	})
	if err != nil {
		t.Fatalf("Istio's node metadata: %v", err)
	}
	var out bytes.Buffer
	if err := bootstrap.New(bootstrap.Config{Node: node}).WriteTo(tmpl, &out); err != nil {
		t.Fatalf("Istio's bootstrap: %v", err)
	}
	return out.Bytes()
}
