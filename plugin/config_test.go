package plugin

import (
	"strings"
	"testing"
)

// A refused configuration fails OnPluginStart with exactly one error line
// naming the field and the problem. The classes are covered one by one in
// checks/parse_test.go; these prove the plugin refuses and logs them.
func TestBadConfigurationRefused(t *testing.T) {
	cases := []struct{ config, want string }{
		{`{"checks":[`, "not valid JSON"},
		{`{"refresh":{"intervall":"1s"}}`, "refresh.intervall: unknown field"},
		{`{"checks":[{"name":"db","kind":"redis","cluster":"c"}]}`, `checks[0].kind: unknown kind "redis"`},
		{`{"checks":[{"name":"a","kind":"http","cluster":"c"},{"name":"a","kind":"http","cluster":"d"}]}`, "checks[1].name: duplicate name"},
		{`{"checks":[{"name":"a","kind":"http","cluster":"c","timeout":"2 seconds"}]}`, "checks[0].timeout: bad duration"},
		{`{"dialects":["kubernetes","privacyidea"]}`, "dialects: path collision: /healthz"},
		{`{"checks":[{"name":"a","kind":"http","cluster":"c","headers":{"x-key":42}}]}`, `checks[0].headers.x-key: value must be a string`},
	}
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		for _, c := range cases {
			t.Run(c.want, func(t *testing.T) {
				px, st := rt.start(t, c.config, nil)
				if st {
					t.Fatalf("%s: accepted; want refused", c.config)
				}
				logs := px.logs()
				errs := px.errorLogs()
				if len(logs) != 1 || len(errs) != 1 || !strings.Contains(errs[0], c.want) || strings.Contains(errs[0], "\n") {
					t.Errorf("%s: logs %q; want exactly one error line containing %q", c.config, logs, c.want)
				}
			})
		}
	})
}

// An empty configuration (Envoy passes none when the filter has none) means
// every default: the standard endpoints under /health.
func TestEmptyConfiguration(t *testing.T) {
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		r := rt.mustStart(t, "", nil).do("GET", "/health/probes/readiness")
		if r.status != 200 {
			t.Errorf("readiness = %d %s; want 200", r.status, r.body)
		}
	})
}
