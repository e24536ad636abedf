package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/encoding/protojson"

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
	fs.StringVar(&r.cluster, "cluster", "", "the cluster the health paths are routed to when the plugin passes a request on (the app's)")
	fs.StringVar(&r.filter, "filter", "meshprobe", "the wasm filter's name in the connection manager's http_filters")
	if fs.Parse(args) != nil || r.cluster == "" || r.filter == "" || fs.NArg() == 0 {
		return nil
	}
	return fs.Args()
}

// print writes the routes for cfg as a YAML list, one route per line in
// JSON (flow) form, under a comment that says where they go.
func (r *routesFlags) print(w io.Writer, where string, cfg *checks.Config) error {
	action := &routev3.Route{Action: &routev3.Route_Route{Route: &routev3.RouteAction{
		ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: r.cluster}}}}
	fmt.Fprintf(w, "# %s: first in the virtual host's routes; the %s filter is declared with disabled: true\n", where, r.filter)
	for _, rt := range envoyroutes.Routes(cfg, r.filter, action) {
		js, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(rt)
		if err != nil {
			return err
		}
		var line bytes.Buffer // protojson's spacing varies on purpose; this is stable
		if err := json.Compact(&line, js); err != nil {
			return err
		}
		fmt.Fprintf(w, "- %s\n", line.Bytes())
	}
	return nil
}
