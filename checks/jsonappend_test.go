package checks

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppendJSONString(t *testing.T) {
	cases := map[string]string{
		"plain":            `"plain"`,
		`q"b\`:             `"q\"b\\"`,
		"nl\n\r\t":         `"nl\n\r\t"`,
		"\x00\x1f":         `"\u0000\u001f"`,
		"<a>&":             `"\u003ca\u003e\u0026"`,
		"\xff":             `"\ufffd"`,
		"é\u2028":          `"é\u2028"`,
		"spiffe://c.l/ns/": `"spiffe://c.l/ns/"`,
	}
	for in, want := range cases {
		if got := string(appendJSONString(nil, in)); got != want {
			t.Errorf("appendJSONString(%q) = %s; want %s", in, got, want)
		}
	}
}

// FuzzJSONString: every string becomes valid JSON that decodes to the same
// text (invalid UTF-8 replaced by U+FFFD, as encoding/json does).
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff\xfe", "\u2029", "\x7f<"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q -> %s is not JSON: %v", s, out, err)
		}
		if want := strings.ToValidUTF8(s, "\uFFFD"); back != want && utf8.ValidString(s) {
			t.Fatalf("%q round-trips to %q", s, back)
		}
	})
}
