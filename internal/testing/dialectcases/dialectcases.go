// Package dialectcases is the one table of what each dialect answers, byte
// for byte, in each state: the plugin's tests run it on the test-driven
// hosts (native and the .wasm, fake clock and callouts), e2e runs it over
// real sockets with real dependencies, in internal/testing/wasmhost and in Envoy.
package dialectcases

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Token is the bearer token the configuration authorizes for details and
// drain (only its hash is configured).
const Token = "drain-token-1"

// TokenHash is sha256(tok) in hex, as details.token_sha256 wants it.
func TokenHash(tok string) string {
	s := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(s[:])
}

// The configuration's clusters: one per check, named after it. "app" is
// hard, "cache" soft, "hsm" hard (kind hsm).
const (
	App   = "app"
	Cache = "cache"
	HSM   = "hsm"
)

// HSMUp is a body the hsm check accepts.
const HSMUp = `{"status":"OK"}`

// The five states the dialects report.
const (
	Up       = "up"       // every check up
	Degraded = "degraded" // the soft check (cache) down
	Down     = "down"     // the hard check app down, after every check was up once
	Starting = "starting" // no check has a result yet
	Draining = "draining" // every check up, then POST {base}/drain
)

// Failing is the cluster that fails (answers 500) in a state, after a first
// round in which every check was up; none in the others.
var Failing = map[string]string{Degraded: Cache, Down: App}

// Config is the plugin configuration for a set of dialects (the JSON
// list's items, e.g. `"standard","kubernetes"`): drain enabled, details for
// Token only, checks app, cache and hsm with failure_threshold 1, checked
// every interval (Go duration syntax) with no jitter; a non-empty timeout
// is set on every check, an empty one leaves the default.
func Config(dialects, interval, timeout string) string {
	t := ""
	if timeout != "" {
		t = `,"timeout":"` + timeout + `"`
	}
	return `{"service":{"version":"1.4.2"},"dialects":[` + dialects + `],"drain":{"enabled":true},
 "details":{"token_sha256":["` + TokenHash(Token) + `"]},"refresh":{"interval":"` + interval + `","jitter":0},"checks":[
 {"name":"app","kind":"http","cluster":"app","group":"core","failure_threshold":1` + t + `},
 {"name":"cache","kind":"http","cluster":"cache","type":"soft","group":"core","failure_threshold":1` + t + `},
 {"name":"hsm","kind":"hsm","cluster":"hsm","group":"keys","failure_threshold":1` + t + `}]}`
}

// Set is a set of dialects one proxy serves (kubernetes and privacyidea
// both claim /healthz, so they need two).
type Set struct {
	Name     string // "main" or "privacyidea"
	Dialects string // for Config
}

var (
	Main        = Set{"main", `"standard","kubernetes","aurora","amsdal","liberty"`}
	PrivacyIDEA = Set{"privacyidea", `"standard","privacyidea"`}
	Sets        = []Set{Main, PrivacyIDEA}
)

// Want is a reply: status and exact body.
type Want struct {
	Status int
	Body   string
}

// Case is what a set's paths answer in one state, to a client not allowed
// to see details.
type Case struct {
	Set   Set
	State string
	Paths map[string]Want // path (with query) -> reply to GET
}

