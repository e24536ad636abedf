package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/meshprobe/meshprobe/checks"
	"github.com/meshprobe/meshprobe/internal/envoyroutes"
)

// routesFlags are the routes command's options.
type routesFlags struct {
	cluster, filter string
}

// parse reads the flags and returns the files, or nil on a usage error.
func (r *routesFlags) parse(args []string, stderr io.Writer) []string {
	fs := flag.NewFlagSet("routes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&r.cluster, "cluster", "", "the cluster the health paths are routed to when the plugin passes a request on (the app's); not for a bootstrap")
	fs.StringVar(&r.filter, "filter", "meshprobe", "the wasm filter's name in the connection manager's http_filters; not for a bootstrap")
	if fs.Parse(args) != nil || r.filter == "" || fs.NArg() == 0 {
		return nil
	}
	return fs.Args()
}

// printBootstrap writes the routes for each meshprobe filter of b, made as
// Scope makes them: for the filter's own name, with the catch-all's action.
func (r *routesFlags) printBootstrap(w io.Writer, file string, b *bootstrapv3.Bootstrap) error {
	for _, f := range envoyroutes.Filters(b) {
		cfg, err := checks.Parse(f.Config)
		if err != nil {
			return err
		}
		hcm := proto.Clone(f.HCM).(*hcmv3.HttpConnectionManager)
		if err := envoyroutes.Scope(hcm, cfg, f.Filter.GetName()); err != nil {
			return err
		}
		note := ""
		if !f.Filter.GetDisabled() {
			note = " (it is not yet: until it is, it runs on every request)"
		}
		fmt.Fprintf(w, "# %s: wasm filter %s: first in the virtual host's routes; declare the filter disabled: true%s\n", file, f.Filter.GetName(), note)
		for _, rt := range hcm.GetRouteConfig().GetVirtualHosts()[0].GetRoutes() {
			if rt.GetName() == envoyroutes.RouteName {
				if err := printRoute(w, rt); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// unreached are the problems of b's scoping: each path a meshprobe filter
// declared disabled answers that no route enables it on.
func unreached(b *bootstrapv3.Bootstrap) []string {
	var out []string
	for _, f := range envoyroutes.Filters(b) {
		cfg, err := checks.Parse(f.Config)
		if err != nil || !f.Filter.GetDisabled() {
			continue // refused configurations are reported as such; unscoped filters see every path
		}
		for _, p := range envoyroutes.Unreached(f.HCM, f.Filter, cfg) {
			out = append(out, fmt.Sprintf("wasm filter %s: %s would reach the app: no route enables the filter there (meshprobe-config routes prints them)", f.Filter.GetName(), p))
		}
	}
	return out
}

// print writes the routes for cfg (a plugin configuration or a
// WasmPlugin's), to -cluster, enabling -filter.
func (r *routesFlags) print(w io.Writer, where string, cfg *checks.Config) error {
	if r.cluster == "" {
		return fmt.Errorf("routes: -cluster names the app's cluster (only a bootstrap names it itself)")
	}
	action := &routev3.Route{Action: &routev3.Route_Route{Route: &routev3.RouteAction{
		ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: r.cluster}}}}
	fmt.Fprintf(w, "# %s: first in the virtual host's routes; declare the %s filter disabled: true\n", where, r.filter)
	for _, rt := range envoyroutes.Routes(cfg, r.filter, action) {
		if err := printRoute(w, rt); err != nil {
			return err
		}
	}
	return nil
}

// printRoute writes rt as a YAML list item on one line, in JSON (flow) form.
func printRoute(w io.Writer, rt *routev3.Route) error {
	js, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(rt)
	if err != nil {
		return err
	}
	var line bytes.Buffer // protojson's spacing varies on purpose; this is stable
	if err := json.Compact(&line, js); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "- %s\n", line.Bytes())
	return err
}
