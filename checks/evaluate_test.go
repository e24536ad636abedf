package checks

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestEvaluate(t *testing.T) {
	cfg := mustParse(t, `{"checks":[
		{"name":"web","kind":"http","cluster":"web","timeout":"2s","expect":{"status":["2xx",418],"json":{"status":["UP","ok"],"db.up":true,"n":3}},"observe":"queue.depth"},
		{"name":"plain","kind":"http","cluster":"p"},
		{"name":"hsm","kind":"hsm","cluster":"hsm-gateway"},
		{"name":"ledger","kind":"grpc","cluster":"ledger","timeout":"1s"}]}`)
	web, plain, hsm, grpc := &cfg.Checks[0], &cfg.Checks[1], &cfg.Checks[2], &cfg.Checks[3]
	eval := func(c *Check, r Response) Outcome { return cfg.Evaluate(index(cfg, c), r) }
	ok := `{"status":"UP","db":{"up":true},"n":3,"queue":{"depth":17.5}}`
	resp := func(status int, body string, hs ...[2]string) Response {
		return Response{Status: status, Body: []byte(body), BodySize: len(body), Headers: hs, Elapsed: 12 * time.Millisecond}
	}
	grpcOK := string(append([]byte{0, 0, 0, 0, 2}, 0x08, grpcServing))
	cases := []struct {
		name  string
		check *Check
		resp  Response
		ok    bool
		msg   string
	}{
		{"http up", web, resp(200, ok), true, "status 200"},
		{"listed code", web, resp(418, ok), true, "status 418"},
		{"unexpected status", web, resp(500, ok), false, "status 500"},
		{"redirect is not followed", plain, resp(302, ""), false, "status 302"},
		{"second accepted value", web, resp(200, `{"status":"ok","db":{"up":true},"n":3}`), true, "status 200"},
		{"json mismatch", web, resp(200, `{"status":"DOWN","db":{"up":true},"n":3}`), false, `json status: got "DOWN"`},
		{"json missing", web, resp(200, `{"db":{"up":true},"n":3}`), false, "json status: missing"},
		{"json bool", web, resp(200, `{"status":"UP","db":{"up":false},"n":3}`), false, `json db.up: got "false"`},
		{"json number", web, resp(200, `{"status":"UP","db":{"up":true},"n":3.5}`), false, `json n: got "3.5"`},
		{"string is not number", web, resp(200, `{"status":"UP","db":{"up":true},"n":"3"}`), false, `json n: got "3"`},
		{"unprintable value", web, resp(200, `{"status":"a\u0000\u001b`+"\xff"+`b"}`), false, `json status: got "a???b"`},
		{"long value truncated", web, resp(200, `{"status":"`+strings.Repeat("x", 100)+`"}`), false, `json status: got "` + strings.Repeat("x", 32) + `…"`},
		{"not json", web, resp(200, `<html>`), false, "body is not JSON"},
		{"over the cap", web, Response{Status: 200, Body: []byte(ok), BodySize: 10 << 20}, false, "body larger than 64 KiB"},
		{"plain ignores body", plain, resp(204, "garbage"), true, "status 204"},
		{"timeout", web, Response{Elapsed: 2 * time.Second}, false, "timeout after 2000ms"},
		{"timeout a little early by our clock", web, Response{Elapsed: 1950 * time.Millisecond}, false, "timeout after 2000ms"},
		{"reset after headers", web, Response{Elapsed: 3 * time.Millisecond}, false, "mesh: the response broke off (connection reset after headers)"},
		{"no healthy upstream", plain, resp(503, "no healthy upstream"), false, "mesh: no healthy upstream (Envoy has no healthy endpoint for the cluster)"},
		{"refused", plain, resp(503, envoyResetPrefix+"reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused"), false, "mesh: could not connect to the dependency (connection refused or failed)"},
		{"refused, old wording", plain, resp(503, envoyResetPrefix+"reset reason: connection failure"), false, "mesh: could not connect to the dependency (connection refused or failed)"},
		{"connect timeout", plain, resp(503, envoyResetPrefix+"reset reason: connection timeout"), false, "mesh: could not connect to the dependency (connect timeout)"},
		{"closed before headers", plain, resp(503, envoyResetPrefix+"reset reason: connection termination"), false, "mesh: the dependency closed the connection before answering"},
		{"retried then closed", plain, resp(503, envoyResetPrefix+"retried and the latest reset reason: connection termination"), false, "mesh: the dependency closed the connection before answering"},
		{"stream reset", plain, resp(503, envoyResetPrefix+"reset reason: remote reset"), false, "mesh: the dependency reset the stream before answering"},
		{"not HTTP", plain, resp(502, envoyResetPrefix+"reset reason: protocol error"), false, "mesh: the dependency's answer was not valid HTTP"},
		{"overflow", plain, resp(503, envoyResetPrefix+"reset reason: overflow"), false, "mesh: Envoy's circuit breaker refused the call (overflow)"},
		{"unknown reset reason", plain, resp(503, envoyResetPrefix+"reset reason: something new"), false, "mesh: upstream connect error (Envoy could not reach the dependency)"},
		{"envoy timeout", plain, resp(504, "upstream request timeout"), false, "timeout after 2000ms"},
		{"dependency's own 504", plain, resp(504, "upstream request timeout, says the app"), false, "status 504"},
		{"rbac", plain, resp(403, "RBAC: access denied"), false, "mesh: denied by a proxy's RBAC policy (403)"},
		{"dependency's own 503", plain, resp(503, "maintenance"), false, "status 503"},
		{"dependency's own 403", plain, resp(403, "forbidden"), false, "status 403"},
		{"hsm ready", hsm, resp(200, `{"status":"ready","slots":4}`), true, "status 200"},
		{"hsm OK", hsm, resp(200, `{"status":"OK"}`), true, "status 200"},
		{"hsm degraded", hsm, resp(200, `{"status":"degraded"}`), false, `json status: got "degraded"`},
		{"hsm 500", hsm, resp(500, `{"status":"OK"}`), false, "status 500"},
		{"grpc serving", grpc, resp(200, grpcOK, [2]string{"content-type", "application/grpc"}).withTrailers([2]string{"grpc-status", "0"}), true, "SERVING"},
		{"grpc not serving", grpc, resp(200, string([]byte{0, 0, 0, 0, 2, 0x08, 2})).withTrailers([2]string{"grpc-status", "0"}), false, "NOT_SERVING"},
		{"grpc service unknown", grpc, resp(200, string([]byte{0, 0, 0, 0, 2, 0x08, 3})).withTrailers([2]string{"grpc-status", "0"}), false, "SERVICE_UNKNOWN"},
		{"grpc empty message is UNKNOWN", grpc, resp(200, string([]byte{0, 0, 0, 0, 0})).withTrailers([2]string{"grpc-status", "0"}), false, "UNKNOWN"},
		{"grpc status in trailers", grpc, resp(200, "").withTrailers([2]string{"grpc-status", "14"}), false, "grpc-status 14 (UNAVAILABLE)"},
		{"grpc trailers-only", grpc, resp(200, "", [2]string{"grpc-status", "12"}), false, "grpc-status 12 (UNIMPLEMENTED)"},
		{"grpc odd status", grpc, resp(200, "", [2]string{"grpc-status", "99"}), false, "grpc-status 99"},
		{"grpc garbage status", grpc, resp(200, "", [2]string{"grpc-status", "\x95<script>"}), false, "grpc: malformed grpc-status"},
		{"grpc no status", grpc, resp(200, grpcOK), false, "grpc: no grpc-status"},
		{"grpc truncated", grpc, resp(200, string([]byte{0, 0, 0, 0, 9, 8})).withTrailers([2]string{"grpc-status", "0"}), false, "grpc: truncated frame"},
		{"grpc compressed", grpc, resp(200, string([]byte{1, 0, 0, 0, 2, 8, 1})).withTrailers([2]string{"grpc-status", "0"}), false, "grpc: compressed"},
		{"grpc http error", grpc, resp(502, ""), false, "status 502 (not a gRPC response)"},
		{"grpc timeout", grpc, Response{Elapsed: time.Second}, false, "timeout after 1000ms"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := eval(c.check, c.resp)
			if o.OK != c.ok || !strings.HasPrefix(o.Message, c.msg) {
				t.Errorf("Evaluate = %v %q; want %v %q…", o.OK, o.Message, c.ok, c.msg)
			}
		})
	}
	if o := eval(web, resp(200, ok)); !o.HasObserved || o.Observed != 17.5 || o.Latency != 12*time.Millisecond {
		t.Errorf("observed %+v; want 17.5 and the latency", o)
	}
	if o := cfg.Refused(1, "bad argument"); o.OK || o.Message != `mesh: the proxy refused the call to cluster "p" (bad argument)` {
		t.Errorf("Refused = %+v", o)
	}
}

