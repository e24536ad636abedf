// Package dialectcases is the one table of what each dialect answers, byte
// for byte, in each state: the plugin's tests run it on the test-driven
// hosts (native and the .wasm, fake clock and callouts), e2e runs it over
// real sockets with real dependencies, in internal/testing/wasmhost and in Envoy.
//
// Each dialect's rows live next to it, in checks/testdata/cases/<dialect>.txt
// (the file's comment says how); this package reads them when it loads, so
// adding a dialect adds a file, not a row here.
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

// Main is standard and every dialect whose file names no other set;
// PrivacyIDEA is standard and privacyidea; Sets are every set, Main first.
var (
	Main        Set
	PrivacyIDEA Set
	Sets        []Set
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

// Cases are every set in every state (each set's in the order of States).
var Cases []Case

// States are the five states, in the order Cases lists them.
var States = []string{Up, Degraded, Down, Starting, Draining}

// DetailsDialects is the set TestDialectDetailsAndHSMField configures:
// standard and every dialect with a down+details line.
var DetailsDialects string

// DetailsDown is what the Main set's dialects answer in state Down to a
// client allowed to see details (authorization: Bearer Token): our own
// messages instead of "reason withheld".
var DetailsDown = map[string]Want{}

// HealthJSON is an application/health+json document (the IETF draft's) as
// the tests decode it.
type HealthJSON struct {
	Status    string                      `json:"status"`
	Version   string                      `json:"version"`
	ServiceID string                      `json:"serviceId"`
	Checks    map[string][]map[string]any `json:"checks"`
}
