package main

import (
	"context"
	"os"
	"path/filepath"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	healthcheckv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/health_check/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/meshprobe/meshprobe/e2e/envoyrun"
)

const (
	livenessPath = "/health/probes/liveness"
	apiPath      = "/api/orders?page=2"
	// One check on the upstream, so readiness is up and ticks run as in production.
	benchConfig = `{"refresh":{"interval":"1s"},"checks":[{"name":"app","kind":"http","cluster":"app"}]}`
)

// bootstrap derives one configuration's bootstrap from envoy/envoy.yaml.
type bootstrap func(s *setup) envoyrun.Bootstrap

type setup struct {
	root     string
	envoy    envoyrun.Release
	upstream string // host:port of the pass-through upstream
}

func (s *setup) base(wasm, config string, edit func(*bootstrapv3.Bootstrap) error) envoyrun.Bootstrap {
	shipped, _ := os.ReadFile(filepath.Join(s.root, "envoy", "envoy.yaml"))
	return envoyrun.Bootstrap{Shipped: shipped, Wasm: filepath.Join(s.root, "build", wasm+".wasm"), PluginConfig: config,
		Clusters: map[string]envoyrun.Cluster{"app": {Addr: s.upstream}}, Edit: edit}
}

func (s *setup) meshprobe() bootstrap {
	return func(s *setup) envoyrun.Bootstrap { return s.base("meshprobe", benchConfig, nil) }
}

func (s *setup) floor(name string) bootstrap {
	return func(s *setup) envoyrun.Bootstrap { return s.base(name, "", nil) }
}

// noFilter is the shipped listener without the wasm filter.
func (s *setup) noFilter() bootstrap {
	return func(s *setup) envoyrun.Bootstrap { return s.base("meshprobe", "", replaceWasm(nil)) }
}

// healthCheck answers livenessPath with Envoy's health_check filter (not in
// pass-through mode) in place of the wasm filter.
func (s *setup) healthCheck() bootstrap {
	hc := &healthcheckv3.HealthCheck{
		PassThroughMode: wrapperspb.Bool(false),
		Headers: []*routev3.HeaderMatcher{{Name: ":path", HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{
			StringMatch: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: livenessPath}}}}},
	}
	return func(s *setup) envoyrun.Bootstrap {
		return s.base("meshprobe", "", replaceWasm(&hcmv3.HttpFilter{Name: "envoy.filters.http.health_check",
			ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(hc)}}))
	}
}

// directResponse answers livenessPath from a route, with no HTTP filter
// but the router.
func (s *setup) directResponse() bootstrap {
	return func(s *setup) envoyrun.Bootstrap {
		return s.base("meshprobe", "", func(b *bootstrapv3.Bootstrap) error {
			if err := replaceWasm(nil)(b); err != nil {
				return err
			}
			return envoyrun.EachConnectionManager(b.GetStaticResources().GetListeners()[0], func(hcm *hcmv3.HttpConnectionManager) error {
				for _, vh := range hcm.GetRouteConfig().GetVirtualHosts() {
					vh.Routes = append([]*routev3.Route{{
						Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Path{Path: livenessPath}},
						Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{Status: 200,
							Body: &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: `{"status":"up"}`}}}},
					}}, vh.Routes...)
				}
				return nil
			})
		})
	}
}

// replaceWasm puts f (nil: nothing) where the listener's wasm filter was.
func replaceWasm(f *hcmv3.HttpFilter) func(*bootstrapv3.Bootstrap) error {
	return func(b *bootstrapv3.Bootstrap) error {
		return envoyrun.EachConnectionManager(b.GetStaticResources().GetListeners()[0], func(hcm *hcmv3.HttpConnectionManager) error {
			var out []*hcmv3.HttpFilter
			for _, hf := range hcm.GetHttpFilters() {
				var w wasmv3.Wasm
				switch {
				case hf.GetTypedConfig().UnmarshalTo(&w) != nil:
					out = append(out, hf)
				case f != nil:
					out = append(out, f)
				}
			}
			hcm.HttpFilters = out
			return nil
		})
	}
}

func mustAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		panic(err)
	}
	return a
}

// start runs the cell's Envoy: one worker on CPU 0, quiet log.
func (s *setup) start(c cell) (*envoyrun.Envoy, string, error) {
	js, err := c.boot(s).JSON()
	if err != nil {
		return nil, "", err
	}
	dir, err := os.MkdirTemp("", "envoybench-")
	if err != nil {
		return nil, "", err
	}
	e, err := envoyrun.Start(context.Background(), envoyrun.Options{Binary: s.envoy.Binary, Bootstrap: js,
		Concurrency: 1, Dir: dir, CPUs: "0", LogLevel: "warning"})
	if err != nil {
		return nil, "", err
	}
	addr, err := e.Listener(envoyrun.ListenerName)
	if err != nil {
		e.Stop()
		return nil, "", err
	}
	return e, "http://" + addr, nil
}
