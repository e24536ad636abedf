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

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

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
// action from the first other route that would match the health paths
// (in practice the catch-all).
func Scope(hcm *hcmv3.HttpConnectionManager, cfg *checks.Config, filter string) error {
	vhs := hcm.GetRouteConfig().GetVirtualHosts()
	if len(vhs) == 0 {
		return fmt.Errorf("the connection manager with filter %q has no inline route configuration to scope it in", filter)
	}
	for _, vh := range vhs {
		rest := slices.DeleteFunc(slices.Clone(vh.GetRoutes()), func(r *routev3.Route) bool { return r.GetName() == RouteName })
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

// Modelled refuses a virtual host whose routes Match would get wrong:
// matchers other than a case-sensitive path or prefix.
func Modelled(vh *routev3.VirtualHost) error {
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
		vh.Routes = slices.DeleteFunc(vh.Routes, func(r *routev3.Route) bool { return r.GetName() == RouteName })
	}
}
