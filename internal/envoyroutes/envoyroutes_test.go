package envoyroutes

import (
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/meshprobe/meshprobe/checks"
)

func parse(t *testing.T, js string) *checks.Config {
	t.Helper()
	c, err := checks.Parse([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func catchAll(cluster string) *routev3.Route {
	return &routev3.Route{Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
		Action: &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: cluster}}}}
}

// TestScope: the health routes go first, take the catch-all's action,
// enable the filter, and replace the ones made for an earlier
// configuration; Unscope leaves the catch-all alone.
func TestScope(t *testing.T) {
	vh := &routev3.VirtualHost{Name: "app", Domains: []string{"*"}, Routes: []*routev3.Route{catchAll("app")}}
	hcm := &hcmv3.HttpConnectionManager{RouteSpecifier: &hcmv3.HttpConnectionManager_RouteConfig{
		RouteConfig: &routev3.RouteConfiguration{VirtualHosts: []*routev3.VirtualHost{vh}}}}
	filter := &hcmv3.HttpFilter{Name: "meshprobe", Disabled: true}

	for _, c := range []struct {
		config string
		want   []string // paths the filter runs on, among those tried
	}{
		{`{"dialects":["standard","kubernetes"]}`, []string{"/health/up", "/health/up/", "/health/up?x", "/livez", "/readyz/ping/"}},
		{`{"base_path":"/hc"}`, []string{"/hc/up", "/hc/up/", "/hc/up?x"}},
	} {
		if err := Scope(hcm, parse(t, c.config), filter.Name); err != nil {
			t.Fatal(err)
		}
		if err := vh.ValidateAll(); err != nil {
			t.Fatalf("%s: %v", c.config, err)
		}
		if n := len(checks.ExactPaths(parse(t, c.config).Routes)) + 1; len(vh.Routes) != n {
			t.Errorf("%s: %d routes, want %d (the health paths and the catch-all)", c.config, len(vh.Routes), n)
		}
		runs := map[string]bool{}
		for _, p := range []string{"/health/up", "/health/up/", "/health/up?x", "/livez", "/readyz/ping/", "/hc/up", "/hc/up/", "/hc/up?x", "/", "/health/upx", "/HC/up"} {
			r := Match(vh, p)
			if r == nil || r.GetRoute().GetCluster() != "app" {
				t.Fatalf("%s: %s takes %v, want a route to app", c.config, p, r)
			}
			runs[p] = Runs(filter, r)
		}
		for p, got := range runs {
			want := false
			for _, w := range c.want {
				want = want || w == p
			}
			if got != want {
				t.Errorf("%s: the filter runs on %s: %v, want %v", c.config, p, got, want)
			}
		}
	}
	Unscope(hcm)
	if len(vh.Routes) != 1 || Runs(filter, Match(vh, "/hc/up")) {
		t.Errorf("after Unscope: %d routes, the filter runs on /hc/up: %v", len(vh.Routes), Runs(filter, Match(vh, "/hc/up")))
	}
	vh.Routes = nil
	if err := Scope(hcm, parse(t, `{}`), filter.Name); err == nil {
		t.Error("Scope without a catch-all route: no error")
	}
}

// TestRuns: a filter runs unless disabled, and a route's FilterConfig
// turns it on or off; a filter-specific per-route config leaves it on.
func TestRuns(t *testing.T) {
	fc := func(disabled bool) *anypb.Any {
		a, _ := anypb.New(&routev3.FilterConfig{Disabled: disabled, Config: &anypb.Any{}})
		return a
	}
	other, _ := anypb.New(wrapperspb.String("x"))
	for _, c := range []struct {
		disabled bool
		per      *anypb.Any
		want     bool
	}{
		{false, nil, true}, {true, nil, false}, {true, fc(false), true}, {false, fc(true), false}, {true, other, true},
	} {
		r := &routev3.Route{}
		if c.per != nil {
			r.TypedPerFilterConfig = map[string]*anypb.Any{"meshprobe": c.per}
		}
		if got := Runs(&hcmv3.HttpFilter{Name: "meshprobe", Disabled: c.disabled}, r); got != c.want {
			t.Errorf("disabled %v, per-route %v: runs %v, want %v", c.disabled, c.per, got, c.want)
		}
	}
}

// TestModelled refuses what Match does not model.
func TestModelled(t *testing.T) {
	for _, c := range []struct {
		name  string
		match *routev3.RouteMatch
		ok    bool
	}{
		{"prefix", &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}}, true},
		{"path", &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Path{Path: "/x"}}, true},
		{"regex", &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_SafeRegex{}}, false},
		{"case-insensitive", &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Path{Path: "/x"}, CaseSensitive: wrapperspb.Bool(false)}, false},
		{"headers", &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Path{Path: "/x"}, Headers: []*routev3.HeaderMatcher{{Name: "x"}}}, false},
	} {
		err := Modelled(&routev3.VirtualHost{Routes: []*routev3.Route{{Match: c.match}}})
		if (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok %v", c.name, err, c.ok)
		}
	}
	perHost := &routev3.VirtualHost{TypedPerFilterConfig: map[string]*anypb.Any{"meshprobe": enable}}
	if Modelled(perHost) == nil {
		t.Error("per-filter configuration on the virtual host: accepted, but Runs does not fall back to it")
	}
}
