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
		// a mistake never opens a door
		{`{"details":{"token_sha256":["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]}}`,
			"details.token_sha256[0]: is the sha256 of the empty string: was $TOKEN unset?"},
		{`{"drain":{"enabled":true},"details":{"allow_cidrs":["0.0.0.0/0"]}}`, "details.allow_cidrs: "},
		{`{"checks":[{"name":"a","kind":"http","cluster":"c","expect":{"json":{"status":"UP","status":"DOWN"}}}]}`,
			`checks[0].expect.json.status: appears twice`},
		{`{"service":{"name":"a","name":"b"}}`, `service.name: appears twice`},
		{`{"checks":[{"name":"a","kind":"http","cluster":"c","authority":"a\r\nx-injected: 1"}]}`, `checks[0].authority: must not contain control characters`},
		{`{"checks":[{"name":"a","kind":"http","cluster":"c","path":"/h\u0000x"}]}`, `checks[0].path: must not contain control characters`},
		{`{"checks":[{"name":"a","kind":"http","cluster":"c\u007f"}]}`, `checks[0].cluster: must not contain control characters`},
		{`{"checks":[{"name":"a","kind":"grpc","cluster":"c","grpc_service":"x\u001b[2J"}]}`, `checks[0].grpc_service: must not contain control characters`},
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

// Whatever an error line quotes from the configuration is escaped and
// bounded: a key cannot forge a second log line or fill the log.
func TestConfigErrorLineEscapedAndBounded(t *testing.T) {
	cases := []struct{ name, config, want string }{
		{"forged newline", `{"x\nmeshprobe: forged":1}`, `"x\nmeshprobe: forged": unknown field`},
		{"100 KB key", `{"` + strings.Repeat("k", 100<<10) + `":1}`, `kkkk`},
		{"100 KB key with newlines", `{"` + strings.Repeat(`k\n`, 50<<10) + `":1}`, `"k\nk\n`},
		{"100 KB nested key", `{"refresh":{"` + strings.Repeat("\u2028", 20<<10) + `":1}}`, `refresh."\u2028`},
	}
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				px, ok := rt.start(t, c.config, nil)
				logs := px.logs()
				if ok || len(logs) != 1 || len(px.errorLogs()) != 1 {
					t.Fatalf("started %v, logs %q; want refused with one error line", ok, logs)
				}
				l := logs[0]
				if len(l) > 200 || !strings.Contains(l, c.want) || strings.ContainsFunc(l, func(r rune) bool { return r < 0x20 || r == 0x7f || r == 0x2028 }) {
					t.Errorf("error line (%d bytes) %.300q; want one short escaped line containing %q", len(l), l, c.want)
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
