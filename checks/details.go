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
type Peer interface {
	// SourceAddress is the downstream address ("10.1.2.3:5555", "[::1]:80" or a bare IP).
	SourceAddress() string
	// Authorization is the request's authorization header ("" if none).
	Authorization() string
	// Principals are the mTLS peer identities (SPIFFE ids) the proxy knows.
	Principals() []string
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
		if a, ok := parseSourceAddr(p.SourceAddress()); ok {
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
		for _, got := range p.Principals() {
			for _, want := range d.AllowPrincipals {
				if got != "" && got == want {
					return true
				}
			}
		}
	}
	return false
}

func parseSourceAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
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
