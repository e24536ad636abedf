package demo

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/meshprobe/meshprobe/checks"
	"github.com/meshprobe/meshprobe/internal/envoyboot"
	"github.com/meshprobe/meshprobe/internal/envoyroutes"
)

// Setup is what the local host needs from a bootstrap: its first listener,
// the route's cluster, the meshprobe filter and the clusters.
type Setup struct {
	Listener     string // host:port
	RouteCluster string // where requests the plugin continues go
	Wasm         string // the filter's vm_config.code.local.filename
	PluginConfig []byte
	Config       *checks.Config
	Properties   map[string]string // plugin_name, plugin_root_id, xds.node.metadata.*
	Clusters     map[string]Cluster

	b      *bootstrapv3.Bootstrap
	vhost  *routev3.VirtualHost // the listener's routes
	filter *hcmv3.HttpFilter    // meshprobe's
}

// Route picks a request's route as Envoy would: its cluster ("" when no
// route matches), and whether meshprobe's filter runs on it.
func (s *Setup) Route(path string) (cluster string, filter bool) {
	r := envoyroutes.Match(s.vhost, path)
	if r == nil {
		return "", false
	}
	return r.GetRoute().GetCluster(), envoyroutes.Runs(s.filter, r)
}

// Cluster is one static cluster with a single endpoint.
type Cluster struct {
	Addr  string
	HTTP2 bool                // explicit_http_config.http2_protocol_options
	TLS   *envoyboot.TLSFiles // an UpstreamTlsContext transport socket
}

const httpOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

// NewSetup reads the pieces of b the local host mirrors. It refuses what
// it does not model rather than run something else than Envoy would.
func NewSetup(b *bootstrapv3.Bootstrap, cfg *checks.Config) (*Setup, error) {
	s := &Setup{b: b, Config: cfg, Clusters: map[string]Cluster{}, Properties: map[string]string{}}
	ls := b.GetStaticResources().GetListeners()
	if len(ls) == 0 {
		return nil, errors.New("the bootstrap has no static listener")
	}
	s.Listener = addr(ls[0].GetAddress().GetSocketAddress())
	for _, chain := range ls[0].GetFilterChains() {
		for _, f := range chain.GetFilters() {
			var hcm hcmv3.HttpConnectionManager
			if f.GetTypedConfig().UnmarshalTo(&hcm) != nil {
				continue
			}
			if vh := hcm.GetRouteConfig().GetVirtualHosts(); len(vh) > 0 && len(vh[0].GetRoutes()) > 0 {
				if len(hcm.GetRouteConfig().GetTypedPerFilterConfig()) > 0 {
					return nil, errors.New("per-filter configuration on the route configuration is not modelled")
				}
				if err := envoyroutes.Modelled(vh[0]); err != nil {
					return nil, err
				}
				s.vhost = vh[0]
				s.RouteCluster = vh[0].GetRoutes()[0].GetRoute().GetCluster()
			}
			for _, hf := range hcm.GetHttpFilters() {
				var w wasmv3.Wasm
				if hf.GetTypedConfig().UnmarshalTo(&w) != nil {
					continue
				}
				raw, err := envoyboot.PluginConfig(&w)
				if err != nil {
					return nil, err
				}
				s.PluginConfig = raw
				s.filter = hf
				s.Wasm = w.GetConfig().GetVmConfig().GetCode().GetLocal().GetFilename()
				s.Properties["plugin_name"] = w.GetConfig().GetName()
				s.Properties["plugin_root_id"] = w.GetConfig().GetRootId()
			}
		}
	}
	if s.Wasm == "" || s.RouteCluster == "" {
		return nil, errors.New("the first listener needs an HTTP connection manager with a route to a cluster and a wasm filter loading a local file")
	}
	flatten("xds.node.metadata", b.GetNode().GetMetadata(), s.Properties)
	for _, c := range b.GetStaticResources().GetClusters() {
		eps := c.GetLoadAssignment().GetEndpoints()
		if len(eps) == 0 || len(eps[0].GetLbEndpoints()) == 0 {
			return nil, fmt.Errorf("cluster %s: the local host needs one static endpoint", c.GetName())
		}
		cl := Cluster{Addr: addr(eps[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress())}
		if a := c.GetTypedExtensionProtocolOptions()[httpOptionsKey]; a != nil {
			var o httpv3.HttpProtocolOptions
			if err := a.UnmarshalTo(&o); err != nil {
				return nil, fmt.Errorf("cluster %s: %w", c.GetName(), err)
			}
			cl.HTTP2 = o.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil
		}
		if ts := c.GetTransportSocket(); ts != nil {
			var t tlsv3.UpstreamTlsContext
			if err := ts.GetTypedConfig().UnmarshalTo(&t); err != nil {
				return nil, fmt.Errorf("cluster %s: only a tls transport socket is modelled: %w", c.GetName(), err)
			}
			ctx := t.GetCommonTlsContext()
			files := &envoyboot.TLSFiles{SNI: t.GetSni(), CA: ctx.GetValidationContext().GetTrustedCa().GetFilename()}
			if certs := ctx.GetTlsCertificates(); len(certs) > 0 {
				files.Cert, files.Key = certs[0].GetCertificateChain().GetFilename(), certs[0].GetPrivateKey().GetFilename()
			}
			cl.TLS = files
		}
		s.Clusters[c.GetName()] = cl
	}
	return s, nil
}

func addr(sa *corev3.SocketAddress) string {
	return net.JoinHostPort(sa.GetAddress(), strconv.Itoa(int(sa.GetPortValue())))
}

// flatten turns node metadata into the dotted properties the plugin reads
// ("xds.node.metadata.LABELS.app", where Envoy serves them); only strings
// are kept.
func flatten(prefix string, s *structpb.Struct, out map[string]string) {
	for k, v := range s.GetFields() {
		switch x := v.GetKind().(type) {
		case *structpb.Value_StringValue:
			out[prefix+"."+k] = x.StringValue
		case *structpb.Value_StructValue:
			flatten(prefix+"."+k, x.StructValue, out)
		}
	}
}

// UseFreePorts moves the listener, every cluster and the admin port to
// free loopback ports, in the Setup and in the bootstrap (see EnvoyJSON), so
// a test or a second copy runs beside a busy machine.
func (s *Setup) UseFreePorts() error {
	free := func() (string, uint32, error) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", 0, err
		}
		defer l.Close()
		return l.Addr().String(), uint32(l.Addr().(*net.TCPAddr).Port), nil
	}
	move := func(sa *corev3.SocketAddress) (string, error) {
		a, port, err := free()
		sa.Address, sa.PortSpecifier = "127.0.0.1", &corev3.SocketAddress_PortValue{PortValue: port}
		return a, err
	}
	var err error
	if s.Listener, err = move(s.b.GetStaticResources().GetListeners()[0].GetAddress().GetSocketAddress()); err != nil {
		return err
	}
	if sa := s.b.GetAdmin().GetAddress().GetSocketAddress(); sa != nil {
		if _, err = move(sa); err != nil {
			return err
		}
	}
	for _, c := range s.b.GetStaticResources().GetClusters() {
		cl := s.Clusters[c.GetName()]
		if cl.Addr, err = move(c.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()); err != nil {
			return err
		}
		s.Clusters[c.GetName()] = cl
	}
	return nil
}

// EnvoyJSON is the bootstrap as it now stands (ports moved), for
// `envoy -c file.json`.
func (s *Setup) EnvoyJSON() ([]byte, error) { return protojson.Marshal(s.b) }
