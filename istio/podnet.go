package istio

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"istio.io/istio/pkg/log"
	iptablescmd "istio.io/istio/tools/istio-iptables/pkg/cmd"
)

// istioIptablesEnv makes the test binary (see TestMain) act as istio-init:
// it runs istio-iptables with the arguments after "--" and exits. Re-executing
// under `ip netns exec` is what puts Istio's own code inside the pod's netns,
// the way the init container runs inside the pod.
const istioIptablesEnv = "MESHPROBE_ISTIO_IPTABLES"

// requireIstioEnv turns "cannot run here" (not root, no iptables) into a failure.
const requireIstioEnv = "MESHPROBE_REQUIRE_ISTIO"

// PodNet is a network namespace standing in for a pod: a veth pair to the
// host namespace (host side HostIP/24, pod side eth0 PodIP/24, default route
// in the pod via HostIP, lo up), with Istio's redirect applied inside by
// istio-iptables' own code. Everything it made is removed in t.Cleanup.
type PodNet struct {
	HostIP, PodIP string
	name          string // netns name
	hostVeth      string // host side of the veth pair
}

// NewPodNet creates the pod namespace and applies istio-iptables with
// iptablesArgs: the injected istio-init container's args, e.g.
// ["istio-iptables", "-p", "15001", ...] (the leading subcommand may be left
// out). Names carry a random suffix so parallel runs do not collide; the
// addresses are the caller's to keep apart.
func NewPodNet(t testing.TB, hostIP, podIP string, iptablesArgs []string) *PodNet {
	t.Helper()
	if os.Geteuid() != 0 {
		podNetUnavailable(t, "PodNet needs root (network namespaces, iptables)")
	}
	for _, bin := range []string{"ip", "iptables", "iptables-save", "setpriv"} {
		if _, err := exec.LookPath(bin); err != nil {
			podNetUnavailable(t, "PodNet needs %s (Debian packages iproute2, iptables, util-linux): %v", bin, err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("PodNet: %v", err)
	}
	// Two veths on one subnet make routing ambiguous and tests fail obscurely.
	_, subnet, err := net.ParseCIDR(hostIP + "/24")
	if err != nil {
		t.Fatalf("PodNet: host IP %q: %v", hostIP, err)
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && subnet.Contains(n.IP) {
			t.Fatalf("PodNet: %s is already on this host (another PodNet?); concurrent tests need distinct /24s", a)
		}
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	sfx := hex.EncodeToString(b)
	p := &PodNet{HostIP: hostIP, PodIP: podIP, name: "meshprobe-" + sfx, hostVeth: "mpv" + sfx}

	// Root without CAP_SYS_ADMIN (e.g. an unprivileged container) fails here.
	if out, err := exec.Command("ip", "netns", "add", p.name).CombinedOutput(); err != nil {
		podNetUnavailable(t, "cannot create a network namespace: %v: %s", err, out)
	}
	// Cleanups run last-registered first: veth, then the netns (its rules go with it).
	t.Cleanup(func() { p.cleanup(t, "ip", "netns", "del", p.name) })
	// The peer is created directly inside the netns, so no half-moved veth can be left behind.
	p.mustRun(t, "ip", "link", "add", p.hostVeth, "type", "veth", "peer", "name", "eth0", "netns", p.name)
	t.Cleanup(func() {
		// Deleting the netns already destroys the pair; only complain if it is still there.
		if exec.Command("ip", "link", "show", p.hostVeth).Run() == nil {
			p.cleanup(t, "ip", "link", "del", p.hostVeth)
		}
	})
	p.mustRun(t, "ip", "addr", "add", hostIP+"/24", "dev", p.hostVeth)
	p.mustRun(t, "ip", "link", "set", p.hostVeth, "up")
	in := []string{"ip", "netns", "exec", p.name}
	p.mustRun(t, append(in, "ip", "link", "set", "lo", "up")...)
	p.mustRun(t, append(in, "ip", "addr", "add", podIP+"/24", "dev", "eth0")...)
	p.mustRun(t, append(in, "ip", "link", "set", "eth0", "up")...)
	p.mustRun(t, append(in, "ip", "route", "add", "default", "via", hostIP)...)

	cmd := exec.Command("ip", append([]string{"netns", "exec", p.name, exe, "--"}, iptablesArgs...)...)
	cmd.Env = append(os.Environ(), istioIptablesEnv+"=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("PodNet %s: istio-iptables %q: %v\n%s", p.name, iptablesArgs, err, out)
	}
	return p
}

// Name is the netns name (for `ip netns exec NAME ...`).
func (p *PodNet) Name() string { return p.name }

// Listen opens a listener inside the namespace. The socket stays in the
// namespace it was created in; the calling thread is switched back.
func (p *PodNet) Listen(network, addr string) (net.Listener, error) {
	var l net.Listener
	err := p.do(func() (err error) {
		l, err = net.Listen(network, addr)
		return err
	})
	return l, err
}

// Command runs name inside the namespace as uid/gid with no supplementary
// groups (e.g. Envoy as Istio's proxy user 1337, whose own traffic the OUTPUT
// rules leave alone). `ip netns exec` and setpriv both exec in place, so the
// returned Cmd's process is the command itself (signals reach it). The
// binary and its directories must be accessible to uid.
func (p *PodNet) Command(uid, gid int, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", p.name, "setpriv",
		"--reuid", strconv.Itoa(uid), "--regid", strconv.Itoa(gid), "--clear-groups", "--", name}, args...)...)
}

