package plugin

import (
	"strings"
	"testing"
	"time"
)

const drainToken = "drain-token-1"

func dialectsConfig(dialects string) string {
	return `{"service":{"version":"1.4.2"},"dialects":[` + dialects + `],"drain":{"enabled":true},
 "details":{"token_sha256":["` + tokenHash(drainToken) + `"]},"refresh":{"interval":"1s","jitter":0},"checks":[
 {"name":"app","kind":"http","cluster":"app","group":"core","failure_threshold":1},
 {"name":"cache","kind":"http","cluster":"cache","type":"soft","group":"core","failure_threshold":1},
 {"name":"hsm","kind":"hsm","cluster":"hsm","group":"keys","failure_threshold":1}]}`
}

// driveState brings a proxy to one of the five states the dialects report.
func driveState(t *testing.T, px testProxy, state string) {
	t.Helper()
	if state == "starting" {
		return
	}
	healthy := map[string]reply{"app": {status: "200"}, "cache": {status: "200"}, "hsm": {status: "200", body: `{"status":"OK"}`}}
	twoRounds(t, px, healthy, map[string]string{"degraded": "cache", "down": "app"}[state])
	if state == "draining" {
		if r := px.do("POST", "/health/drain", [2]string{"authorization", "Bearer " + drainToken}); r.status != 200 {
			t.Fatalf("drain = %d", r.status)
		}
	}
}

// twoRounds answers one healthy round (every check up once: started), then,
// an interval later, a round in which the failing clusters answer 500.
func twoRounds(t *testing.T, px testProxy, healthy map[string]reply, failing ...string) {
	t.Helper()
	px.tick()
	answerAll(t, px, healthy)
	second := map[string]reply{}
	for k, v := range healthy {
		second[k] = v
	}
	for _, c := range failing {
		if c != "" {
			second[c] = reply{status: "500"}
		}
	}
	px.advance(time.Second)
	px.tick()
	answerAll(t, px, second)
}

type want struct {
	status int
	body   string
}

const (
	k8sDown     = "[+]ping ok\n[+]started ok\n[-]app failed: reason withheld\n[+]hsm ok\n[+]shutdown ok\nreadyz check failed\n"
	k8sStarting = "[+]ping ok\n[-]started failed: reason withheld\n[-]app failed: reason withheld\n[-]hsm failed: reason withheld\n[+]shutdown ok\nreadyz check failed\n"
	k8sDraining = "[+]ping ok\n[+]started ok\n[+]app ok\n[+]hsm ok\n[-]shutdown failed: reason withheld\nreadyz check failed\n"
	amsdalUp    = `{"status":"success","details":[{"status":"success","service":"app","message":"ok"},{"status":"success","service":"cache","message":"ok"},{"status":"success","service":"hsm","message":"ok"}]}`
)

func amsdal(top string, app, cache, hsm string) string {
	e := func(name, st string) string {
		msg := "ok"
		if st == "error" {
			msg = "reason withheld"
		}
		return `{"status":"` + st + `","service":"` + name + `","message":"` + msg + `"}`
	}
	return `{"status":"` + top + `","details":[` + e("app", app) + `,` + e("cache", cache) + `,` + e("hsm", hsm) + `]}`
}

