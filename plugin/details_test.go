package plugin

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/meshprobe/meshprobe/checks"
)

const (
	secretToken  = "s3cr3t-probe-token"
	secretHeader = "hdr-value-never-shown-42"
	monitoringSA = "spiffe://cluster.local/ns/monitoring/sa/prometheus"
)

func tokenHash(tok string) string {
	s := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(s[:])
}

func detailsConfig(expose string) string {
	return `{"checks":[{"name":"app","kind":"http","cluster":"inbound|8080||","headers":{"x-api-key":"` + secretHeader + `"}}],
 "details":{"expose":"` + expose + `","allow_cidrs":["127.0.0.1/32","10.9.0.0/16"],"token_sha256":["` + tokenHash(secretToken) + `"],
  "allow_principals":["` + monitoringSA + `"]},"drain":{"enabled":true}}`
}

func TestInfoDetailsPolicy(t *testing.T) {
	bearer := func(tok string) [][2]string { return [][2]string{{"authorization", "Bearer " + tok}} }
	cases := []struct {
		name, expose string
		props        props
		headers      [][2]string
		allowed      bool
	}{
		{"never, even from loopback", "never", props{"source.address": "127.0.0.1:4000"}, bearer(secretToken), false},
		{"always, from anywhere", "always", props{"source.address": "203.0.113.9:4000"}, nil, true},
		{"authorized: loopback CIDR", "authorized", props{"source.address": "127.0.0.1:4000"}, nil, true},
		{"authorized: second CIDR", "authorized", props{"source.address": "10.9.3.4:51000"}, nil, true},
		{"authorized: outside CIDRs", "authorized", props{"source.address": "10.8.0.1:4000"}, nil, false},
		{"authorized: IPv4-mapped IPv6 loopback", "authorized", props{"source.address": "[::ffff:127.0.0.1]:80"}, nil, true},
		// Port 0: Envoy took the address from x-forwarded-for, which the
		// client wrote; it never matches, however well it fits a CIDR.
		{"authorized: loopback from x-forwarded-for", "authorized", props{"source.address": "127.0.0.1:0"}, nil, false},
		{"authorized: second CIDR from x-forwarded-for", "authorized", props{"source.address": "10.9.3.4:0"}, nil, false},
		{"authorized: v6 from x-forwarded-for", "authorized", props{"source.address": "[::ffff:127.0.0.1]:0"}, nil, false},
		{"authorized: bare address", "authorized", props{"source.address": "127.0.0.1"}, nil, false},
		{"authorized: header address, right token", "authorized", props{"source.address": "10.9.3.4:0"}, bearer(secretToken), true},
		{"authorized: no source address", "authorized", nil, nil, false},
		{"authorized: right token", "authorized", nil, bearer(secretToken), true},
		{"authorized: lower-case scheme", "authorized", nil, [][2]string{{"authorization", "bearer " + secretToken}}, true},
		{"authorized: wrong token", "authorized", nil, bearer(secretToken + "x"), false},
		{"authorized: the hash is not the token", "authorized", nil, bearer(tokenHash(secretToken)), false},
		{"authorized: basic auth", "authorized", nil, [][2]string{{"authorization", "Basic " + secretToken}}, false},
		{"authorized: envoy peer URI SAN", "authorized", props{"connection.uri_san_peer_certificate": monitoringSA}, nil, true},
		{"authorized: other peer URI SAN", "authorized", props{"connection.uri_san_peer_certificate": "spiffe://cluster.local/ns/shop/sa/web"}, nil, false},
		// source.principal is no Envoy attribute: whatever put it there, it is not read.
		{"authorized: source.principal is not read", "authorized", props{"source.principal": monitoringSA}, nil, false},
		// x-forwarded-client-cert is the client's to write on a plaintext connection.
		{"authorized: xfcc claiming the principal", "authorized", props{"source.address": "10.8.0.1:4000"},
			[][2]string{{"x-forwarded-client-cert", "By=spiffe://cluster.local/ns/shop/sa/app;URI=" + monitoringSA}}, false},
	}
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				px := rt.mustStart(t, detailsConfig(c.expose), c.props)
				r := px.do("GET", "/health/info", c.headers...)
				switch {
				case c.allowed && (r.status != 200 || !strings.Contains(r.body, `"name":"app"`)):
					t.Errorf("/info = %d %s; want 200 with the configuration", r.status, r.body)
				case !c.allowed && (r.status != 403 || strings.Contains(r.body, "app")):
					t.Errorf("/info = %d %s; want 403 without details", r.status, r.body)
				}
				if r.headers["content-type"] != "application/json" || r.headers["cache-control"] != "no-store" {
					t.Errorf("/info headers = %v", r.headers)
				}
			})
		}
	})
}

