package checks

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
		// A source address with port 0 came from a request header: whoever
		// sent it chose it, and it never matches (see Peer).
		if a, ok := parseSocketPeer(p.SourceAddress()); ok {
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

// everyAddress says which family the prefixes cover whole, together:
// "IPv4", "IPv6", "IPv4 and IPv6", or "" for neither. 0.0.0.0/0 does, and
// so do 0.0.0.0/1 with 128.0.0.0/1.
func everyAddress(prefixes []CIDR) string {
	v4 := covers(prefixes, true)
	v6 := covers(prefixes, false)
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

// covers reports whether the prefixes of one family leave no address of it
// out: from the family's first address on, some prefix must hold the first
// address not yet covered, and the one reaching furthest moves it on, until
// the family's last address is covered. Lists are short; no sort needed.
func covers(prefixes []CIDR, v4 bool) bool {
	whole := CIDR{addr: ip{v4: v4}}
	if v4 {
		whole.addr.lo = mapped
	}
	next, end := whole.addr, whole.last() // the first address not covered yet
	for {
		reach, found := ip{}, false
		for _, p := range prefixes {
			if p.addr.v4 == v4 && !next.less(p.addr) && !p.last().less(next) && (!found || reach.less(p.last())) {
				reach, found = p.last(), true
			}
		}
		if !found {
			return false // no prefix holds next
		}
		if reach == end {
			return true
		}
		next = reach
		if next.lo++; next.lo == 0 {
			next.hi++
		}
	}
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
