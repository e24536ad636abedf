package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	healthcheckv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/health_check/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/meshprobe/meshprobe/internal/testing/envoyrun"
)

const (
	livenessPath  = "/health/probes/liveness"
	readinessPath = "/health/probes/readiness"
	apiPath       = "/api/orders?page=2"
)

// checksConfig has n http checks, each on its own cluster depNN (all on the
// upstream, so all up), with details allowed to loopback (/metrics). They
// run every 5 s: at 1 s, the idle Envoys with 200 checks would load the
// CPU that the measured one runs on.
func checksConfig(n int) string {
	cs := make([]string, n)
	for i := range cs {
		cs[i] = fmt.Sprintf(`{"name":"dep%02d","kind":"http","cluster":"dep%02d"}`, i, i)
	}
	return `{"refresh":{"interval":"5s"},"details":{"allow_cidrs":["127.0.0.0/8"]},"checks":[` + strings.Join(cs, ",") + `]}`
}

// bootstrap derives one configuration's bootstrap from envoy/envoy.yaml.
type bootstrap func(s *setup) envoyrun.Bootstrap

type setup struct {
	root     string
	envoy    envoyrun.Release
	upstream string // host:port of the pass-through upstream
}

// base has the clusters "app" (pass-through) and dep00 to dep(deps-1),
// all on the upstream. The wasm filter runs on every request unless
// scoped, where it runs on the health routes envoy/envoy.yaml ships.
func (s *setup) base(wasm, config string, deps int, scoped bool, edit func(*bootstrapv3.Bootstrap) error) envoyrun.Bootstrap {
	shipped, _ := os.ReadFile(filepath.Join(s.root, "envoy", "envoy.yaml"))
	clusters := map[string]envoyrun.Cluster{"app": {Addr: s.upstream}}
	for i := range deps {
		clusters[fmt.Sprintf("dep%02d", i)] = envoyrun.Cluster{Addr: s.upstream}
	}
	return envoyrun.Bootstrap{Shipped: shipped, Wasm: filepath.Join(s.root, "build", wasm+".wasm"), PluginConfig: config,
		Clusters: clusters, Edit: edit, Unscoped: !scoped}
}

// meshprobe with n checks, all up, scoped to its health routes as
// envoy/envoy.yaml ships it, or on every request.
func (s *setup) meshprobe(n int, scoped bool) bootstrap {
	return func(s *setup) envoyrun.Bootstrap { return s.base("meshprobe", checksConfig(n), n, scoped, nil) }
}

// floor is a floor module on every request.
func (s *setup) floor(name string) bootstrap {
	return func(s *setup) envoyrun.Bootstrap { return s.base(name, "", 0, false, nil) }
}

// noFilter is the shipped listener without the wasm filter.
func (s *setup) noFilter() bootstrap {
	return func(s *setup) envoyrun.Bootstrap { return s.base("meshprobe", "", 0, false, replaceWasm(nil)) }
}

// healthCheck answers path with Envoy's health_check filter (not in
// pass-through mode) in place of the wasm filter; with clusters > 0 it
// answers 200 only while each of dep00 to dep(clusters-1) has all its
// hosts healthy (cluster_min_healthy_percentages).
func (s *setup) healthCheck(path string, clusters int) bootstrap {
	hc := &healthcheckv3.HealthCheck{
		PassThroughMode: wrapperspb.Bool(false),
		Headers: []*routev3.HeaderMatcher{{Name: ":path", HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{
			StringMatch: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: path}}}}},
	}
	if clusters > 0 {
		hc.ClusterMinHealthyPercentages = map[string]*typev3.Percent{}
		for i := range clusters {
			hc.ClusterMinHealthyPercentages[fmt.Sprintf("dep%02d", i)] = &typev3.Percent{Value: 100}
		}
	}
	return func(s *setup) envoyrun.Bootstrap {
		return s.base("meshprobe", "", clusters, false, replaceWasm(&hcmv3.HttpFilter{Name: "envoy.filters.http.health_check",
			ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(hc)}}))
	}
}

// directResponse answers livenessPath from a route, with no HTTP filter
// but the router.
func (s *setup) directResponse() bootstrap {
	return func(s *setup) envoyrun.Bootstrap {
		return s.base("meshprobe", "", 0, false, func(b *bootstrapv3.Bootstrap) error {
			if err := replaceWasm(nil)(b); err != nil {
				return err
			}
			return addRoute(b, livenessPath, `{"status":"up"}`)
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

// start runs Envoy with the configuration, workers worker threads on
// cpus ("" for any), quiet log.
func (s *setup) start(boot bootstrap, workers int, cpus string) (*envoyrun.Envoy, string, error) {
	js, err := boot(s).JSON()
	if err != nil {
		return nil, "", err
	}
	e, err := s.exec(js, workers, cpus)
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

func (s *setup) exec(bootstrap []byte, workers int, cpus string) (*envoyrun.Envoy, error) {
	dir, err := os.MkdirTemp("", "envoybench-")
	if err != nil {
		return nil, err
	}
	return envoyrun.Start(context.Background(), envoyrun.Options{Binary: s.envoy.Binary, Bootstrap: bootstrap,
		Concurrency: workers, Dir: dir, CPUs: cpus, LogLevel: "warning"})
}