// No configured header value or token (nor its hash) appears in any reply or
// log line, with details allowed to everyone.
func TestSecretsNeverShown(t *testing.T) {
	paths := []string{"/health/probes/liveness", "/health/probes/readiness", "/health/probes/startup",
		"/health/up", "/health/dependencies", "/health/info", "/health/info?verbose", "/health/drain", "/health/status"}
	secrets := []string{secretToken, secretHeader, tokenHash(secretToken)}
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := rt.mustStart(t, detailsConfig("always"), nil)
		// Give the check a result first, so its message and latency are shown.
		px.tick()
		for _, c := range px.callouts() {
			if c.headers["x-api-key"] != secretHeader {
				t.Fatalf("callout lacks the configured header")
			}
			px.respond(c.id, [][2]string{{":status", "500"}}, []byte(`{"echo":"`+secretHeader+`"}`), nil)
		}
		var seen []string
		for _, p := range paths {
			for _, m := range []string{"GET", "HEAD", "POST"} {
				r := px.do(m, p, [2]string{"authorization", "Bearer " + secretToken})
				seen = append(seen, r.body)
				for k, v := range r.headers {
					seen = append(seen, k+": "+v)
				}
			}
		}
		if d := px.do("GET", "/health/dependencies").body; !strings.Contains(d, `"message":"status 500"`) {
			t.Errorf("the check's result is not shown, so this test proves little: %s", d)
		}
		info := px.do("GET", "/health/info").body
		if !strings.Contains(info, `"headers":["x-api-key"]`) || !strings.Contains(info, `"tokens":1`) {
			t.Errorf("/info should name the header and count the tokens: %s", info)
		}
		seen = append(seen, px.logs()...)
		for _, s := range secrets {
			for _, out := range seen {
				if strings.Contains(out, s) {
					t.Fatalf("secret %q appears in %q", s, out)
				}
			}
		}
	})
}

// Draining takes a real peer in the allow lists: an address Envoy took from
// x-forwarded-for (port 0) or a principal not read from the connection
// cannot take the replica out of rotation.
func TestDrainRefusesHeaderIdentities(t *testing.T) {
	cfg := `{"drain":{"enabled":true},"details":{"allow_cidrs":["127.0.0.1/32"],"allow_principals":["` + monitoringSA + `"]}}`
	cases := []struct {
		name    string
		props   props
		allowed bool
	}{
		{"loopback peer", props{"source.address": "127.0.0.1:4000"}, true},
		{"peer URI SAN", props{"source.address": "10.8.0.1:4000", "connection.uri_san_peer_certificate": monitoringSA}, true},
		{"loopback from x-forwarded-for", props{"source.address": "127.0.0.1:0"}, false},
		{"source.principal", props{"source.address": "10.8.0.1:4000", "source.principal": monitoringSA}, false},
	}
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				px := rt.mustStart(t, cfg, c.props)
				xfcc := [2]string{"x-forwarded-client-cert", "URI=" + monitoringSA}
				r := px.do("POST", "/health/drain", [2]string{"x-forwarded-for", "127.0.0.1"}, xfcc)
				ready := px.do("GET", "/health/probes/readiness")
				switch {
				case c.allowed && (r.status != 200 || ready.status != 503):
					t.Errorf("drain = %d, then readiness %d; want 200, then 503", r.status, ready.status)
				case !c.allowed && (r.status != 403 || ready.status != 200):
					t.Errorf("drain = %d, then readiness %d; want 403, then 200", r.status, ready.status)
				}
			})
		}
	})
}

// A check's history and messages are details: with the token, /dependencies
// lists the transitions; without it, no read route of any dialect shows a
// transition or the message that made one.
func TestHistoryOnlyWithDetails(t *testing.T) {
	config := `{"refresh":{"interval":"2s","jitter":0},"dialects":["standard","kubernetes","aurora","amsdal","liberty"],
 "checks":[{"name":"app","kind":"http","cluster":"app","failure_threshold":1}],
 "details":{"expose":"authorized","token_sha256":["` + tokenHash(secretToken) + `"]},"drain":{"enabled":true}}`
	cfg, err := checks.Parse([]byte(config))
	if err != nil {
		t.Fatal(err)
	}
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := rt.mustStart(t, config, nil)
		for _, code := range []string{"200", "503", "200", "503"} {
			px.tick()
			answerAll(t, px, map[string]reply{"app": {status: code}})
			px.advance(2 * time.Second)
		}
		with := px.do("GET", "/health/dependencies", [2]string{"authorization", "Bearer " + secretToken}).body
		if n := strings.Count(with, `"from":`); n != 4 || !strings.Contains(with, `"message":"status 503"`) {
			t.Fatalf("with the token, /dependencies shows %d transitions: %s", n, with)
		}
		for _, r := range cfg.Routes {
			for _, path := range []string{r.Path, r.Path + "?verbose"} {
				if body := px.do("GET", path).body; strings.Contains(body, "history") || strings.Contains(body, "status 503") ||
					strings.Contains(body, `"from"`) {
					t.Errorf("%s without details: %s", path, body)
				}
			}
		}
	})
}
