package checks

import "strconv"

// CIDR is one entry of details.allow_cidrs: an IPv4 or IPv6 prefix with its
// host bits cleared. An IPv4-mapped IPv6 prefix (::ffff:10.0.0.0/104) is
// kept as the IPv4 prefix it means (10.0.0.0/8): the peer's address is
// unmapped too, and an IPv4 address is never in an IPv6 prefix.
//
// It parses and prints as net/netip does (TestCIDRLikeNetip), which the
// plugin does not link: netip brings unique handles and an init of its own.
type CIDR struct {
	addr ip
	bits int // of the family: 0 to 32 for IPv4, 0 to 128 for IPv6
}

// ip is an IPv6 address, or an IPv4 address stored IPv4-mapped
// (::ffff:a.b.c.d) with v4 set, so that one 128-bit mask serves both.
type ip struct {
	hi, lo uint64
	v4     bool
}

const mapped = 0xffff << 32 // lo of ::ffff:0.0.0.0

// Contains reports whether a is in p (a of another family never is).
func (p CIDR) Contains(a ip) bool {
	return a.v4 == p.addr.v4 && a.masked(p.bits128()) == p.addr
}

func (p CIDR) bits128() int {
	if p.addr.v4 {
		return p.bits + 96
	}
	return p.bits
}

// last is the highest address in p.
func (p CIDR) last() ip {
	hi, lo := mask128(p.bits128())
	return ip{p.addr.hi | ^hi, p.addr.lo | ^lo, p.addr.v4}
}

func (p CIDR) String() string {
	return p.addr.String() + "/" + strconv.Itoa(p.bits)
}

// mask128 is the mask of the first n of 128 bits.
func mask128(n int) (hi, lo uint64) {
	switch {
	case n <= 0:
		return 0, 0
	case n < 64:
		return ^uint64(0) << (64 - n), 0
	case n < 128:
		return ^uint64(0), ^uint64(0) << (128 - n)
	}
	return ^uint64(0), ^uint64(0)
}

func (a ip) masked(n int) ip {
	hi, lo := mask128(n)
	return ip{a.hi & hi, a.lo & lo, a.v4}
}

func (a ip) is4In6() bool { return !a.v4 && a.hi == 0 && a.lo>>32 == 0xffff }

func (a ip) less(b ip) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

// String prints IPv4 dotted and IPv6 in RFC 5952's form: lowercase, no
// leading zeros, the longest run of two or more zero groups (the first of
// equals) as "::", an IPv4-mapped address as ::ffff:a.b.c.d.
func (a ip) String() string {
	if a.v4 || a.is4In6() {
		b := make([]byte, 0, 22)
		if !a.v4 {
			b = append(b, "::ffff:"...)
		}
		for i := 3; i >= 0; i-- {
			b = strconv.AppendUint(b, a.lo>>(8*i)&0xff, 10)
			if i > 0 {
				b = append(b, '.')
			}
		}
		return string(b)
	}
	group := func(i int) uint64 {
		if i < 4 {
			return a.hi >> (48 - 16*i) & 0xffff
		}
		return a.lo >> (48 - 16*(i-4)) & 0xffff
	}
	zeroAt, zeroLen := -1, 1
	for i := 0; i < 8; {
		j := i
		for j < 8 && group(j) == 0 {
			j++
		}
		if j-i > zeroLen {
			zeroAt, zeroLen = i, j-i
		}
		i = j + 1
	}
	b := make([]byte, 0, 39)
	for i := 0; i < 8; i++ {
		if i == zeroAt {
			b = append(b, "::"...)
			i += zeroLen - 1
			continue
		}
		if i > 0 && i != zeroAt+zeroLen {
			b = append(b, ':')
		}
		b = strconv.AppendUint(b, group(i), 16)
	}
	return string(b)
}

// parseCIDR reads an allow_cidrs entry: a prefix ("10.0.0.0/8", "fd00::/8")
// or one address, which is the prefix of that address alone. Host bits are
// cleared and an IPv4-mapped prefix becomes IPv4.
func parseCIDR(s string) (CIDR, bool) {
	p, ok := parsePrefix(s)
	if !ok { // one address: a zone is dropped, as netip.PrefixFrom does
		a, _, aok := parseIP(s)
		if !aok {
			return p, false
		}
		p = CIDR{a, 128}
		if a.v4 {
			p.bits = 32
		}
	}
	p.addr = p.addr.masked(p.bits128())
	if p.addr.is4In6() && p.bits >= 96 {
		p.addr.v4, p.bits = true, p.bits-96
	}
	return p, true
}