func (r Response) withTrailers(ts ...[2]string) Response { r.Trailers = ts; return r }

// index is c's position in cfg.Checks.
func index(cfg *Config, c *Check) int {
	for i := range cfg.Checks {
		if &cfg.Checks[i] == c {
			return i
		}
	}
	panic("not a check of this configuration")
}

// A dependency's body is never echoed: only the value at an expectation's
// path, truncated, can appear in a message.
func TestEvaluateNeverEchoesBody(t *testing.T) {
	cfg := mustParse(t, `{"checks":[{"name":"a","kind":"http","cluster":"c","expect":{"json":{"status":"UP"}}}]}`)
	for _, body := range []string{`{"status":"DOWN","secret":"xyzzy-body"}`, `xyzzy-body`, `{"secret":"xyzzy-body"}`} {
		for _, status := range []int{200, 500, 503, 403} {
			o := cfg.Evaluate(0, Response{Status: status, Body: []byte(body), BodySize: len(body)})
			if strings.Contains(o.Message, "xyzzy") {
				t.Errorf("%d %s: message %q echoes the body", status, body, o.Message)
			}
		}
	}
}

// FuzzEvaluate: no response makes evaluation panic, a message never carries
// more of the body than the 32-rune excerpt of an expected field, and never a
// header value of any check, nor a run of secretRunRunes runes of one, in
// any case.
func FuzzEvaluate(f *testing.F) {
	cfg := mustParse(f, `{"checks":[
		{"name":"a","kind":"http","cluster":"c","expect":{"status":["2xx"],"json":{"status":["UP","ok"],"a.b":1,"c":true}},"observe":"q.n",
		 "headers":{"x-api-key":"S3CRET-value-123"}},
		{"name":"g","kind":"grpc","cluster":"c","headers":{"authorization":"Bearer Ünïcode-T0KEN-987"}},
		{"name":"h","kind":"hsm","cluster":"c","headers":{"x-region":"q7","x-pin":"8642"}}]}`)
	f.Add(200, []byte(`{"status":"UP","a":{"b":1},"c":true,"q":{"n":2}}`), "0")
	f.Add(503, []byte("no healthy upstream"), "")
	f.Add(200, []byte{0, 0, 0, 0, 2, 8, 1}, "0")
	f.Add(0, []byte(nil), "14")
	f.Add(200, []byte(`{"status":"xxxxxxxxxxxxxxxxxxxxxxxxxS3CRET-value-123","q":{"n":8642}}`), "0")
	f.Add(200, []byte(`{"status":"bearer üNÏCODE-t0ken-987 Q7"}`), "0")
	f.Fuzz(func(t *testing.T, status int, body []byte, grpcStatus string) {
		r := Response{Status: status, Body: body, BodySize: len(body), Trailers: [][2]string{{"grpc-status", grpcStatus}}}
		for i := range cfg.Checks {
			o := cfg.Evaluate(i, r)
			if len(o.Message) > maxMessage {
				t.Fatalf("message of %d bytes: %q", len(o.Message), o.Message)
			}
			if l := secretIn(cfg, o.Message); l != "" {
				t.Fatalf("message %q shows %q of a secret", o.Message, l)
			}
			if o.HasObserved && o.Observed == 8642 {
				t.Fatalf("observed value %v is a secret", o.Observed)
			}
		}
	})
}

