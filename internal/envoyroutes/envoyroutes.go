// Package envoyroutes scopes meshprobe's filter to the paths it answers:
// the filter is declared `disabled: true` in the connection manager, and
// one route per path enables it (a route-level FilterConfig). Requests on
// any other path never enter the plugin. It also models how Envoy picks a
// route and whether the filter runs on it, for the hosts that stand in for
// Envoy.
package envoyroutes

import (
	"fmt"
	"slices"
	"strings"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/meshprobe/meshprobe/checks"
)

// RouteName marks the routes Routes makes, so Scope can replace them.
const RouteName = "meshprobe"

// enable is the route-level config that turns a disabled filter on for
// the route: a FilterConfig with an empty config (the filter keeps its own).
var enable = func() *anypb.Any {
	a, err := anypb.New(&routev3.FilterConfig{Config: &anypb.Any{}})
	if err != nil {
		panic(err)
	}
	return a
}()

// Routes are the routes that enable the filter named filter on exactly
// the paths cfg answers (checks.ExactPaths), one `path` match each: every
// other field is copied from action, the route these paths would take
// without meshprobe, so a request the plugin passes on goes where it would
// have gone.
func Routes(cfg *checks.Config, filter string, action *routev3.Route) []*routev3.Route {
	paths := checks.ExactPaths(cfg.Routes)
	out := make([]*routev3.Route, 0, len(paths))
	for _, p := range paths {
		r := proto.Clone(action).(*routev3.Route)
		r.Name = RouteName
		r.Match = &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Path{Path: p}}
		if r.TypedPerFilterConfig == nil {
			r.TypedPerFilterConfig = map[string]*anypb.Any{}
		}
		r.TypedPerFilterConfig[filter] = enable
		out = append(out, r)
	}
	return out
}

// Scope puts Routes for cfg first in every virtual host of hcm's route
// configuration, in place of those Routes made before. Each takes its
// action from the virtual host's catch-all route (prefix "/").
func Scope(hcm *hcmv3.HttpConnectionManager, cfg *checks.Config, filter string) error {
	vhs := hcm.GetRouteConfig().GetVirtualHosts()
	if len(vhs) == 0 {
		return fmt.Errorf("the connection manager with filter %q has no inline route configuration to scope it in", filter)
	}
	for _, vh := range vhs {
		rest := others(vh.GetRoutes())
		var action *routev3.Route
		for _, r := range rest {
			if p, ok := r.GetMatch().GetPathSpecifier().(*routev3.RouteMatch_Prefix); ok && p.Prefix == "/" {
				action = r
				break
			}
		}
		if action == nil {
			return fmt.Errorf("virtual host %s: no catch-all route (prefix \"/\") to take the health routes' action from", vh.GetName())
		}
		vh.Routes = append(Routes(cfg, filter, action), rest...)
	}
	return nil
}

// Match is the first route of vh that matches path, as Envoy picks it
// (first match wins), or nil: a `path` match compares the path without
// its query, a `prefix` match its start. Modelled must accept vh first.
func Match(vh *routev3.VirtualHost, path string) *routev3.Route {
	bare := path
	if i := strings.IndexByte(path, '?'); i >= 0 {
		bare = path[:i]
	}
	for _, r := range vh.GetRoutes() {
		switch s := r.GetMatch().GetPathSpecifier().(type) {
		case *routev3.RouteMatch_Path:
			if bare == s.Path {
				return r
			}
		case *routev3.RouteMatch_Prefix:
			if strings.HasPrefix(path, s.Prefix) {
				return r
			}
		}
	}
	return nil
}

// Modelled refuses a virtual host whose routes Match would get wrong
// (matchers other than a case-sensitive path or prefix), or Runs (a filter
// configured per virtual host, which routes fall back to).
func Modelled(vh *routev3.VirtualHost) error {
	if len(vh.GetTypedPerFilterConfig()) > 0 {
		return fmt.Errorf("virtual host %s: per-filter configuration on the virtual host is not modelled", vh.GetName())
	}
	for i, r := range vh.GetRoutes() {
		m := r.GetMatch()
		cs := m.GetCaseSensitive()
		switch m.GetPathSpecifier().(type) {
		case *routev3.RouteMatch_Path, *routev3.RouteMatch_Prefix:
			if len(m.GetHeaders()) == 0 && len(m.GetQueryParameters()) == 0 && (cs == nil || cs.GetValue()) {
				continue
			}
		}
		return fmt.Errorf("virtual host %s, route %d: only case-sensitive path and prefix matches are modelled", vh.GetName(), i)
	}
	return nil
}

// Runs says whether the filter f runs on a request that takes route r:
// Envoy runs a filter declared disabled only where a route's
// FilterConfig enables it, and skips one a route disables.
func Runs(f *hcmv3.HttpFilter, r *routev3.Route) bool {
	a, ok := r.GetTypedPerFilterConfig()[f.GetName()]
	if !ok {
		return !f.GetDisabled()
	}
	var fc routev3.FilterConfig
	if a.UnmarshalTo(&fc) != nil {
		return true // a filter-specific per-route config: the filter runs with it
	}
	return !fc.GetDisabled()
}

// Unscope removes the routes Routes made from hcm's route configuration.
func Unscope(hcm *hcmv3.HttpConnectionManager) {
	for _, vh := range hcm.GetRouteConfig().GetVirtualHosts() {
		vh.Routes = others(vh.Routes)
	}
}

// others are the routes Routes did not make, in a new slice.
func others(rs []*routev3.Route) []*routev3.Route {
	return slices.DeleteFunc(slices.Clone(rs), func(r *routev3.Route) bool { return r.GetName() == RouteName })
}

// Filter is a wasm filter of a static listener, with the connection
// manager it sits in and the plugin configuration it carries.
type Filter struct {
	HCM    *hcmv3.HttpConnectionManager
	Filter *hcmv3.HttpFilter
	Config []byte // the filter's configuration (a StringValue's text)
}

// Filters are the wasm filters, carrying a StringValue configuration, of
// b's static listeners.
func Filters(b *bootstrapv3.Bootstrap) []Filter {
	var out []Filter
	for _, l := range b.GetStaticResources().GetListeners() {
		for _, chain := range l.GetFilterChains() {
			for _, nf := range chain.GetFilters() {
				var hcm hcmv3.HttpConnectionManager
				if nf.GetTypedConfig().UnmarshalTo(&hcm) != nil {
					continue
				}
				for _, hf := range hcm.GetHttpFilters() {
					var w wasmv3.Wasm
					var s wrapperspb.StringValue
					if hf.GetTypedConfig().UnmarshalTo(&w) == nil && w.GetConfig().GetConfiguration().UnmarshalTo(&s) == nil {
						out = append(out, Filter{HCM: &hcm, Filter: hf, Config: []byte(s.GetValue())})
					}
				}
			}
		}
	}
	return out
}

// Unreached are the paths cfg answers that a request would not bring to
// the filter f in hcm's routes: none when f runs on every request.
func Unreached(hcm *hcmv3.HttpConnectionManager, f *hcmv3.HttpFilter, cfg *checks.Config) []string {
	var out []string
	for _, vh := range hcm.GetRouteConfig().GetVirtualHosts() {
		for _, p := range checks.ExactPaths(cfg.Routes) {
			if r := Match(vh, p); r == nil || !Runs(f, r) {
				out = append(out, p)
			}
		}
	}
	return out
}
