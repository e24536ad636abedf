package checks

import (
	"strconv"
	"strings"
	"testing"
)

// The header values of every check of redactConfig are secrets.
const redactConfig = `{"checks":[
 {"name":"api","kind":"http","cluster":"api","headers":{"x-api-key":"S3CRET-value-123","x-empty":""},
  "expect":{"json":{"state":"ok"}},"observe":"n"},
 {"name":"other","kind":"http","cluster":"other","headers":{"authorization":"Bearer 0th3r-T0KEN-456","x-u":"Ünïcode-Tøken"}},
 {"name":"short","kind":"http","cluster":"short","headers":{"x-region":"eu","x-pin":"8642"}}]}`

func TestExcerptRedacts(t *testing.T) {
	sec := mustParse(t, redactConfig).secrets()
	x := strings.Repeat
	cases := []struct{ name, value, want string }{
		{"no secret", "DOWN", "DOWN"},
		{"secret fully in the value", "S3CRET-value-123 rejected", "[redacted] rejected"},
		{"secret is the value", "S3CRET-value-123", "[redacted]"},
		{"secret straddles the cut", x("x", 26) + "S3CRET-value-123", x("x", 26) + "[redacted]"},
		{"secret straddles the cut, more after", x("x", 30) + "S3CRET-value-123 rejected", x("x", 30) + "[redacted]…"},
		{"secret starts right after the cut", x("x", 32) + "S3CRET-value-123", x("x", 32) + "…"},
		{"secret after the cut, first part before it", x("x", 24) + "S3CRET-v", x("x", 24) + "[redacted]"},
		{"repeated", "S3CRET-value-123, S3CRET-value-123", "[redacted], [redacted]"},
		{"back to back: one marker", "S3CRET-value-123S3CRET-value-123", "[redacted]"},
		{"overlapping runs: one marker", "S3CRET-value-S3CRET-value-123", "[redacted]"},
		{"other case", "s3cret-VALUE-123 denied", "[redacted] denied"},
		{"another check's secret", "token Bearer 0th3r-T0KEN-456 expired", "token [redacted] expired"},
		{"two checks' secrets", "S3CRET-value-123/Bearer 0th3r-T0KEN-456", "[redacted]/[redacted]"},
		{"non-ASCII secret, other case", "bad ÜNÏCODE-TØKEN", "bad [redacted]"},
		{"partial echo: a prefix", "key S3CRET-va… rejected", "key [redacted]… rejected"},
		{"partial echo: a suffix", "key …value-123 rejected", "key …[redacted] rejected"},
		{"partial echo: a middle run of 6", "ET-val", "[redacted]"},
		{"a run of 5 is not a secret", "ET-va", "ET-va"},
		{"secret cut by an unprintable rune", "S3CRET-\x00value-123", "[redacted]?[redacted]"},
		{"unprintable after the secret", "S3CRET-value-123\x1b", "[redacted]?"},
		{"4-rune secret, whole", "pin 8642 wrong", "pin [redacted] wrong"},
		{"4-rune secret, only part", "864", "864"},
		{"short secret withholds the value", "region eu-west down", "[redacted]"},
		{"short secret, other case", "EU", "[redacted]"},
		{"short secret absent", "ok then", "ok then"},
		{"empty secret hides nothing", "anything", "anything"},
		{"long value, no secret", x("y", 100), x("y", 32) + "…"},
		{"a long run of secrets", x("S3CRET-value-123", 400), "[redacted]…"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := sec.excerpt(c.value, 32); got != strconv.Quote(c.want) {
				t.Errorf("excerpt(%q) = %s; want %q", c.value, got, c.want)
			}
		})
	}
	// Without secrets an excerpt is what it always was.
	if got := (Secrets{}).excerpt("a\x00\xffb"+x("z", 40), 32); got != strconv.Quote("a??b"+x("z", 28)+"…") {
		t.Errorf("no secrets: %s", got)
	}
}

// Every message is redacted as a whole too, whatever part of it a secret is
// in; short secrets leave our own words alone.
func TestMessagesRedacted(t *testing.T) {
	cfg := mustParse(t, `{"checks":[
 {"name":"a","kind":"http","cluster":"S3CRET-value-123","headers":{"x-api-key":"S3CRET-value-123"},"expect":{"json":{"state":"ok"}},"observe":"n"},
 {"name":"b","kind":"http","cluster":"b","headers":{"x-d":"5","x-pin":"12345678"},"expect":{"json":{"state":"ok"}},"observe":"n"}]}`)
	resp := func(status int, body string) Response {
		return Response{Status: status, Body: []byte(body), BodySize: len(body)}
	}
	cases := []struct {
		name  string
		i     int
		resp  Response
		want  string
		obs   bool
		refer string // a Refused reason instead of a response
	}{
		{"config-derived text", 0, Response{}, `mesh: the proxy refused the call to cluster "[redacted]" (x)`, false, "x"},
		{"short secrets spare our words", 1, resp(503, ""), "status 503", false, ""},
		{"short secret in a refusal", 1, Response{}, `mesh: the proxy refused the call to cluster "b" (bad request)`, false, "bad request"},
		{"object: kind only", 1, resp(200, `{"state":{"why":"\u0053\u0033CRET-value-123"}}`), "json state: got an object", false, ""},
		{"array: kind only", 1, resp(200, `{"state":["12345678"]}`), "json state: got an array", false, ""},
		{"escaped echo", 1, resp(200, `{"state":"\u0053\u0033CRET-value-123"}`), `json state: got "[redacted]"`, false, ""},
		{"number echo", 1, resp(200, `{"state":12345678}`), `json state: got "[redacted]"`, false, ""},
		{"observed secret withheld", 1, resp(200, `{"state":"ok","n":12345678}`), "status 200", false, ""},
		{"observed secret in exponent form withheld", 1, resp(200, `{"state":"ok","n":1.2345678e7}`), "status 200", false, ""},
		{"observed with a short secret withheld", 1, resp(200, `{"state":"ok","n":3e-5}`), "status 200", false, ""},
		{"observed value kept", 1, resp(200, `{"state":"ok","n":42}`), "status 200", true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var o Outcome
			if c.refer != "" {
				o = cfg.Refused(c.i, c.refer)
			} else {
				o = cfg.Evaluate(c.i, c.resp)
			}
			if o.Message != c.want || o.HasObserved != c.obs {
				t.Errorf("message %q observed %v; want %q %v", o.Message, o.HasObserved, c.want, c.obs)
			}
		})
	}
}
