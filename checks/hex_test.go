package checks

import (
	"encoding/hex"
	"testing"
)

func TestHex(t *testing.T) {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	if got, want := hexEncode(b), hex.EncodeToString(b); got != want {
		t.Fatalf("hexEncode = %s, want %s", got, want)
	}
	const h = "BA7816BF8F01CFEA414140DE5DAE2223b00361a396177a9cb410ff61f20015ad"
	sum, ok := parseHex32(h)
	want, _ := hex.DecodeString(h)
	if !ok || string(sum[:]) != string(want) {
		t.Errorf("parseHex32(%s) = %x, %v", h, sum, ok)
	}
	for _, bad := range []string{"", h[:63], h + "0", h[:63] + "g", " " + h[1:], h[:62] + "-1"} {
		if _, ok := parseHex32(bad); ok {
			t.Errorf("parseHex32(%q) accepted", bad)
		}
	}
}
