package e2e

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	securityv1beta1 "istio.io/api/security/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The Deployments: each probe reaches a meshprobe route through the sidecar.

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
		// Which endpoints suit which probe is declared with each endpoint
		// (checks): a liveness that fails with a dependency suits none.
		if route.KubeletProbe() != kind {
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