// secretIn returns a header value of cfg, or a secretRunRunes-rune run of
// one, that s shows (ignoring case), or "". A value under secretMinRunes
// runes counts whole.
func secretIn(cfg *Config, s string) string {
	fold := func(s string) string { return strings.ToLower(strings.ToUpper(s)) }
	s = fold(s)
	for _, c := range cfg.Checks {
		for _, h := range c.Headers {
			sec := []rune(fold(h[1]))
			n := min(len(sec), secretRunRunes)
			for i := 0; n > 0 && i+n <= len(sec); i++ {
				if strings.Contains(s, string(sec[i:i+n])) {
					return string(sec[i : i+n])
				}
			}
		}
	}
	return ""
}

// A refused call names its cluster whole, up to Istio's longest Service
// names; past the bound it is cut, never unbounded.
func TestRefusedNamesTheCluster(t *testing.T) {
	longest := "outbound|65535||" + strings.Repeat("n", 63) + "." + strings.Repeat("s", 63) + ".svc.cluster.local"
	for _, c := range []struct{ cluster, quoted string }{
		{"outbound|8080||ghost.shop.svc.cluster.local", `"outbound|8080||ghost.shop.svc.cluster.local"`},
		{longest, strconv.Quote(longest)},
		{strings.Repeat("x", 300), `"` + strings.Repeat("x", maxQuotedCluster) + `…"`},
	} {
		cfg := &Config{Checks: []Check{{Name: "a", Cluster: c.cluster}}}
		want := "mesh: the proxy refused the call to cluster " + c.quoted + " (unknown cluster)"
		if got := cfg.Refused(0, "unknown cluster").Message; got != want {
			t.Errorf("Refused(%.20s…) = %q, want %q", c.cluster, got, want)
		}
	}
}
