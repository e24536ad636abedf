package checks

import (
	"html"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
)

func TestEscapesLikeTheStandardLibrary(t *testing.T) {
	seeds := []string{"", "a", "+", "%", "%2", "%20", "%2g", "%G0", "a%2Fb+c", "%%41", "%e2%82%AC", "<a href='x'>&\"</a>", "ü%"}
	r := rand.New(rand.NewPCG(5, 6))
	const chars = "%+2fFgaA<>&'\"ü ="
	for range 100000 {
		b := make([]byte, r.IntN(8))
		for i := range b {
			b[i] = chars[r.IntN(len(chars))]
		}
		seeds = append(seeds, string(b))
	}
	for _, s := range seeds {
		got, ok := queryUnescape(s)
		want, err := url.QueryUnescape(s)
		if ok != (err == nil) || got != want {
			t.Fatalf("queryUnescape(%q) = %q, %v; net/url: %q, %v", s, got, ok, want, err)
		}
		if got, want := htmlEscape(s), html.EscapeString(s); got != want {
			t.Fatalf("htmlEscape(%q) = %q; html: %q", s, got, want)
		}
	}
}

func TestEscapeLabelLikeReplacer(t *testing.T) {
	old := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	r := rand.New(rand.NewPCG(9, 10))
	pieces := []string{"a", `\`, `"`, "\n", "\xff", "\xe2\x82", "€", "\uFFFD", "x\x80\x80y"}
	for range 100000 {
		var b strings.Builder
		for range r.IntN(6) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		s := b.String()
		if got, want := escapeLabel(s), old.Replace(strings.ToValidUTF8(s, "\uFFFD")); got != want {
			t.Fatalf("escapeLabel(%q) = %q, want %q", s, got, want)
		}
	}
}
