package envoyrun

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/meshprobe/meshprobe/checks"
	"github.com/meshprobe/meshprobe/internal/envoyboot"
	"github.com/meshprobe/meshprobe/internal/envoyroutes"
)

// Cluster is an upstream a test points a cluster at.
type Cluster struct {
	Addr  string // host:port; "" for a cluster with no endpoint at all
	HTTP2 bool
	TLS   *envoyboot.TLSFiles // mTLS: the proxy's certificate, key and CA; SNI
}

// Bootstrap derives a test's bootstrap from the shipped one, so the tests
// run what operators copy: the same listener, filter chain, wasm filter,
// stats tags and cluster shapes.
type Bootstrap struct {
	Shipped      []byte // envoy/envoy.yaml
	Wasm         string // the plugin to load (an absolute path)
	PluginConfig string
	// Clusters replace the shipped ones; each is a copy of the shipped
	// cluster of its shape (plain, HTTP/2 or TLS). Without an "app", the
	// listener's route cluster points at a closed port.
	Clusters map[string]Cluster
	// Edit, if set, changes the bootstrap last (node metadata, a TLS
	// listener, connection manager options).
	Edit func(*bootstrapv3.Bootstrap) error
	// ListenerPort binds the listener to that port; 0 lets the kernel
	// pick (Envoy.Listener reads it back), which an LDS update cannot keep.
	ListenerPort uint32
	// Unscoped runs the filter on every request, as a configuration
	// without the health routes does. Otherwise the shipped health
	// routes are made anew for PluginConfig (envoyroutes.Scope).
	Unscoped bool
}

// ListenerName is the shipped listener's name: Envoy.Listener finds its port.
const ListenerName = "inbound"

// JSON is the derived bootstrap: admin and listener on port 0 (the kernel
// picks; Envoy.Listener reads the port back), the wasm filter loading
// Wasm with PluginConfig, Clusters as described.
func (o Bootstrap) JSON() ([]byte, error) {
	b, err := o.build()
	if err != nil {
		return nil, err
	}
	return protojson.Marshal(b)
}

func (o Bootstrap) build() (*bootstrapv3.Bootstrap, error) {
	b, _, err := envoyboot.LoadBootstrap(o.Shipped)
	if err != nil {
		return nil, err
	}
	b.Admin.Address = loopback(0)
	ls := b.GetStaticResources().GetListeners()
	if len(ls) != 1 || ls[0].GetName() != ListenerName {
		return nil, fmt.Errorf("the shipped bootstrap must have one listener named %q", ListenerName)
	}
	ls[0].Address = loopback(o.ListenerPort)
	if err := o.setPlugin(ls[0]); err != nil {
		return nil, err
	}
	clusters, err := o.clusters(b.GetStaticResources().GetClusters())
	if err != nil {
		return nil, err
	}
	b.StaticResources.Clusters = clusters
	if o.Edit != nil {
		if err := o.Edit(b); err != nil {
			return nil, err
		}
	}
	return b, b.ValidateAll()
}

func loopback(port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address: "127.0.0.1", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port}}}}
}

// setPlugin points the listener's wasm filter at o.Wasm with
// o.PluginConfig, and scopes it to that configuration's paths (or to none).
func (o Bootstrap) setPlugin(l *listenerv3.Listener) error {
	found := false
	err := EachConnectionManager(l, func(hcm *hcmv3.HttpConnectionManager) error {
		for _, f := range hcm.GetHttpFilters() {
			if err := o.setFilter(hcm, f); err != nil {
				return err
			}
			found = found || f.GetName() == "meshprobe"
		}
		return nil
	})
	if err == nil && !found {
		err = errors.New("the shipped listener has no wasm filter named meshprobe")
	}
	return err
}

// setFilter loads o.Wasm with o.PluginConfig in f, if f is meshprobe's
// wasm filter, and routes hcm's health paths to it.
func (o Bootstrap) setFilter(hcm *hcmv3.HttpConnectionManager, f *hcmv3.HttpFilter) error {
	var w wasmv3.Wasm
	if f.GetName() != "meshprobe" || f.GetTypedConfig().UnmarshalTo(&w) != nil {
		return nil
	}
	w.GetConfig().GetVmConfig().GetCode().GetLocal().Specifier = &corev3.DataSource_Filename{Filename: o.Wasm}
	cfg, err := anypb.New(wrapperspb.String(o.PluginConfig))
	if err != nil {
		return err
	}
	w.Config.Configuration = cfg
	f.ConfigType = &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&w)}
	if o.Unscoped {
		f.Disabled = false
		envoyroutes.Unscope(hcm)
		return nil
	}
	if !f.GetDisabled() {
		return errors.New("the shipped meshprobe filter is not disabled: true, so it cannot be scoped to its routes (or set Unscoped)")
	}
	parsed, err := checks.Parse([]byte(o.PluginConfig))
	if err != nil {
		return fmt.Errorf("scoping the filter to the configuration's paths: %w (set Unscoped for a configuration the plugin refuses)", err)
	}
	return envoyroutes.Scope(hcm, parsed, f.GetName())
}

