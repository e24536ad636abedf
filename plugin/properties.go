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
// Envoy (since 1.33) serves the node only under xds.node; a top-level
// "node" property is not found.
func readNodeMeta() checks.NodeMeta {
	meta := func(path ...string) string { return property(append([]string{"xds", "node", "metadata"}, path...)...) }
	return checks.NodeMeta{
		WorkloadName: meta("WORKLOAD_NAME"),
		App:          meta("LABELS", "app"),
		Version:      meta("LABELS", "version"),
		Namespace:    meta("NAMESPACE"),
		ClusterID:    meta("CLUSTER_ID"),
	}
}

// peer answers the details policy from the current request, reading each
// property only when the policy asks for it.
type peer struct{}

// SourceAddress is Envoy's source.address: the downstream remote address
// after the connection manager's original-IP detection, "ip:port". When it
// came from x-forwarded-for its port is 0, and checks refuses it.
func (peer) SourceAddress() string { return property("source", "address") }

func (peer) Authorization() string {
	v, _ := proxywasm.GetHttpRequestHeader("authorization")
	return v
}

// Principal is Envoy's connection.uri_san_peer_certificate: the first URI
// SAN of the client certificate of a downstream TLS connection, not found
// on plaintext or without one. Nothing a client sends in a header (such as
// x-forwarded-client-cert) is read; neither is source.principal, which is
// no Envoy attribute.
func (peer) Principal() string { return property("connection", "uri_san_peer_certificate") }
