package plugin

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/meshprobe/meshprobe/checks"
)

// property reads one host property as a string ("" when absent).
func property(path ...string) string {
	b, err := proxywasm.GetProperty(path)
	if err != nil {
		return ""
	}
	return string(b)
}

// readNodeMeta reads the identity Envoy and Istio put in node metadata.
func readNodeMeta() checks.NodeMeta {
	return checks.NodeMeta{
		WorkloadName: property("node", "metadata", "WORKLOAD_NAME"),
		App:          property("node", "metadata", "LABELS", "app"),
		Version:      property("node", "metadata", "LABELS", "version"),
		Namespace:    property("node", "metadata", "NAMESPACE"),
		ClusterID:    property("node", "metadata", "CLUSTER_ID"),
	}
}

// peer answers the details policy from the current request, reading each
// property only when the policy asks for it.
type peer struct{}

func (peer) SourceAddress() string { return property("source", "address") }

func (peer) Authorization() string {
	v, _ := proxywasm.GetHttpRequestHeader("authorization")
	return v
}

// Principals: Istio's source.principal, then Envoy's peer certificate URI SAN.
func (peer) Principals() []string {
	return []string{property("source", "principal"), property("connection", "uri_san_peer_certificate")}
}
