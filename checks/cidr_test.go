package checks

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// netipCIDR is how allow_cidrs entries were read with net/netip.
func netipCIDR(s string) (string, bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		a, aerr := netip.ParseAddr(s)
		if aerr != nil {
			return "", false
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	p = p.Masked()
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.String(), true
}

// netipPeer is how source addresses were read with net/netip; a zoned
// address was accepted there but could be in no prefix.
func netipPeer(s string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil || ap.Port() == 0 || ap.Addr().Zone() != "" {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// compareWithNetip fails t where parseCIDR, parseSocketPeer or Contains
// disagree with net/netip on prefix and peer.
func compareWithNetip(t *testing.T, prefix, peer string) {
	t.Helper()
	p, ok := parseCIDR(prefix)
	want, wantOK := netipCIDR(prefix)
	if ok != wantOK || ok && p.String() != want {
		t.Fatalf("parseCIDR(%q) = %v %v; netip: %q %v", prefix, p, ok, want, wantOK)
	}
	a, aok := parseSocketPeer(peer)
	na, naok := netipPeer(peer)
	if aok != naok || aok && a.String() != na.String() {
		t.Fatalf("parseSocketPeer(%q) = %v %v; netip: %v %v", peer, a, aok, na, naok)
	}
	if ok && aok {
		np := netip.MustParsePrefix(want)
		if got := p.Contains(a); got != np.Contains(na) {
			t.Fatalf("%s contains %s: %v; netip says %v", prefix, peer, got, !got)
		}
	}
}

var cidrSeeds = []string{
	"10.0.0.0/8", "10.1.2.3/8", "10.1.2.3", "0.0.0.0/0", "255.255.255.255/32", "1.2.3.4/33", "1.2.3.4/-1",
	"1.2.3.4/+8", "1.2.3.4/08", "1.2.3.4/", "/8", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1..2.3", "256.1.1.1",
	"::", "::/0", "::1", "::1/128", "::1/129", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::",
	"::2:3:4:5:6:7:8", "1:2:3:4:5:6:7::8", "1::2::3", ":::", "1:::2", ":1", "1:", "12345::", "abcd::EF01",
	"::ffff:10.0.0.0/104", "::ffff:127.0.0.1", "::ffff:0:0/95", "::ffff:0:0/96", "::ffff:1.2.3.4/120",
	"::1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "1:2:3:4:5::1.2.3.4", "1::1.2.3.4.5",
	"fe80::1%eth0", "fe80::1%eth0/64", "fe80::1%a/b", "fe80::1%", "%eth0", "1.2.3.4%eth0", "2001:db8::/32",
	"2001:db8:0:0:1:0:0:1", "2001:0:0:1:0:0:0:1", "0:0:1:0:0:1:0:0", "ffff::ffff:1.2.3.4", "::ffff:ffff:1.2.3.4",
	"", ".", ":", "/", "[::1]", "1.2.3.4/8/8",
}

var peerSeeds = []string{
	"10.1.2.3:5555", "10.1.2.3:0", "10.1.2.3:65535", "10.1.2.3:65536", "10.1.2.3:080", "10.1.2.3:+80",
	"10.1.2.3:", "10.1.2.3", ":80", "[::1]:80", "[::1]:0", "::1:80", "[10.1.2.3]:80", "[::ffff:10.1.2.3]:80",
	"[fe80::1%eth0]:80", "[fe80::1%eth:0]:80", "[::1:80", "[]:80", "[:80", "/tmp/sock", "",
}

func TestCIDRLikeNetip(t *testing.T) {
	for _, prefix := range cidrSeeds {
		for _, peer := range peerSeeds {
			compareWithNetip(t, prefix, peer)
		}
	}
	// Random strings over the characters addresses are made of, and random
	// valid prefixes with addresses near them.
	r := rand.New(rand.NewPCG(3, 4))
	const chars = "0123456789abcdefF:.%/[]"
	random := func() string {
		b := make([]byte, r.IntN(20))
		for i := range b {
			b[i] = chars[r.IntN(len(chars))]
		}
		return string(b)
	}
	for range 200000 {
		compareWithNetip(t, random(), random())
	}
	for range 20000 {
		var b [16]byte
		for i := range b {
			b[i] = byte(r.IntN(3) * 127)
		}
		a := netip.AddrFrom16(b)
		if r.IntN(2) == 0 {
			a = a.Unmap()
		}
		if r.IntN(4) == 0 {
			a = netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: b[12], 13: b[13]})
		}
		peer := netip.AddrPortFrom(a, uint16(r.IntN(3))).String()
		if r.IntN(2) == 0 {
			b[r.IntN(16)] ^= byte(r.IntN(256))
		}
		prefix := netip.PrefixFrom(netip.AddrFrom16(b), r.IntN(129)).String()
		if r.IntN(2) == 0 {
			prefix = netip.PrefixFrom(a, r.IntN(a.BitLen()+1)).String()
		}
		compareWithNetip(t, prefix, peer)
	}
}

func FuzzCIDR(f *testing.F) {
	for i, prefix := range cidrSeeds {
		f.Add(prefix, peerSeeds[i%len(peerSeeds)])
	}
	f.Fuzz(compareWithNetip)
}
