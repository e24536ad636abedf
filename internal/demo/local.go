package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/meshprobe/meshprobe/internal/envoyboot"
	"github.com/meshprobe/meshprobe/internal/testing/wasmhost"
)

// Local is the plugin served by the e2e host as the bootstrap describes:
// its listener, its clusters, its wasm file and plugin configuration.
type Local struct {
	Host     *wasmhost.Host
	Listener *wasmhost.Listener
	workers  int
}

// StartLocal loads the wasm file the bootstrap names on workers VMs, with
// real timers and real callouts to the clusters, and serves the listener.
// The host's log lines and errors go to logs.
func StartLocal(ctx context.Context, s *Setup, workers int, logs io.Writer) (*Local, error) {
	wasm, err := os.ReadFile(s.Wasm)
	if err != nil {
		return nil, fmt.Errorf("the wasm filter's file: %w (run `make build`)", err)
	}
	ups := map[string]wasmhost.Upstream{}
	for name, cl := range s.Clusters {
		u := wasmhost.Upstream{Addr: cl.Addr, HTTP2: cl.HTTP2}
		if cl.TLS != nil {
			if u.TLS, err = envoyboot.ClientConfig(cl.TLS); err != nil {
				return nil, fmt.Errorf("cluster %s: tls: %w", name, err)
			}
		}
		ups[name] = u
	}
	h, err := wasmhost.New(ctx, wasmhost.Options{
		Wasm: wasm, PluginConfig: s.PluginConfig, Workers: workers, Upstreams: ups, Properties: s.Properties,
		OnLog:   func(vm int, l wasmhost.LogLine) { fmt.Fprintf(logs, "[worker %d] %s\n", vm, l) },
		OnError: func(err error) { fmt.Fprintf(logs, "host error: %v\n", err) },
	})
	if err != nil {
		return nil, err
	}
	for i := range workers {
		if !h.VM(i).Configured() {
			h.Close()
			var lines []string
			for _, l := range h.VM(i).Logs() {
				lines = append(lines, l.String())
			}
			return nil, fmt.Errorf("the plugin refused its configuration: %s", strings.Join(lines, "; "))
		}
	}
	l, err := h.ListenRoutes(s.Listener, s.Route)
	if err != nil {
		h.Close()
		return nil, err
	}
	h.StartTimers()
	return &Local{Host: h, Listener: l, workers: workers}, nil
}

// Stop tears the plugin down on every worker, as Envoy does on shutdown,
// then closes the listener and the host.
func (l *Local) Stop() {
	l.Listener.Close()
	for i := range l.workers {
		l.Host.VM(i).Done()
	}
	l.Host.Close()
}