// EachHTTPFilter calls f for every HTTP filter of l's connection managers,
// and writes the managers back with f's changes.
func EachHTTPFilter(l *listenerv3.Listener, f func(*hcmv3.HttpFilter) error) error {
	return EachConnectionManager(l, func(hcm *hcmv3.HttpConnectionManager) error {
		for _, hf := range hcm.GetHttpFilters() {
			if err := f(hf); err != nil {
				return err
			}
		}
		return nil
	})
}

// EachConnectionManager calls f for every HTTP connection manager of l
// and writes each back with f's changes.
func EachConnectionManager(l *listenerv3.Listener, f func(*hcmv3.HttpConnectionManager) error) error {
	for _, chain := range l.GetFilterChains() {
		for _, nf := range chain.GetFilters() {
			var hcm hcmv3.HttpConnectionManager
			if nf.GetTypedConfig().UnmarshalTo(&hcm) != nil {
				continue
			}
			if err := f(&hcm); err != nil {
				return err
			}
			nf.ConfigType = &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(&hcm)}
		}
	}
	return nil
}

func mustAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		panic(err) // only for messages this package built from valid ones
	}
	return a
}

// clusters copies the shipped cluster of each wanted shape.
func (o Bootstrap) clusters(shipped []*clusterv3.Cluster) ([]*clusterv3.Cluster, error) {
	shape := func(c Cluster) string {
		switch {
		case c.TLS != nil:
			return "tls"
		case c.HTTP2:
			return "http2"
		}
		return "plain"
	}
	templates := map[string]*clusterv3.Cluster{}
	for _, c := range shipped {
		s := "plain"
		if c.GetTransportSocket() != nil {
			s = "tls"
		} else if len(c.GetTypedExtensionProtocolOptions()) > 0 {
			s = "http2"
		}
		if templates[s] == nil {
			templates[s] = c
		}
	}
	want := o.Clusters
	if _, ok := want["app"]; !ok {
		want = map[string]Cluster{"app": {Addr: "127.0.0.1:1"}}
		for k, v := range o.Clusters {
			want[k] = v
		}
	}
	var out []*clusterv3.Cluster
	for name, c := range want {
		tpl := templates[shape(c)]
		if tpl == nil {
			return nil, fmt.Errorf("cluster %s: the shipped bootstrap has no %s cluster to copy", name, shape(c))
		}
		n := proto.Clone(tpl).(*clusterv3.Cluster)
		n.Name = name
		n.LoadAssignment = &endpointv3.ClusterLoadAssignment{ClusterName: name}
		if c.Addr != "" {
			host, portS, err := net.SplitHostPort(c.Addr)
			if err != nil {
				return nil, fmt.Errorf("cluster %s: %w", name, err)
			}
			port, _ := strconv.Atoi(portS)
			ep := &endpointv3.Endpoint{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
				Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: uint32(port)}}}}}
			n.LoadAssignment.Endpoints = []*endpointv3.LocalityLbEndpoints{{LbEndpoints: []*endpointv3.LbEndpoint{
				{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: ep}}}}}
		}
		if c.TLS != nil {
			if err := setTLS(n, c.TLS); err != nil {
				return nil, fmt.Errorf("cluster %s: %w", name, err)
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// File is a DataSource naming a file.
func File(name string) *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: name}}
}

// setTLS points a copied TLS cluster at the test's files.
func setTLS(c *clusterv3.Cluster, f *envoyboot.TLSFiles) error {
	var t tlsv3.UpstreamTlsContext
	if err := c.GetTransportSocket().GetTypedConfig().UnmarshalTo(&t); err != nil {
		return err
	}
	file := File
	ctx := t.GetCommonTlsContext()
	ctx.TlsCertificates = []*tlsv3.TlsCertificate{{CertificateChain: file(f.Cert), PrivateKey: file(f.Key)}}
	vc := ctx.GetValidationContext()
	if vc == nil {
		return errors.New("the shipped TLS cluster has no validation context")
	}
	vc.TrustedCa = file(f.CA)
	if f.SNI != "" {
		t.Sni = f.SNI
	}
	c.TransportSocket.ConfigType = &corev3.TransportSocket_TypedConfig{TypedConfig: mustAny(&t)}
	return nil
}
