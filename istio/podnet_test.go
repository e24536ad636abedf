package istio

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// podNetInitArgs is what this Istio snapshot's injection template
// (istio-discovery files/injection-template.yaml) renders for istio-init with
// default values (REDIRECT mode, no CNI, statusPort 15020).
var podNetInitArgs = []string{
	"istio-iptables",
	"-p", "15001",
	"-z", "15006",
	"-u", "1337",
	"-m", "REDIRECT",
	"-i", "*",
	"-x", "",
	"-b", "*",
	"-d", "15090,15021,15020",
	"--log_output_level=default:info",
}

func TestPodNetRedirect(t *testing.T) {
	const hostIP, podIP = "10.244.71.1", "10.244.71.2"
	p := NewPodNet(t, hostIP, podIP, podNetInitArgs)
	rules, err := p.Rules()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("iptables-save in %s:\n%s", p.Name(), rules)
	for _, want := range []string{"-j REDIRECT --to-ports 15006", "-j REDIRECT --to-ports 15001", "--uid-owner 1337"} {
		if !strings.Contains(rules, want) {
			t.Errorf("rules lack %q", want)
		}
	}

	t.Run("inbound", func(t *testing.T) {
		ln := podNetListen(t, p, "0.0.0.0:15006")
		// Nothing listens on 8080 in the pod: only PREROUTING's redirect can accept this.
		c, err := net.DialTimeout("tcp", podIP+":8080", 5*time.Second)
		if err != nil {
			t.Fatalf("dial %s:8080 from the host: %v\n%s", podIP, err, rules)
		}
		defer c.Close()
		ac, err := podNetAccept(ln)
		if err != nil {
			t.Fatalf("inbound listener on 15006 got nothing: %v", err)
		}
		defer ac.Close()
		if dst, err := podNetOriginalDst(ac); err != nil || dst.String() != podIP+":8080" {
			t.Errorf("SO_ORIGINAL_DST = %v, %v; want %s:8080", dst, err, podIP)
		}
		// Excluded ports (-d) must not be redirected: nothing listens there, so refused.
		if c, err := net.DialTimeout("tcp", podIP+":15021", 5*time.Second); err == nil {
			c.Close()
			t.Errorf("dial %s:15021 (excluded by -d) connected; want refused", podIP)
		}
	})

	t.Run("outbound", func(t *testing.T) {
		host, err := net.Listen("tcp", hostIP+":0")
		if err != nil {
			t.Fatal(err)
		}
		defer host.Close()
		go podNetServe(host, func(net.Conn) string { return "host" })
		out := podNetListen(t, p, "0.0.0.0:15001")
		go podNetServe(out, func(c net.Conn) string {
			dst, err := podNetOriginalDst(c)
			return fmt.Sprintf("outbound %v %v", dst, err)
		})

		port := strconv.Itoa(host.Addr().(*net.TCPAddr).Port)
		for _, tc := range []struct {
			uid  int
			want string
		}{
			{1337, "host"}, // the proxy's own traffic goes out untouched
			{0, "outbound " + hostIP + ":" + port + " <nil>"},
			{1000, "outbound " + hostIP + ":" + port + " <nil>"},
		} {
			// bash's /dev/tcp is enough for a client and needs nothing uid 1000 cannot read.
			cmd := p.Command(tc.uid, tc.uid, "timeout", "10", "bash", "-c",
				`exec 3<>"/dev/tcp/$0/$1" && IFS= read -r line <&3 && echo "$line"`, hostIP, port)
			cmd.Dir = "/" // the package dir may be closed to other uids
			got, err := cmd.CombinedOutput()
			if strings.TrimSpace(string(got)) != tc.want || err != nil {
				t.Errorf("uid %d dialing %s:%s got %q (%v); want %q", tc.uid, hostIP, port, got, err, tc.want)
			}
		}
	})
}

func TestPodNetCleanup(t *testing.T) {
	var name, veth string
	t.Run("create", func(t *testing.T) {
		p := NewPodNet(t, "10.244.72.1", "10.244.72.2", podNetInitArgs)
		name, veth = p.Name(), p.hostVeth
		if !podNetListed(t, name) {
			t.Errorf("netns %s not in `ip netns list` while in use", name)
		}
		if err := exec.Command("ip", "link", "show", veth).Run(); err != nil {
			t.Errorf("veth %s missing while in use: %v", veth, err)
		}
	})
	if name == "" {
		t.Skip("SKIPPED: no PodNet was created (see the create subtest)")
	}
	if podNetListed(t, name) {
		t.Errorf("netns %s still in `ip netns list` after cleanup", name)
	}
	if out, err := exec.Command("ip", "link", "show", veth).CombinedOutput(); err == nil {
		t.Errorf("veth %s still exists after cleanup:\n%s", veth, out)
	}
}

func podNetListed(t *testing.T, name string) bool {
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return true
		}
	}
	return false
}

func podNetListen(t *testing.T, p *PodNet, addr string) net.Listener {
	ln, err := p.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, p.Name(), err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func podNetAccept(ln net.Listener) (net.Conn, error) {
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	return ln.Accept()
}

// podNetServe answers every connection with one line, until ln is closed.
func podNetServe(ln net.Listener, reply func(net.Conn) string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		w := bufio.NewWriter(c)
		w.WriteString(reply(c) + "\n")
		w.Flush()
		c.Close()
	}
}

// podNetOriginalDst is the address the client dialed before REDIRECT
// rewrote it, as Envoy's original_dst listener filter reads it.
func podNetOriginalDst(c net.Conn) (netip.AddrPort, error) {
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return netip.AddrPort{}, err
	}
	var dst netip.AddrPort
	var serr error
	err = raw.Control(func(fd uintptr) {
		// The kernel fills a 16-byte sockaddr_in; IPv6Mreq is the x/sys getter
		// with a large enough buffer: port (big endian) at [2:4], address at [4:8].
		m, e := unix.GetsockoptIPv6Mreq(int(fd), unix.SOL_IP, unix.SO_ORIGINAL_DST)
		if e != nil {
			serr = e
			return
		}
		b := m.Multiaddr
		dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), binary.BigEndian.Uint16(b[2:4]))
	})
	if err == nil {
		err = serr
	}
	return dst, err
}
