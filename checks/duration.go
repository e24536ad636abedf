package checks

import "time"

// parseDuration reads Go's duration syntax ("1h30m", "1.5s", "-2ms") exactly
// as time.ParseDuration does, whose error text and unit table the plugin
// would otherwise link; ok is false where ParseDuration returns an error.
func parseDuration(s string) (d time.Duration, ok bool) {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "0" {
		return 0, true
	}
	if s == "" {
		return 0, false
	}
	var total uint64
	for s != "" {
		var v, f uint64
		scale := 1.0
		var pre, post bool
		if s[0] != '.' && (s[0] < '0' || s[0] > '9') {
			return 0, false
		}
		n := len(s)
		if v, s, ok = leadingInt(s); !ok {
			return 0, false
		}
		pre = n != len(s)
		if s != "" && s[0] == '.' {
			s = s[1:]
			n = len(s)
			f, scale, s = leadingFraction(s)
			post = n != len(s)
		}
		if !pre && !post {
			return 0, false
		}
		i := 0
		for i < len(s) && s[i] != '.' && (s[i] < '0' || s[i] > '9') {
			i++
		}
		unit, known := durationUnit(s[:i])
		if !known {
			return 0, false
		}
		s = s[i:]
		if v > 1<<63/unit {
			return 0, false
		}
		v *= unit
		if f > 0 {
			v += uint64(float64(f) * (float64(unit) / scale))
			if v > 1<<63 {
				return 0, false
			}
		}
		total += v
		if total > 1<<63 {
			return 0, false
		}
	}
	if neg {
		return -time.Duration(total), true
	}
	if total > 1<<63-1 {
		return 0, false
	}
	return time.Duration(total), true
}

// leadingInt consumes the leading digits of s; ok is false on overflow.
func leadingInt(s string) (x uint64, rest string, ok bool) {
	i := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if x > 1<<63/10 {
			return 0, "", false
		}
		x = x*10 + uint64(s[i]-'0')
		if x > 1<<63 {
			return 0, "", false
		}
	}
	return x, s[i:], true
}

// leadingFraction consumes the leading digits of s as a fraction's, keeping
// those that still fit, as time.ParseDuration does.
func leadingFraction(s string) (x uint64, scale float64, rest string) {
	i := 0
	scale = 1
	overflow := false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if overflow {
			continue
		}
		if x > (1<<63-1)/10 {
			overflow = true
			continue
		}
		y := x*10 + uint64(s[i]-'0')
		if y > 1<<63 {
			overflow = true
			continue
		}
		x = y
		scale *= 10
	}
	return x, scale, s[i:]
}

func durationUnit(u string) (uint64, bool) {
	switch u {
	case "ns":
		return uint64(time.Nanosecond), true
	case "us", "µs", "μs": // U+00B5 and U+03BC
		return uint64(time.Microsecond), true
	case "ms":
		return uint64(time.Millisecond), true
	case "s":
		return uint64(time.Second), true
	case "m":
		return uint64(time.Minute), true
	case "h":
		return uint64(time.Hour), true
	}
	return 0, false
}
