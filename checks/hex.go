package checks

const hexDigits = "0123456789abcdef"

// hexEncode is b in lowercase hex, as encoding/hex.EncodeToString writes it.
func hexEncode(b []byte) string {
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = hexDigits[c>>4], hexDigits[c&15]
	}
	return string(out)
}

// parseHex32 decodes exactly 64 hex digits, of either case, into 32 bytes.
func parseHex32(s string) (sum [32]byte, ok bool) {
	if len(s) != 64 {
		return sum, false
	}
	for i := range sum {
		hi, ok1 := hexValue(s[2*i])
		lo, ok2 := hexValue(s[2*i+1])
		if !ok1 || !ok2 {
			return sum, false
		}
		sum[i] = hi<<4 | lo
	}
	return sum, true
}

func hexValue(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
