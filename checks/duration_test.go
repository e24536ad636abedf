package checks

import (
	"testing"
	"time"
)

// FuzzParseDuration: parseDuration agrees with time.ParseDuration on every
// input, in value and in refusing.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"0", "+0", "-0", "1.5s", "1h30m", "500ms", ".5s", "5.s", "1µs", "1μs", "3us", "1ns",
		"", ".", "s", "1", "1x", "9223372036854775807ns", "9223372036854775808ns", "-9223372036854775808ns",
		"2562047h47m16.854775807s", "2562048h", "1.00000000000000000000001s", "0.123456789123456789h", "1e3s", " 1s", "1s "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := time.ParseDuration(s)
		got, ok := parseDuration(s)
		if ok != (err == nil) || got != want {
			t.Fatalf("parseDuration(%q) = %v, %v; time.ParseDuration = %v, %v", s, got, ok, want, err)
		}
	})
}
