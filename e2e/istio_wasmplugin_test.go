package e2e

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	extensionsv1alpha1 "istio.io/api/extensions/v1alpha1"
	typev1beta1 "istio.io/api/type/v1beta1"

	"github.com/meshprobe/meshprobe/checks"
)

// The WasmPlugin manifests: what each must hold, and which workloads it selects.

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
