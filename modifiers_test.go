package main

import (
	"testing"

	"github.com/tidwall/gjson"
)

// gjson's modifiers run through internal/pretty (go.mod's replace) and
// still answer as they did with github.com/tidwall/pretty.
func TestGjsonModifiers(t *testing.T) {
	doc := `{"b":[1,2],"a":{"c":"\u0041"}}`
	for path, want := range map[string]string{
		"@ugly":                     `{"b":[1,2],"a":{"c":"\u0041"}}`,
		"@pretty":                   "{\n  \"b\": [1, 2],\n  \"a\": {\n    \"c\": \"\\u0041\"\n  }\n}\n",
		`@pretty:{"sortKeys":true}`: "{\n  \"a\": {\n    \"c\": \"\\u0041\"\n  },\n  \"b\": [1, 2]\n}\n",
	} {
		if got := gjson.Get(doc, path).Raw; got != want {
			t.Errorf("%s: got %q, want %q", path, got, want)
		}
	}
}
