// Package demo runs the plugin the way `make run` does on a machine
// without Envoy: it reads envoy/envoy.yaml's listener, routes and clusters
// (Setup), starts demo dependencies where its clusters point, and serves its
// listener through the compiled plugin on internal/testing/wasmhost.
package demo

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/meshprobe/meshprobe/checks"
	"github.com/meshprobe/meshprobe/internal/envoyboot"
)

// Demo is a set of stand-in dependencies, one per cluster the plugin's
// checks call, listening where the bootstrap's clusters point, plus the app
// behind the listener. Each can be told to fail through a control server.
type Demo struct {
	deps    map[string]*Dependency // by cluster
	names   map[string]string      // check name -> cluster
	control *http.Server
	Control string // control server address
	closers []func()
}

// Dependency is one stand-in dependency: it answers as a healthy or a
// failing service of its check kind (an HSM status document for hsm, gRPC
// health for grpc), until told otherwise with Set.
type Dependency struct {
	cluster, kind string
	failing       atomic.Bool
	health        *health.Server // grpc
	services      []string       // grpc services checked
}

// NewDependency is a healthy stand-in for cluster, checked as kind.
func NewDependency(cluster string, kind checks.Kind) *Dependency {
	return &Dependency{cluster: cluster, kind: kind.String()}
}

// Start starts the demo dependencies for s and a control server on
// controlAddr. For a cluster with TLS it makes a throwaway CA, writes the
// proxy's certificate files where the bootstrap names them, and serves
// that dependency with mTLS.
func Start(s *Setup, controlAddr string) (*Demo, error) {
	d := &Demo{deps: map[string]*Dependency{}, names: map[string]string{}}
	kinds := map[string]checks.Kind{}
	for _, c := range s.Config.Checks {
		d.names[c.Name] = c.Cluster
		kinds[c.Cluster] = c.Kind
	}
	if _, ok := kinds[s.RouteCluster]; !ok {
		kinds[s.RouteCluster] = checks.KindHTTP // the app is served even if unchecked
	}
	var pki *envoyboot.PKI
	for cluster, kind := range kinds {
		cl, ok := s.Clusters[cluster]
		if !ok {
			continue // a check on an unknown cluster: the plugin reports it, as with Envoy
		}
		dep := NewDependency(cluster, kind)
		d.deps[cluster] = dep
		var serverTLS *tls.Config
		if cl.TLS != nil {
			if pki == nil {
				var err error
				if pki, err = envoyboot.NewPKI(); err != nil {
					return nil, err
				}
			}
			if err := pki.WriteClient(cl.TLS); err != nil {
				return nil, fmt.Errorf("cluster %s: writing demo certificates: %w", cluster, err)
			}
			leaf, err := pki.Issue("meshprobe demo "+cluster, cl.TLS.SNI, "127.0.0.1", "localhost")
			if err != nil {
				return nil, err
			}
			// mTLS: the server asks for and verifies the proxy's certificate.
			serverTLS = &tls.Config{Certificates: []tls.Certificate{leaf}, ClientCAs: pki.Pool,
				ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
		}
		ln, err := net.Listen("tcp", cl.Addr)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("demo dependency for cluster %s: %w", cluster, err)
		}
		if kind == checks.KindGRPC {
			var services []string
			for _, c := range s.Config.Checks {
				if c.Cluster == cluster {
					services = append(services, c.GRPCService)
				}
			}
			d.closers = append(d.closers, dep.ServeGRPC(ln, serverTLS, services))
			continue
		}
		if serverTLS != nil {
			ln = tls.NewListener(ln, serverTLS)
		}
		srv := &http.Server{Handler: dep}
		go srv.Serve(ln)
		d.closers = append(d.closers, func() { srv.Close() })
	}
	ln, err := net.Listen("tcp", controlAddr)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("demo control server: %w", err)
	}
	d.Control = ln.Addr().String()
	d.control = &http.Server{Handler: http.HandlerFunc(d.serveControl)}
	go d.control.Serve(ln)
	d.closers = append(d.closers, func() { d.control.Close() })
	return d, nil
}

// ServeGRPC serves gRPC health on ln (with TLS if serverTLS is set) for
// the services checked, until the returned stop is called.
func (dep *Dependency) ServeGRPC(ln net.Listener, serverTLS *tls.Config, services []string) (stop func()) {
	var opts []grpc.ServerOption
	if serverTLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(serverTLS)))
	}
	srv := grpc.NewServer(opts...)
	dep.health = health.NewServer()
	dep.services = services
	healthpb.RegisterHealthServer(srv, dep.health)
	dep.Set(false)
	go srv.Serve(ln)
	return srv.Stop
}

// Set makes the dependency fail or recover.
func (dep *Dependency) Set(fail bool) {
	dep.failing.Store(fail)
	if dep.health != nil {
		st := healthpb.HealthCheckResponse_SERVING
		if fail {
			st = healthpb.HealthCheckResponse_NOT_SERVING
		}
		for _, s := range dep.services {
			dep.health.SetServingStatus(s, st)
		}
	}
}

// ServeHTTP answers as a healthy or failing dependency; the app cluster
// also answers every other path, so pass-through traffic shows.
func (dep *Dependency) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case dep.failing.Load():
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"status":"DOWN"}`)
	case dep.kind == "hsm":
		io.WriteString(w, `{"status":"OK","partitions":[{"id":"demo","status":"OK"}]}`)
	default:
		fmt.Fprintf(w, `{"status":"UP","cluster":%q,"method":%q,"path":%q}`, dep.cluster, r.Method, r.URL.Path)
	}
}

// serveControl: POST /fail/NAME or /recover/NAME, NAME a check or cluster.
func (d *Demo) serveControl(w http.ResponseWriter, r *http.Request) {
	action, name, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if cluster, ok := d.names[name]; ok {
		name = cluster
	}
	dep := d.deps[name]
	if r.Method != http.MethodPost || dep == nil || (action != "fail" && action != "recover") {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, "POST /fail/NAME or /recover/NAME, NAME one of: %s\n", strings.Join(d.Names(), ", "))
		return
	}
	dep.Set(action == "fail")
	fmt.Fprintf(w, "%s: %s\n", name, map[bool]string{true: "failing", false: "healthy"}[action == "fail"])
}

// Names are the check names the control server accepts.
func (d *Demo) Names() []string {
	var out []string
	for n := range d.names {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Close stops every demo server.
func (d *Demo) Close() {
	for _, c := range d.closers {
		c()
	}
}
