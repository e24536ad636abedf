// Package istio proves meshprobe's Istio manifests (envoy/istio) with
// Istio's own code: a pinned istio.io/istio snapshot, run as a library,
// injects the Deployment, applies the init container's redirect in a
// network namespace standing in for the pod, generates the sidecar's
// configuration as istiod does and serves it over ADS to a real Envoy from
// envoy/versions, which kubelet-style probes then reach. Its own module,
// so the plugin's module never takes Istio's dependencies.
package istio