func TestDialects(t *testing.T) {
	mainSet := dialectsConfig(`"standard","kubernetes","aurora","amsdal","liberty"`)
	piSet := dialectsConfig(`"standard","privacyidea"`)
	cases := []struct {
		config, state string
		paths         map[string]want
	}{
		{mainSet, "up", map[string]want{
			"/livez": {200, "ok"}, "/readyz": {200, "ok"}, "/healthz": {200, "ok"},
			"/readyz?verbose":  {200, "[+]ping ok\n[+]started ok\n[+]app ok\n[+]hsm ok\n[+]shutdown ok\nreadyz check passed\n"},
			"/livez?verbose=1": {200, "[+]ping ok\nlivez check passed\n"},
			"/readyz/app":      {200, "ok"}, "/readyz/cache": {200, "ok"}, "/livez/ping": {200, "ok"},
			"/health/liveness": {200, `{"status":"alive"}`}, "/health/readiness": {200, `{"status":"ready"}`},
			"/api/probes/liveness/": {200, amsdalUp}, "/api/probes/readiness": {200, amsdalUp},
			"/health": {200, `{"status":"ok","version":"1.4.2"}`},
			"/info":   {403, `{"status":"error","error":"details are not available to this client"}`},
		}},
		{mainSet, "degraded", map[string]want{
			"/health": {200, `{"status":"ok","version":"1.4.2"}`},
			"/readyz": {200, "ok"}, "/readyz/cache": {503, "internal server error: reason withheld\n"},
			"/health/readiness":      {200, `{"status":"ready"}`},
			"/api/probes/readiness/": {200, amsdal("success", "success", "error", "success")},
			"/api/probes/liveness/":  {200, amsdal("success", "success", "error", "success")},
		}},
		{mainSet, "down", map[string]want{
			"/livez": {200, "ok"}, "/readyz": {503, k8sDown}, "/readyz?verbose": {503, k8sDown},
			"/healthz":                       {503, "[+]ping ok\n[+]started ok\n[-]app failed: reason withheld\n[+]hsm ok\nhealthz check failed\n"},
			"/readyz?exclude=app&exclude=zz": {200, "ok"},
			"/readyz?verbose&exclude=app&exclude=zz&exclude=a%22b": {200, "[+]ping ok\n[+]started ok\n[+]app excluded: ok\n[+]hsm ok\n[+]shutdown ok\nwarn: some health checks cannot be excluded: no matches for \"a\\\"b\",\"zz\"\nreadyz check passed\n"},
			"/readyz/app":           {503, "internal server error: reason withheld\n"},
			"/health/liveness":      {200, `{"status":"alive"}`},
			"/health/readiness":     {503, `{"status":"not_ready","checks":{"app":{"status":"unhealthy","error":"reason withheld"},"hsm":{"status":"healthy","message":"ok"}}}`},
			"/api/probes/liveness/": {503, amsdal("error", "error", "success", "success")},
			"/health":               {200, `{"status":"ok","version":"1.4.2"}`},
		}},
		{mainSet, "starting", map[string]want{
			"/health": {200, `{"status":"ok","version":"1.4.2"}`},
			"/livez":  {200, "ok"}, "/readyz": {503, k8sStarting}, "/readyz/started": {503, "internal server error: reason withheld\n"},
			"/health/readiness":      {503, `{"status":"not_ready","checks":{"app":{"status":"unhealthy","error":"reason withheld"},"hsm":{"status":"unhealthy","error":"reason withheld"}}}`},
			"/api/probes/readiness/": {503, amsdal("error", "error", "error", "error")},
			"/api/probes/liveness/":  {200, amsdal("success", "error", "error", "error")},
		}},
		{mainSet, "draining", map[string]want{
			"/health": {200, `{"status":"ok","version":"1.4.2"}`},
			"/livez":  {200, "ok"}, "/readyz": {503, k8sDraining}, "/healthz": {200, "ok"},
			"/readyz/shutdown":       {503, "internal server error: reason withheld\n"},
			"/health/readiness":      {503, `{"status":"not_ready","checks":{"app":{"status":"healthy","message":"ok"},"hsm":{"status":"healthy","message":"ok"}}}`},
			"/api/probes/readiness/": {503, amsdal("error", "success", "success", "success")},
			"/api/probes/liveness/":  {200, amsdalUp},
		}},
		{piSet, "up", map[string]want{
			"/healthz": {200, `{"status":"ready","hsm":"OK"}`}, "/healthz/readyz/": {200, `{"status":"ready","hsm":"OK"}`},
			"/healthz/livez": {200, `{"status":"OK"}`}, "/healthz/startupz": {200, `{"status":"started"}`},
			"/healthz/resolversz": {200, `{"status":"ready","core":{"app":"OK","cache":"OK"},"keys":{"hsm":"OK"}}`},
		}},
		{piSet, "degraded", map[string]want{
			"/healthz":            {200, `{"status":"ready","hsm":"OK"}`},
			"/healthz/resolversz": {200, `{"status":"ready","core":{"app":"OK","cache":"fail"},"keys":{"hsm":"OK"}}`},
		}},
		{piSet, "down", map[string]want{
			"/healthz/readyz": {503, `{"status":"not ready","hsm":"OK"}`}, "/healthz/startupz": {200, `{"status":"started"}`},
			"/healthz/resolversz": {503, `{"status":"not ready","core":{"app":"fail","cache":"OK"},"keys":{"hsm":"OK"}}`},
		}},
		{piSet, "starting", map[string]want{
			"/healthz": {503, `{"status":"not ready","hsm":"fail"}`}, "/healthz/livez": {200, `{"status":"OK"}`},
			"/healthz/startupz": {503, `{"status":"not started"}`},
		}},
		{piSet, "draining", map[string]want{
			"/healthz": {503, `{"status":"not ready","hsm":"OK"}`}, "/healthz/startupz": {200, `{"status":"started"}`},
		}},
	}
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		for _, c := range cases {
			name := c.state
			if c.config == piSet {
				name = "privacyidea " + name
			}
			t.Run(name, func(t *testing.T) {
				px := rt.mustStart(t, c.config, nil)
				driveState(t, px, c.state)
				for path, w := range c.paths {
					r := px.do("GET", path)
					if r.status != w.status || r.body != w.body {
						t.Errorf("%s: %d %q\nwant %d %q", path, r.status, r.body, w.status, w.body)
					}
					wantType, nosniff := "application/json", ""
					if !strings.HasPrefix(w.body, "{") { // the Kubernetes text format
						wantType, nosniff = "text/plain; charset=utf-8", "nosniff"
					}
					if r.headers["x-content-type-options"] != nosniff {
						t.Errorf("%s: x-content-type-options %q; want %q", path, r.headers["x-content-type-options"], nosniff)
					}
					if r.headers["content-type"] != wantType || r.headers["cache-control"] != "no-store" {
						t.Errorf("%s: headers %v; want %s", path, r.headers, wantType)
					}
				}
			})
		}
	})
}

