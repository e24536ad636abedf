package pretty

import (
	"encoding/json"
	"strings"
	"testing"
)

// The want columns are what github.com/tidwall/pretty v1.2.0 printed for
// the same input, so gjson's modifiers keep their output.
func TestPrettyOptions(t *testing.T) {
	sorted := &Options{Width: 80, Indent: "  ", SortKeys: true}
	narrow := &Options{Width: 20, Indent: "  "}
	numbers := `{"list":[` + strings.Repeat("1,", 29) + `30]}`
	tall := "{\n  \"list\": [\n" + strings.Repeat("    1,\n", 29) + "    30\n  ]\n}\n"
	for _, c := range []struct {
		in   string
		opts *Options
		want string
	}{
		{`{"b":1,"a":[1,2,3],"c":{"x":null,"y":"s\"q"}}`, nil,
			"{\n  \"b\": 1,\n  \"a\": [1, 2, 3],\n  \"c\": {\n    \"x\": null,\n    \"y\": \"s\\\"q\"\n  }\n}\n"},
		{`[]`, nil, "[]\n"},
		{` {"k" : [ ] , "o":{ } } `, nil, "{\n  \"k\": [],\n  \"o\": {}\n}\n"},
		{`[{"a":1},{"b":2}]`, nil, "[\n  {\n    \"a\": 1\n  },\n  {\n    \"b\": 2\n  }\n]\n"},
		{`[[1,2],[3,[4,5]],"x"]`, nil, "[[1, 2], [3, [4, 5]], \"x\"]\n"},
		{numbers, nil, tall},
		{`{"a":[1,2]}`, &Options{Width: 20, Indent: "\t", Prefix: "> "}, "> {\n> \t\"a\": [1, 2]\n> }\n"},
		// A first element's line and a member's line end one column short of Width.
		{`[[[["a",1234],1]],[[["a",1234],1]]]`, narrow,
			"[\n  [\n    [\n      [\"a\", 1234],\n      1\n    ]\n  ],\n  [[[\"a\", 1234], 1]]\n]\n"},
		{`{"k":[1,2,3,4,5,6]}`, narrow, "{\n  \"k\": [\n    1,\n    2,\n    3,\n    4,\n    5,\n    6\n  ]\n}\n"},
		{`{"b":1,"a":2,"\u0061a":3,"A":4}`, sorted, "{\n  \"A\": 4,\n  \"a\": 2,\n  \"\\u0061a\": 3,\n  \"b\": 1\n}\n"},
		{`{"\u00e9":1,"z":2,"\ud83d\ude00":3}`, sorted, "{\n  \"z\": 2,\n  \"\\u00e9\": 1,\n  \"\\ud83d\\ude00\": 3\n}\n"},
	} {
		if got := string(PrettyOptions([]byte(c.in), c.opts)); got != c.want {
			t.Errorf("PrettyOptions(%s)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestUgly(t *testing.T) {
	in := " { \"a\" : [ 1 , \"x y\\\" z\" ] }\n"
	if got, want := string(Ugly([]byte(in))), `{"a":[1,"x y\" z"]}`; got != want {
		t.Errorf("Ugly = %q, want %q", got, want)
	}
}

// FuzzPretty: any input is laid out without failing; valid JSON stays the
// same JSON, only spaced.
func FuzzPretty(f *testing.F) {
	for _, s := range []string{`{"a":[1,{"b":null}],"c":"\u00e9"}`, `[`, `{"a":`, `"x`, `}}]]`, `[1,,2]`, `  `} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := PrettyOptions([]byte(s), &Options{Width: 20, Indent: " "})
		if !json.Valid([]byte(s)) {
			return
		}
		if !json.Valid(out) || string(Ugly(out)) != string(Ugly([]byte(s))) {
			t.Fatalf("PrettyOptions(%q) = %q", s, out)
		}
	})
}