// Rules returns `iptables-save` output inside the namespace.
func (p *PodNet) Rules() (string, error) {
	out, err := exec.Command("ip", "netns", "exec", p.name, "iptables-save").CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("iptables-save in %s: %v: %s", p.name, err, out)
	}
	return string(out), nil
}

// do runs f on a locked OS thread switched into the pod's netns.
func (p *PodNet) do(f func() error) error {
	runtime.LockOSThread()
	host, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open host netns: %w", err)
	}
	defer unix.Close(host)
	pod, err := unix.Open("/run/netns/"+p.name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open netns %s: %w", p.name, err)
	}
	defer unix.Close(pod)
	if err := unix.Setns(pod, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", p.name, err)
	}
	ferr := f()
	if err := unix.Setns(host, unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: the runtime discards it when the goroutine
		// ends, so no other goroutine ever runs in the pod's netns by accident.
		return fmt.Errorf("setns back to host: %w", err)
	}
	runtime.UnlockOSThread()
	return ferr
}

func (p *PodNet) mustRun(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("PodNet %s: %s: %v\n%s", p.name, strings.Join(args, " "), err, out)
	}
}

func (p *PodNet) cleanup(t testing.TB, args ...string) {
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Errorf("PodNet cleanup: %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// podNetUnavailable skips (loudly) or, with MESHPROBE_REQUIRE_ISTIO=1, fails.
func podNetUnavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(requireIstioEnv) == "1" {
		t.Fatalf("%s=1 but %s", requireIstioEnv, msg)
	}
	t.Skipf("SKIPPED: %s (set %s=1 to make this a failure)", msg, requireIstioEnv)
}

// runIstioIptables runs istio-iptables the way the istio-init container does:
// as the istio-iptables subcommand of a root command carrying Istio's logging
// flags (as pilot-agent does), so args like --log_output_level parse.
func runIstioIptables(args []string) int {
	if len(args) == 0 || args[0] != "istio-iptables" {
		args = append([]string{"istio-iptables"}, args...)
	}
	opts := log.DefaultOptions()
	root := &cobra.Command{Use: "pilot-agent", SilenceUsage: true}
	opts.AttachCobraFlags(root)
	root.AddCommand(iptablescmd.GetCommand(opts))
	root.SetArgs(args)
	// The subcommand exits by itself with its own code on failure.
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}