// With details allowed, Kubernetes lines and Aurora errors carry our
// message; privacyIDEA has no hsm field without an hsm check.
func TestDialectDetailsAndHSMField(t *testing.T) {
	auth := [2]string{"authorization", "Bearer " + drainToken}
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := rt.mustStart(t, dialectsConfig(`"standard","kubernetes","aurora"`), nil)
		driveState(t, px, "down")
		if r := px.do("GET", "/readyz?verbose", auth); r.body != "[+]ping ok\n[+]started ok\n[-]app failed: status 500\n[+]hsm ok\n[+]shutdown ok\nreadyz check failed\n" {
			t.Errorf("/readyz with details = %q", r.body)
		}
		if r := px.do("GET", "/readyz/app", auth); r.status != 503 || r.body != "internal server error: status 500\n" {
			t.Errorf("/readyz/app with details = %d %q", r.status, r.body)
		}
		if r := px.do("GET", "/health/readiness", auth); r.body != `{"status":"not_ready","checks":{"app":{"status":"unhealthy","error":"status 500"},"hsm":{"status":"healthy","message":"status 200"}}}` {
			t.Errorf("aurora with details = %s", r.body)
		}
	})
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		pi := rt.mustStart(t, `{"dialects":["privacyidea"],"checks":[{"name":"app","kind":"http","cluster":"app","type":"soft"}]}`, nil)
		if r := pi.do("GET", "/healthz"); r.status != 200 || r.body != `{"status":"ready"}` {
			t.Errorf("privacyidea without an hsm check = %d %s", r.status, r.body)
		}
	})
}
