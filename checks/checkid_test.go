package checks

import (
	"reflect"
	"strings"
	"testing"
)

// A check's identity changes with what is asked of its dependency, and
// with nothing else: its name, schedule, thresholds, type and gates can
// change and it keeps its state.
func TestIdentity(t *testing.T) {
	const base = `{"name":"a","kind":"http","cluster":"c","path":"/p","headers":{"authorization":"Bearer s1"}}`
	id := func(check string) string { return mustParse(t, `{"checks":[`+check+`]}`).Checks[0].Identity() }
	edit := func(old, new string) string { return strings.Replace(base, old, new, 1) }
	same := map[string]string{
		"name":      edit(`"name":"a"`, `"name":"b"`),
		"interval":  edit(`"path"`, `"interval":"3s","path"`),
		"timeout":   edit(`"path"`, `"timeout":"1s","path"`),
		"threshold": edit(`"path"`, `"failure_threshold":5,"success_threshold":2,"path"`),
		"type":      edit(`"path"`, `"type":"soft","path"`),
		"gates":     edit(`"path"`, `"gates":["startup"],"path"`),
	}
	changed := map[string]string{
		"kind":         edit(`"kind":"http"`, `"kind":"hsm"`),
		"cluster":      edit(`"cluster":"c"`, `"cluster":"d"`),
		"path":         edit(`"/p"`, `"/q"`),
		"method":       edit(`"path"`, `"method":"HEAD","path"`),
		"authority":    edit(`"path"`, `"authority":"x.local","path"`),
		"header value": edit(`s1`, `s2`),
		"header name":  edit(`"authorization"`, `"x-token"`),
		"status":       edit(`"path"`, `"expect":{"status":["200"]},"path"`),
		"json":         edit(`"path"`, `"expect":{"json":{"ok":true}},"path"`),
		"observe":      edit(`"path"`, `"observe":"load","path"`),
	}
	want := id(base)
	if len(want) != 32 {
		t.Fatalf("identity %q: want 32 hex digits", want)
	}
	grpc := `{"name":"g","kind":"grpc","cluster":"c"}`
	if id(grpc) == id(strings.Replace(grpc, `"cluster"`, `"grpc_service":"x.Health","cluster"`, 1)) {
		t.Error("changing the gRPC service kept the identity")
	}
	for name, c := range same {
		if got := id(c); got != want {
			t.Errorf("changing the %s changed the identity", name)
		}
	}
	for name, c := range changed {
		if got := id(c); got == want {
			t.Errorf("changing the %s kept the identity", name)
		}
	}
}

// The keys of one configuration, as the builds before this one wrote them:
// check identities and configuration hashes are part of the shared-state
// protocol, so a build that computed them differently would forget every
// result at an upgrade.
func TestKeysAcrossBuilds(t *testing.T) {
	const config = `{"checks":[{"name":"a","kind":"http","cluster":"c","authority":"x.local","method":"HEAD","path":"/p",` +
		`"headers":{"authorization":"Bearer s1","x-a":"b"},"expect":{"status":["200","3xx"],"json":{"ok":true,"n":1.5,"s":"up"}},"observe":"load"},` +
		`{"name":"g","kind":"grpc","cluster":"d","grpc_service":"x.Health"}]}`
	k := SharedKeys("mp", mustParse(t, config), []byte(config))
	const conf = "meshprobe/mp/v3/config/7c4d911d00e47a754dca265329aeb688/"
	want := Keys{
		Proxy: "meshprobe/mp/v3/proxy",
		Checks: []string{
			"meshprobe/mp/v3/check/605b73135d1cc859316cd12f11c8cb9e",
			"meshprobe/mp/v3/check/35e1ca6b0823b41c18d35496b37e5909",
		},
		Instances: conf + "instances", Summary: conf + "summary", Snapshot: conf + "snapshot", Lease: conf + "lease",
	}
	if !reflect.DeepEqual(k, want) {
		t.Errorf("keys\n%#v\nwant\n%#v", k, want)
	}
}
