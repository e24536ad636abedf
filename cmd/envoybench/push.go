package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"

	"github.com/meshprobe/meshprobe/internal/testing/benchdata"
	"github.com/meshprobe/meshprobe/internal/testing/envoyrun"
)

// pushes prints the time from an LDS push to the first answer of the
// pushed listener: medians over pushRuns, one worker pinned to CPU 0 as
// under load.
func (s *setup) pushes(p printf) error {
	p("#### Configuration push (ms, median of %d)\n\n| configuration | LDS push → first answer of the new listener |\n|---|---:|\n", pushRuns)
	for _, r := range []struct {
		label string
		boot  bootstrap
	}{
		{"no wasm filter", s.noFilter()},
		{"runtime-free wasm (WAT) continue", s.floor("floor-continue-wat")},
		{"Go floor-continue wasm", s.floor("floor-continue")},
		{"meshprobe, 10 checks", s.meshprobe(10, true)},
	} {
		push, err := s.pushTimes(r.boot)
		if err != nil {
			return fmt.Errorf("%s push: %w", r.label, err)
		}
		p("| %s | %.0f |\n", r.label, push)
	}
	p("\nA push changes the plugin's configuration (a new service version) and adds a route, so the new listener\n")
	p("is told apart by that route's answer; Envoy drains the old one.\n\n")
	return nil
}

const pushRuns = 3

// freePort is a loopback port nothing listens on right now.
func freePort() (uint32, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return uint32(ln.Addr().(*net.TCPAddr).Port), nil
}

// poll asks url every millisecond, each time over a new connection, until
// the answer is 200 with the body (any body if want is ""), and returns
// when that answer came.
func poll(url, want string, limit time.Duration) (time.Time, error) {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && (want == "" || string(body) == want) {
				return time.Now(), nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("%s: no 200 within %s", url, limit)
}

// pushTimes starts Envoy with its listener served by LDS from a file, then
// pushes pushRuns changed listeners, each with a route of its own, and
// returns the median time from the file's swap to the route's answer.
func (s *setup) pushTimes(boot bootstrap) (float64, error) {
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "envoybench-lds-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	lds := &envoyrun.LDS{Dir: dir}
	version := func(n int) envoyrun.Bootstrap {
		b := boot(s)
		b.ListenerPort = port
		if b.PluginConfig != "" { // meshprobe: a new service version, a new plugin configuration
			b.PluginConfig = fmt.Sprintf(`{"service":{"version":"push-%d"},%s`, n, b.PluginConfig[1:])
		} else {
			b.PluginConfig = fmt.Sprintf("push-%d", n)
		}
		edit := b.Edit
		b.Edit = func(bs *bootstrapv3.Bootstrap) error {
			if edit != nil {
				if err := edit(bs); err != nil {
					return err
				}
			}
			return addRoute(bs, fmt.Sprintf("/pushed-%d", n), fmt.Sprintf("push %d", n))
		}
		return b
	}
	js, err := lds.Bootstrap(version(0))
	if err != nil {
		return 0, err
	}
	e, err := s.exec(js, 1, "0")
	if err != nil {
		return 0, err
	}
	defer e.Stop()
	url := func(n int) string { return fmt.Sprintf("http://127.0.0.1:%d/pushed-%d", port, n) }
	if _, err := poll(url(0), "push 0", 10*time.Second); err != nil {
		return 0, err
	}
	var ms []float64
	for n := 1; n <= pushRuns; n++ {
		start := time.Now()
		if err := lds.Push(version(n)); err != nil {
			return 0, err
		}
		t, err := poll(url(n), fmt.Sprintf("push %d", n), 10*time.Second)
		if err != nil {
			return 0, fmt.Errorf("%w\n%s", err, e.Tail(20))
		}
		ms = append(ms, float64(t.Sub(start).Microseconds())/1e3)
	}
	return benchdata.Median(ms), nil
}

// addRoute puts a direct_response route answering 200 with body at path
// first in the listener's routes.
func addRoute(b *bootstrapv3.Bootstrap, path, body string) error {
	return envoyrun.EachConnectionManager(b.GetStaticResources().GetListeners()[0], func(hcm *hcmv3.HttpConnectionManager) error {
		for _, vh := range hcm.GetRouteConfig().GetVirtualHosts() {
			vh.Routes = append([]*routev3.Route{{
				Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Path{Path: path}},
				Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{Status: 200,
					Body: &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: body}}}},
			}}, vh.Routes...)
		}
		return nil
	})
}
