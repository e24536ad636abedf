package plugin

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/meshprobe/meshprobe/checks"
	"github.com/meshprobe/meshprobe/internal/testing/dialectcases"
)

// Header values are secrets (README): a dependency that echoes one in the
// value an expectation looks at must not put it in any reply or log line.
const (
	echoedSecret = "S3CRET-value-123"
	otherSecret  = "Bearer 0th3r-T0KEN-456"
	secretsToken = "details-token-for-secrets"
)

// secretsConfig serves every dialect of the main set (internal/dialectcases).
var secretsConfig = `{"dialects":[` + dialectcases.Main.Dialects + `],
 "details":{"token_sha256":["%s"]},"refresh":{"interval":"1s","jitter":0},"checks":[
 {"name":"api","kind":"http","cluster":"api","headers":{"x-api-key":"` + echoedSecret + `"},"failure_threshold":1,
  "expect":{"json":{"state":"ok"}},"observe":"n"},
 {"name":"other","kind":"http","cluster":"other","headers":{"authorization":"` + otherSecret + `"},"failure_threshold":1,
  "expect":{"json":{"state":"ok"}}}]}`

// leaked reports the first secret, or 6-rune piece of one (the run the
// redaction promises to catch), that s holds
// (case-insensitively: an upper-cased echo is the same secret).
func leaked(s string) string {
	s = strings.ToLower(s)
	for _, sec := range []string{echoedSecret, otherSecret} {
		sec = strings.ToLower(sec)
		for i := 0; i+6 <= len(sec); i++ {
			if strings.Contains(s, sec[i:i+6]) {
				return sec[i : i+6]
			}
		}
	}
	return ""
}

func TestEchoedSecretsNeverShown(t *testing.T) {
	ok := reply{status: "200", body: `{"state":"ok","n":1}`}
	// What a dependency may send back; each round also sends one up, so
	// every down round changes the status and is logged.
	echoes := []struct {
		name       string
		api, other reply
		check      string // the check that echoes, and the redacted message it must show
		message    string
	}{
		{"echo in the value", reply{status: "200", body: `{"state":"` + echoedSecret + ` rejected"}`}, ok,
			"api", `json state: got "[redacted] rejected"`},
		{"secret straddles the 32-rune cut", reply{status: "200", body: `{"state":"bad key for tenant: ` + echoedSecret + `"}`}, ok,
			"api", `json state: got "bad key for tenant: [redacted]"`},
		{"upper-cased echo", reply{status: "200", body: `{"state":"` + strings.ToUpper(echoedSecret) + ` denied"}`}, ok,
			"api", `json state: got "[redacted] denied"`},
		{"json-escaped echo", reply{status: "200", body: `{"state":"\u0053\u0033CRET-value-123"}`}, ok,
			"api", `json state: got "[redacted]"`},
		{"another check's secret", ok, reply{status: "200", body: `{"state":"` + echoedSecret + "/" + otherSecret + `"}`},
			"other", `json state: got "[redacted]/[redacted]"`},
		{"body of an unexpected status", reply{status: "503", body: `{"state":"` + echoedSecret + `"}`}, ok,
			"api", "status 503"},
	}
	auth := [2]string{"authorization", "Bearer " + secretsToken}
	hjson := [2]string{"accept", "application/health+json"}
	type request struct {
		path string
		hdrs [][2]string
	}
	// Every route with details, and a few requests beside.
	config := fmt.Sprintf(secretsConfig, tokenHash(secretsToken))
	parsed, err := checks.Parse([]byte(config))
	if err != nil {
		t.Fatal(err)
	}
	var requests []request
	for _, r := range parsed.Routes {
		requests = append(requests, request{r.Path, [][2]string{auth}})
	}
	requests = append(requests, request{"/health/dependencies", [][2]string{auth, hjson}},
		request{"/health/probes/readiness", [][2]string{auth, hjson}}, request{"/readyz?verbose", [][2]string{auth}},
		request{"/healthz?verbose", [][2]string{auth}}, request{"/health/dependencies", nil})
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := rt.mustStart(t, config, nil)
		round := func(api, other reply) {
			t.Helper()
			px.tick()
			answerAll(t, px, map[string]reply{"api": api, "other": other})
			px.advance(time.Second)
		}
		for _, e := range echoes {
			round(ok, ok)
			round(e.api, e.other)
			var d struct {
				Dependencies map[string]struct{ Message string } `json:"dependencies"`
			}
			if r := px.do("GET", "/health/dependencies", auth); json.Unmarshal([]byte(r.body), &d) != nil {
				t.Fatalf("/health/dependencies = %d %s", r.status, r.body)
			}
			if m := d.Dependencies[e.check].Message; m != e.message {
				t.Errorf("%s: %s message %q; want %q", e.name, e.check, m, e.message)
			}
			for _, q := range requests {
				r := px.do("GET", q.path, q.hdrs...)
				if r.status == 0 || r.status == 403 {
					t.Fatalf("%s: GET %s = %d: the test must see details", e.name, q.path, r.status)
				}
				if l := leaked(r.body); l != "" {
					t.Errorf("%s: GET %s shows %q: %s", e.name, q.path, l, r.body)
				}
				for _, h := range r.headerList {
					if l := leaked(h[1]); l != "" {
						t.Errorf("%s: GET %s header %s shows %q", e.name, q.path, h[0], l)
					}
				}
			}
		}
		logged := 0
		for _, l := range px.logs() {
			if strings.Contains(l, "is down") {
				logged++
			}
			if s := leaked(l); s != "" {
				t.Errorf("log line shows %q: %s", s, l)
			}
		}
		if logged < len(echoes) {
			t.Errorf("%d down transitions logged; want at least %d (the test must exercise the log line)", logged, len(echoes))
		}
	})
}
