package checks

import (
	"net/netip"
	"slices"
)

// Peer is what the details policy may ask about a request. The plugin reads
// each value from the proxy only when the policy asks, so a probe that needs
// no details costs no property lookups.
//
// No request header may widen what a client sees or may do: every value
// here must come from the connection, except the bearer token, which is a
// secret the client proves it holds.
type Peer interface {
	// SourceAddress is the proxy's source address for the request, "ip:port"
	// ("10.1.2.3:5555", "[::1]:80"). Envoy's connection manager may replace
	// the socket's peer with an address from a request header
	// (x-forwarded-for with use_remote_address false, Envoy's default and
	// Istio's sidecar inbound; trusted hops; original-IP detection
	// extensions); such an address has port 0, which no TCP peer has.
	SourceAddress() string
	// Authorization is the request's authorization header ("" if none).
	Authorization() string
	// Principal is the first URI SAN (a SPIFFE id) of the client certificate
	// presented on this connection's TLS handshake, "" on a plaintext
	// connection or without a client certificate. Only a listener that
	// verifies client certificates (Istio mTLS does) makes it an identity.
	Principal() string
}

// Allows reports whether this peer may see details (README, "Who sees details").
func (d *Details) Allows(p Peer) bool {
	switch d.Expose {
	case ExposeAlways:
		return true
	case ExposeNever:
		return false
	}
	return d.InAllowLists(p)
}

// InAllowLists reports whether the peer is in one of the allow lists, whatever
// Expose says. Changing state (drain) takes this: "always" exposes details
// to everyone, never the power to take a replica out of rotation.
func (d *Details) InAllowLists(p Peer) bool {
	if len(d.AllowCIDRs) > 0 {
		if a, ok := socketPeer(p.SourceAddress()); ok {
			for _, pfx := range d.AllowCIDRs {
				if pfx.Contains(a) {
					return true
				}
			}
		}
	}
	if len(d.TokenSHA256) > 0 && tokenMatches(d.TokenSHA256, p.Authorization()) {
		return true
	}
	if len(d.AllowPrincipals) > 0 {
		if got := p.Principal(); got != "" {
			for _, want := range d.AllowPrincipals {
				if got == want {
					return true
				}
			}
		}
	}
	return false
}

// socketPeer is the IP of a source address that is a real TCP peer: "ip:port"
// with a non-zero port. Envoy parses an address it takes from a request
// header (x-forwarded-for, an original-IP detection extension) without a
// port, so it reports port 0: whoever sent the header chose that address,
// and it never matches allow_cidrs, whatever the header. A bare IP or
// anything else that is not "ip:port" (a pipe path) never matches either.
func socketPeer(s string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil || ap.Port() == 0 {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// unmapPrefix turns an IPv4-mapped IPv6 prefix (::ffff:10.0.0.0/104) into
// the IPv4 prefix it means (10.0.0.0/8): socketPeer unmaps the peer, and an
// IPv4 address is never in an IPv6 prefix, so as written it would match
// nothing.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}

// everyAddress says which family the prefixes (masked, unmapped) cover
// whole, together: "IPv4", "IPv6", "IPv4 and IPv6", or "" for neither.
// 0.0.0.0/0 does, and so do 0.0.0.0/1 with 128.0.0.0/1.
func everyAddress(prefixes []netip.Prefix) string {
	v4 := covers(prefixes, netip.IPv4Unspecified())
	v6 := covers(prefixes, netip.IPv6Unspecified())
	switch {
	case v4 && v6:
		return "IPv4 and IPv6"
	case v4:
		return "IPv4"
	case v6:
		return "IPv6"
	}
	return ""
}

// covers reports whether the prefixes of zero's family leave no address of
// that family out: sorted by first address, each must start at or before
// the first address not yet covered, until the last address is.
func covers(prefixes []netip.Prefix, zero netip.Addr) bool {
	var ranges [][2]netip.Addr
	for _, p := range prefixes {
		if p.Addr().BitLen() == zero.BitLen() {
			ranges = append(ranges, [2]netip.Addr{p.Addr(), lastAddr(p)})
		}
	}
	slices.SortFunc(ranges, func(a, b [2]netip.Addr) int { return a[0].Compare(b[0]) })
	next := zero // the first address not covered yet
	for _, r := range ranges {
		if r[0].Compare(next) > 0 {
			return false // a gap before r
		}
		if r[1].Compare(next) >= 0 {
			if next = r[1].Next(); !next.IsValid() {
				return true // covered through the family's last address
			}
		}
	}
	return false
}

// lastAddr is the highest address of a masked prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// bearerToken is the token of RFC 6750 §2.1 credentials: "Bearer"
// (case-insensitive), exactly one space, then a token68
// (1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="). Anything
// else is no credential: more spaces, a tab, a no-break space or any other
// character, or no token at all. Nothing is trimmed, so no spelling of an
// empty token can reach the hash.
func bearerToken(authorization string) (string, bool) {
	const scheme = "bearer"
	if len(authorization) <= len(scheme)+1 || authorization[len(scheme)] != ' ' {
		return "", false
	}
	for i := 0; i < len(scheme); i++ {
		if authorization[i]|0x20 != scheme[i] {
			return "", false
		}
	}
	tok := authorization[len(scheme)+1:]
	i := 0
	for i < len(tok) && isToken68Char(tok[i]) {
		i++
	}
	if i == 0 {
		return "", false
	}
	for i < len(tok) && tok[i] == '=' {
		i++
	}
	return tok, i == len(tok)
}

func isToken68Char(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
}

// tokenMatches hashes the bearer token and compares it with every configured
// hash in constant time (no early exit), so timing says nothing about which
// hash, or how much of one, matched. A malformed credential is never hashed.
func tokenMatches(hashes [][32]byte, authorization string) bool {
	tok, ok := bearerToken(authorization)
	if !ok {
		return false
	}
	sum := sha256sum([]byte(tok))
	var match uint32
	for i := range hashes {
		match |= equal32(&sum, &hashes[i])
	}
	return match == 1
}

// equal32 is 1 if a and b are equal, else 0, and reads every byte of both
// whatever they hold (crypto/subtle.ConstantTimeCompare, for 32 bytes).
func equal32(a, b *[32]byte) uint32 {
	var v byte
	for i := range a {
		v |= a[i] ^ b[i]
	}
	return (uint32(v) - 1) >> 31
}

func (d *Details) hasAllowLists() bool {
	return len(d.AllowCIDRs)+len(d.TokenSHA256)+len(d.AllowPrincipals) > 0
}
