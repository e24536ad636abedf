// Command run is `make run`: demo dependencies where envoy/envoy.yaml's
// clusters point, and the plugin in front of them, in the newest pinned
// Envoy that `make envoy` installed (else an envoy on PATH), else in the
// project's own wasm host (internal/testing/wasmhost) configured from the same file. Ctrl-C
// stops everything.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/meshprobe/meshprobe/checks"
	"github.com/meshprobe/meshprobe/internal/demo"
	"github.com/meshprobe/meshprobe/internal/envoyboot"
	"github.com/meshprobe/meshprobe/internal/testing/envoyrun"
)

func main() {
	config := flag.String("config", "envoy/envoy.yaml", "Envoy static bootstrap")
	workers := flag.Int("workers", 2, "worker VMs (Envoy's --concurrency)")
	control := flag.String("control", "127.0.0.1:10001", "address of the demo control server")
	freePorts := flag.Bool("free-ports", false, "move the listener, clusters and control server to free ports")
	envoy := flag.String("envoy", "", "Envoy binary (default: the newest pinned one installed by `make envoy`, else envoy on PATH)")
	local := flag.Bool("local", false, "use the local wasm host even if Envoy is on PATH")
	flag.Parse()
	if err := run(*config, *workers, *control, *freePorts, *envoy, *local); err != nil {
		fmt.Fprintln(os.Stderr, "make run:", err)
		os.Exit(1)
	}
}

func run(config string, workers int, control string, freePorts bool, envoy string, local bool) error {
	data, err := os.ReadFile(config)
	if err != nil {
		return err
	}
	b, cfgs, err := envoyboot.LoadBootstrap(data)
	if err != nil {
		return fmt.Errorf("%s: %w", config, err)
	}
	if len(cfgs) != 1 {
		return fmt.Errorf("%s: want one meshprobe filter, found %d", config, len(cfgs))
	}
	s, err := demo.NewSetup(b, cfgs[0])
	if err != nil {
		return fmt.Errorf("%s: %w", config, err)
	}
	if freePorts {
		if err := s.UseFreePorts(); err != nil {
			return err
		}
		control = "127.0.0.1:0"
	}
	if envoy == "" && !local {
		envoy = findEnvoy()
	}
	deps, err := demo.Start(s, control)
	if err != nil {
		return err
	}
	defer deps.Close()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	if envoy != "" && !local {
		return runEnvoy(envoy, config, s, workers, freePorts, deps, stop)
	}
	l, err := demo.StartLocal(context.Background(), s, workers, os.Stderr)
	if err != nil {
		return err
	}
	banner(s, deps, fmt.Sprintf("the local wasm host (internal/testing/wasmhost), %d workers; no Envoy found (`make envoy` installs it)", workers))
	<-stop
	l.Stop()
	fmt.Println("stopped")
	return nil
}

// findEnvoy is the newest claimed Envoy installed, else envoy on PATH, else "".
func findEnvoy() string {
	vs, _ := envoyrun.Versions(".")
	if have, _, _ := envoyrun.Installed(".", vs); len(have) > 0 {
		return have[0].Binary
	}
	bin, _ := exec.LookPath("envoy")
	return bin
}

// runEnvoy runs Envoy on the bootstrap (rewritten to a file if ports moved)
// until a signal, which it passes on.
func runEnvoy(envoy, config string, s *demo.Setup, workers int, moved bool, deps *demo.Demo, stop chan os.Signal) error {
	if moved {
		js, err := s.EnvoyJSON()
		if err != nil {
			return err
		}
		config = filepath.Join(os.TempDir(), fmt.Sprintf("meshprobe-envoy-%d.json", os.Getpid()))
		if err := os.WriteFile(config, js, 0o644); err != nil {
			return err
		}
		defer os.Remove(config)
	}
	// Envoy's own start-up log is long: warnings only, so the banner and
	// meshprobe's lines (the wasm component, at info) are what shows.
	cmd := exec.Command(envoy, "-c", config, "--concurrency", fmt.Sprint(workers),
		"--log-level", "warning", "--component-log-level", "wasm:info")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	// Envoy goes when this command goes, even when it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// wait returns when Envoy exits or a signal stops it, or (if poll is
	// set) when poll reports true.
	wait := func(poll func() bool) (bool, error) {
		for {
			var tick <-chan time.Time
			if poll != nil {
				tick = time.After(50 * time.Millisecond)
			}
			select {
			case err := <-done:
				return true, fmt.Errorf("envoy exited: %v", err)
			case <-stop:
				cmd.Process.Signal(syscall.SIGTERM)
				<-done
				fmt.Println("stopped")
				return true, nil
			case <-tick:
				if poll() {
					return false, nil
				}
			}
		}
	}
	// The banner's commands work once Envoy listens.
	listening := func() bool {
		c, err := net.Dial("tcp", s.Listener)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	if ended, err := wait(listening); ended {
		return err
	}
	banner(s, deps, "Envoy ("+envoy+")")
	_, err := wait(nil)
	return err
}

func banner(s *demo.Setup, deps *demo.Demo, runtime string) {
	_, port, _ := net.SplitHostPort(s.Listener)
	base := "http://127.0.0.1:" + port
	names := deps.Names()
	pick := "NAME" // a check that holds readiness back shows the flip
	for _, c := range s.Config.Checks {
		if c.Gates&checks.GateReadiness != 0 {
			pick = c.Name
		}
	}
	fmt.Printf(`meshprobe is serving on %[1]s in %[2]s.
Try:
  curl -i %[1]s/health/probes/readiness
  curl -i %[1]s/health/probes/liveness
  curl -i %[1]s/health/dependencies
  curl -i %[1]s/health/metrics
  open %[1]s/health/status in a browser (the status page)
  curl -i %[1]s/api/anything            (not a health path: passes through to the app)
Make a demo dependency fail, then recover (checks: %[3]s):
  curl -X POST http://%[4]s/fail/%[5]s
  curl -X POST http://%[4]s/recover/%[5]s
Ctrl-C stops.
`, base, runtime, fmt.Sprint(names), deps.Control, pick)
}