// parsePrefix reads "address/bits": no zone, bits in decimal without a
// sign or leading zeros, at most the family's width.
func parsePrefix(s string) (CIDR, bool) {
	i := len(s) - 1
	for i >= 0 && s[i] != '/' {
		i--
	}
	if i < 0 {
		return CIDR{}, false
	}
	a, zoned, ok := parseIP(s[:i])
	bits := s[i+1:]
	n, err := strconv.Atoi(bits)
	width := 128
	if a.v4 {
		width = 32
	}
	if !ok || zoned || err != nil || bits[0] < '0' || bits[0] > '9' || len(bits) > 1 && bits[0] == '0' || n > width {
		return CIDR{}, false
	}
	return CIDR{a, n}, true
}

// parseSocketPeer reads a source address "ip:port" or "[ipv6]:port" and
// returns the address, unmapped to IPv4 if IPv4-mapped. It refuses port 0
// (an address Envoy took from a request header; see Peer), an IPv6 zone (no
// prefix holds one) and anything else that is not ip:port.
func parseSocketPeer(s string) (ip, bool) {
	i := len(s) - 1
	for i >= 0 && s[i] != ':' {
		i--
	}
	if i <= 0 {
		return ip{}, false
	}
	host, port := s[:i], s[i+1:]
	bracketed := host[0] == '['
	if bracketed {
		if len(host) < 2 || host[len(host)-1] != ']' {
			return ip{}, false
		}
		host = host[1 : len(host)-1]
	}
	n, ok := 0, port != ""
	for j := 0; ok && j < len(port); j++ {
		c := port[j]
		n = n*10 + int(c-'0')
		ok = c >= '0' && c <= '9' && n <= 65535
	}
	a, zoned, aok := parseIP(host)
	if !ok || n == 0 || !aok || zoned || bracketed == a.v4 {
		return ip{}, false
	}
	if a.is4In6() {
		a.v4 = true
	}
	return a, true
}

// parseIP reads an IPv4 address in four decimal fields without leading
// zeros, or an IPv6 address with an optional zone ("fe80::1%eth0"). The
// first '.', ':' or '%' decides which, as net/netip decides.
func parseIP(s string) (a ip, zoned, ok bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '.':
			v, ok := parseIPv4(s)
			return ip{0, mapped | uint64(v), true}, false, ok
		case ':':
			return parseIPv6(s)
		case '%':
			return ip{}, false, false
		}
	}
	return ip{}, false, false
}

func parseIPv4(s string) (uint32, bool) {
	var v uint32
	fields, digits, field := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || fields == 3 && i < len(s) {
				return 0, false
			}
			v = v<<8 | uint32(field)
			fields, digits, field = fields+1, 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' || digits == 1 && field == 0 {
			return 0, false
		}
		field = field*10 + int(c-'0')
		digits++
		if field > 255 {
			return 0, false
		}
	}
	return v, fields == 4
}

func parseIPv6(s string) (a ip, zoned, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i == len(s)-1 {
				return a, false, false
			}
			s, zoned = s[:i], true
			break
		}
	}
	var g [8]uint16
	n, gap := 0, -1 // groups read; where "::" stands, in groups
	if len(s) >= 2 && s[:2] == "::" {
		gap, s = 0, s[2:]
	}
	for s != "" {
		d, v := 0, 0
		for ; d < len(s) && d < 5; d++ {
			x, ok := hexValue(s[d])
			if !ok {
				break
			}
			v = v<<4 | int(x)
		}
		if d == 0 || d == 5 {
			return a, false, false
		}
		if d < len(s) && s[d] == '.' { // an IPv4 address ends it
			v4, ok := parseIPv4(s)
			if !ok || n > 6 || gap < 0 && n != 6 {
				return a, false, false
			}
			g[n], g[n+1], n, s = uint16(v4>>16), uint16(v4), n+2, ""
			break
		}
		if n == 8 {
			return a, false, false
		}
		g[n], n, s = uint16(v), n+1, s[d:]
		if s == "" {
			break
		}
		if s[0] != ':' || len(s) == 1 {
			return a, false, false
		}
		s = s[1:]
		if s[0] == ':' {
			if gap >= 0 {
				return a, false, false
			}
			gap, s = n, s[1:]
		}
	}
	switch {
	case gap < 0 && n < 8, gap >= 0 && n == 8:
		return a, false, false // too short; or a "::" that stands for nothing
	case gap >= 0:
		copy(g[gap+8-n:], g[gap:n])
		clear(g[gap : gap+8-n])
	}
	for i, v := range g {
		if i < 4 {
			a.hi = a.hi<<16 | uint64(v)
		} else {
			a.lo = a.lo<<16 | uint64(v)
		}
	}
	return a, zoned, true
}
