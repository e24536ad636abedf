package checks

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/netip"
	"strings"
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

// Allows reports whether this peer may see details (DESIGN.md §6).
func (d *Details) Allows(p Peer) bool {
	switch d.Expose {
	case ExposeAlways:
		return true
	case ExposeNever:
		return false
	}
	return d.Listed(p)
}

// Listed reports whether the peer is in one of the allow lists, whatever
// Expose says. Changing state (drain) takes this: "always" exposes details
// to everyone, never the power to take a replica out of rotation.
func (d *Details) Listed(p Peer) bool {
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

// tokenMatches hashes the bearer token and compares it with every configured
// hash in constant time (no early exit), so timing says nothing about which
// hash, or how much of one, matched.
func tokenMatches(hashes [][32]byte, authorization string) bool {
	const scheme = "bearer "
	if len(authorization) <= len(scheme) || !strings.EqualFold(authorization[:len(scheme)], scheme) {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(authorization[len(scheme):])))
	ok := 0
	for i := range hashes {
		ok |= subtle.ConstantTimeCompare(sum[:], hashes[i][:])
	}
	return ok == 1
}

func (d *Details) hasAllowLists() bool {
	return len(d.AllowCIDRs)+len(d.TokenSHA256)+len(d.AllowPrincipals) > 0
}