// Headers are the content-type and x-content-type-options a reply with
// this body carries: the Kubernetes text format is text/plain with
// nosniff, everything else JSON without it. Every reply also carries
// cache-control: no-store.
func Headers(body string) (contentType, nosniff string) {
	if !strings.HasPrefix(body, "{") {
		return "text/plain; charset=utf-8", "nosniff"
	}
	return "application/json", ""
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

// Cases are every set in every state.
var Cases = []Case{
	{Main, Up, map[string]Want{
		"/livez": {200, "ok"}, "/readyz": {200, "ok"}, "/healthz": {200, "ok"},
		"/readyz?verbose":  {200, "[+]ping ok\n[+]started ok\n[+]app ok\n[+]hsm ok\n[+]shutdown ok\nreadyz check passed\n"},
		"/livez?verbose=1": {200, "[+]ping ok\nlivez check passed\n"},
		"/readyz/app":      {200, "ok"}, "/readyz/cache": {200, "ok"}, "/livez/ping": {200, "ok"},
		"/health/liveness": {200, `{"status":"alive"}`}, "/health/readiness": {200, `{"status":"ready"}`},
		"/api/probes/liveness/": {200, amsdalUp}, "/api/probes/readiness": {200, amsdalUp},
		"/health": {200, `{"status":"ok","version":"1.4.2"}`},
		"/info":   {403, `{"status":"error","error":"details are not available to this client"}`},
	}},
	{Main, Degraded, map[string]Want{
		"/health": {200, `{"status":"ok","version":"1.4.2"}`},
		"/readyz": {200, "ok"}, "/readyz/cache": {503, "internal server error: reason withheld\n"},
		"/health/readiness":      {200, `{"status":"ready"}`},
		"/api/probes/readiness/": {200, amsdal("success", "success", "error", "success")},
		"/api/probes/liveness/":  {200, amsdal("success", "success", "error", "success")},
	}},
	{Main, Down, map[string]Want{
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
	{Main, Starting, map[string]Want{
		"/health": {200, `{"status":"ok","version":"1.4.2"}`},
		"/livez":  {200, "ok"}, "/readyz": {503, k8sStarting}, "/readyz/started": {503, "internal server error: reason withheld\n"},
		"/health/readiness":      {503, `{"status":"not_ready","checks":{"app":{"status":"unhealthy","error":"reason withheld"},"hsm":{"status":"unhealthy","error":"reason withheld"}}}`},
		"/api/probes/readiness/": {503, amsdal("error", "error", "error", "error")},
		"/api/probes/liveness/":  {200, amsdal("success", "error", "error", "error")},
	}},
	{Main, Draining, map[string]Want{
		"/health": {200, `{"status":"ok","version":"1.4.2"}`},
		"/livez":  {200, "ok"}, "/readyz": {503, k8sDraining}, "/healthz": {200, "ok"},
		"/readyz/shutdown":       {503, "internal server error: reason withheld\n"},
		"/health/readiness":      {503, `{"status":"not_ready","checks":{"app":{"status":"healthy","message":"ok"},"hsm":{"status":"healthy","message":"ok"}}}`},
		"/api/probes/readiness/": {503, amsdal("error", "success", "success", "success")},
		"/api/probes/liveness/":  {200, amsdalUp},
	}},
	{PrivacyIDEA, Up, map[string]Want{
		"/healthz": {200, `{"status":"ready","hsm":"OK"}`}, "/healthz/readyz/": {200, `{"status":"ready","hsm":"OK"}`},
		"/healthz/livez": {200, `{"status":"OK"}`}, "/healthz/startupz": {200, `{"status":"started"}`},
		"/healthz/resolversz": {200, `{"status":"ready","core":{"app":"OK","cache":"OK"},"keys":{"hsm":"OK"}}`},
	}},
	{PrivacyIDEA, Degraded, map[string]Want{
		"/healthz":            {200, `{"status":"ready","hsm":"OK"}`},
		"/healthz/resolversz": {200, `{"status":"ready","core":{"app":"OK","cache":"fail"},"keys":{"hsm":"OK"}}`},
	}},
	{PrivacyIDEA, Down, map[string]Want{
		"/healthz/readyz": {503, `{"status":"not ready","hsm":"OK"}`}, "/healthz/startupz": {200, `{"status":"started"}`},
		"/healthz/resolversz": {503, `{"status":"not ready","core":{"app":"fail","cache":"OK"},"keys":{"hsm":"OK"}}`},
	}},
	{PrivacyIDEA, Starting, map[string]Want{
		"/healthz": {503, `{"status":"not ready","hsm":"fail"}`}, "/healthz/livez": {200, `{"status":"OK"}`},
		"/healthz/startupz": {503, `{"status":"not started"}`},
	}},
	{PrivacyIDEA, Draining, map[string]Want{
		"/healthz": {503, `{"status":"not ready","hsm":"OK"}`}, "/healthz/startupz": {200, `{"status":"started"}`},
	}},
}

// DetailsDialects is the set TestDialectDetailsAndHSMField configures.
const DetailsDialects = `"standard","kubernetes","aurora"`

// DetailsDown is what the Main set's dialects answer in state Down to a
// client allowed to see details (authorization: Bearer Token): our own
// messages instead of "reason withheld".
var DetailsDown = map[string]Want{
	"/readyz?verbose":   {503, "[+]ping ok\n[+]started ok\n[-]app failed: status 500\n[+]hsm ok\n[+]shutdown ok\nreadyz check failed\n"},
	"/readyz/app":       {503, "internal server error: status 500\n"},
	"/health/readiness": {503, `{"status":"not_ready","checks":{"app":{"status":"unhealthy","error":"status 500"},"hsm":{"status":"healthy","message":"status 200"}}}`},
}

// HealthJSON is an application/health+json document (the IETF draft's) as
// the tests decode it.
type HealthJSON struct {
	Status    string                      `json:"status"`
	Version   string                      `json:"version"`
	ServiceID string                      `json:"serviceId"`
	Checks    map[string][]map[string]any `json:"checks"`
}
