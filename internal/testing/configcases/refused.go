// Package configcases is the one table of configurations the plugin
// refuses, with the field and problem its error names: checks' parser
// tests and the configuration command's tests (cmd/meshprobe-config) both
// run it, so the command refuses exactly what the plugin refuses.
package configcases

import (
	"fmt"
	"strings"
)

// Case is a configuration the parser refuses: its error names Field and
// its problem contains Problem.
type Case struct{ Name, Config, Field, Problem string }

// Refused are the cases; tooManyChecks is a configuration with one check
// more than the parser allows (ManyChecks of checks.MaxChecks+1: the limit
// is checks', which this package cannot import).
func Refused(tooManyChecks string) []Case {
	check := func(extra string) string {
		return `{"checks":[{"name":"a","kind":"http","cluster":"c"` + extra + `}]}`
	}
	return []Case{
		// bad JSON
		{"truncated", `{"checks":[`, "", "not valid JSON"},
		{"not an object", `[1,2]`, "", "must be an object"},
		{"trailing garbage", `{} x`, "", "not valid JSON"},
		// unknown fields, at every level
		{"unknown top-level", `{"basepath":"/x"}`, "basepath", "unknown field"},
		{"unknown refresh", `{"refresh":{"intervall":"1s"}}`, "refresh.intervall", "unknown field"},
		{"unknown check", check(`,"timeot":"1s"`), "checks[0].timeot", "unknown field"},
		{"unknown expect", check(`,"expect":{"code":200}`), "checks[0].expect.code", "unknown field"},
		{"unknown service", `{"service":{"nam":"x"}}`, "service.nam", "unknown field"},
		{"unknown details", `{"details":{"tokens":[]}}`, "details.tokens", "unknown field"},
		{"unknown drain", `{"drain":{"on":true}}`, "drain.on", "unknown field"},
		{"duplicate key", `{"base_path":"/a","base_path":"/b"}`, "base_path", "appears twice"},
		// duplicate keys, at every depth, named by path
		{"duplicate unknown key", `{"x":1,"x":2}`, "x", "appears twice"},
		{"duplicate check key", check(`,"name":"b"`), "checks[0].name", "appears twice"},
		{"duplicate in second check", `{"checks":[{"name":"a","kind":"http","cluster":"c"},{"name":"b","kind":"http","kind":"hsm","cluster":"c"}]}`, "checks[1].kind", "appears twice"},
		{"duplicate expect.json key", check(`,"expect":{"json":{"status":"UP","status":"DOWN"}}`), "checks[0].expect.json.status", "appears twice"},
		{"duplicate dotted expect.json key", check(`,"expect":{"json":{"db.ok":true,"db.ok":1}}`), `checks[0].expect.json."db.ok"`, "appears twice"},
		{"duplicate escaped key", check(`,"expect":{"json":{"status":"UP","st\u0061tus":"DOWN"}}`), "checks[0].expect.json.status", "appears twice"},
		{"duplicate header", check(`,"headers":{"x-k":"a","x-k":"a"}`), "checks[0].headers.x-k", "appears twice"},
		{"duplicate details key", `{"details":{"expose":"never","expose":"always"}}`, "details.expose", "appears twice"},
		{"duplicate service key", `{"service":{"name":"a","name":"b"}}`, "service.name", "appears twice"},
		{"duplicate refresh key", `{"refresh":{"ttl":"1s","ttl":"2s"}}`, "refresh.ttl", "appears twice"},
		{"duplicate drain key", `{"drain":{"enabled":false,"enabled":true}}`, "drain.enabled", "appears twice"},
		{"duplicate deep in a value", check(`,"expect":{"json":{"a":[1,{"k":{"z":1,"z":2}}]}}`), "checks[0].expect.json.a[1].k.z", "appears twice"},
		{"duplicate after nested objects", `{"service":{},"refresh":{"mode":"background"},"checks":[{},{}],"service":{}}`, "service", "appears twice"},
		{"duplicate empty key", `{"":1,"":2}`, `""`, "appears twice"},
		{"duplicate key with a newline", `{"a\nb":1,"a\nb":2}`, `"a\nb"`, "appears twice"},
		// control characters in whatever reaches a request
		{"CR LF in authority", check(`,"authority":"a\r\nx-injected: 1"`), "checks[0].authority", `control characters (CR, LF, NUL, other C0 or DEL): got "a\r\nx-injected: 1"`},
		{"NUL in path", check(`,"path":"/h\u0000x"`), "checks[0].path", "control characters"},
		{"tab in path", check(`,"path":"/h\tx"`), "checks[0].path", "control characters"},
		{"DEL in cluster", `{"checks":[{"name":"a","kind":"http","cluster":"c\u007f"}]}`, "checks[0].cluster", "control characters"},
		{"ESC in grpc_service", `{"checks":[{"name":"a","kind":"grpc","cluster":"c","grpc_service":"x\u001b[2J"}]}`, "checks[0].grpc_service", "control characters"},
		{"ESC in header value", check(`,"headers":{"x-k":"v\u001b"}`), "checks[0].headers.x-k", "value withheld"},
		{"tab in header value", check(`,"headers":{"x-k":"a\tb"}`), "checks[0].headers.x-k", "value withheld"},
		{"control character in method", check(`,"method":"GE\u0000T"`), "checks[0].method", "upper-case"},
		{"control character in header name", check(`,"headers":{"x\u0000k":"v"}`), `checks[0].headers."x\x00k"`, "not a valid header name"},
		{"NUL in base path", `{"base_path":"/h\u0000"}`, "base_path", "absolute path"},
		// what an error quotes is escaped and bounded
		{"forged line in a key", `{"x\nmeshprobe: forged":1}`, `"x\nmeshprobe: forged"`, "unknown field"},
		{"long key", `{"` + strings.Repeat("k", 100<<10) + `":1}`, `"` + strings.Repeat("k", 64) + `"…`, "unknown field"},
		{"long key of escapes", `{"refresh":{"` + strings.Repeat(`\n`, 100) + `":1}}`, `refresh."` + strings.Repeat(`\n`, 32) + `"…`, "unknown field"},
		{"line separator in a key", `{"a\u2028b":1}`, `"a\u2028b"`, "unknown field"},
		{"bidi override in a value", `{"dialects":["\u202estandard"]}`, "dialects[0]", `unknown dialect "\u202estandard"`},
		{"long value", `{"dialects":["` + strings.Repeat("é", 1000) + `"]}`, "dialects[0]", `unknown dialect "` + strings.Repeat("é", 64) + `"… (known:`},
		{"invalid UTF-8 in a value", "{\"dialects\":[\"a\xffb\"]}", "dialects[0]", `unknown dialect "a\xffb"`},
		// kinds
		{"unknown kind", `{"checks":[{"name":"a","kind":"redis","cluster":"c"}]}`, "checks[0].kind", `unknown kind "redis"`},
		{"missing kind", `{"checks":[{"name":"a","cluster":"c"}]}`, "checks[0].kind", "missing"},
		{"grpc with path", `{"checks":[{"name":"a","kind":"grpc","cluster":"c","path":"/x"}]}`, "checks[0].path", "not used by grpc checks"},
		{"http with grpc_service", check(`,"grpc_service":"x"`), "checks[0].grpc_service", "only grpc checks"},
		// names and clusters
		{"missing name", `{"checks":[{"kind":"http","cluster":"c"}]}`, "checks[0].name", "missing"},
		{"missing cluster", `{"checks":[{"name":"a","kind":"http"}]}`, "checks[0].cluster", "missing"},
		{"upper-case name", `{"checks":[{"name":"DB","kind":"http","cluster":"c"}]}`, "checks[0].name", `bad name "DB"`},
		{"name too long", `{"checks":[{"name":"` + strings.Repeat("a", 64) + `","kind":"http","cluster":"c"}]}`, "checks[0].name", "bad name"},
		{"name with slash", `{"checks":[{"name":"a/b","kind":"http","cluster":"c"}]}`, "checks[0].name", "bad name"},
		{"duplicate name", `{"checks":[{"name":"a","kind":"http","cluster":"c"},{"name":"a","kind":"hsm","cluster":"d"}]}`, "checks[1].name", `duplicate name "a" (also checks[0])`},
		{"checks not a list", `{"checks":{"name":"a"}}`, "checks", "must be a list"},
		{"check not an object", `{"checks":["a"]}`, "checks[0]", "must be an object"},
		// durations
		{"bad duration", check(`,"timeout":"2 seconds"`), "checks[0].timeout", "bad duration"},
		{"negative duration", check(`,"timeout":"-1s"`), "checks[0].timeout", "greater than zero"},
		{"zero duration", `{"refresh":{"interval":0}}`, "refresh.interval", "greater than zero"},
		{"fractional ms", `{"refresh":{"ttl":1.5}}`, "refresh.ttl", "whole number of milliseconds"},
		{"duration as bool", `{"refresh":{"ttl":true}}`, "refresh.ttl", "bad duration"},
		{"sub-millisecond timeout", check(`,"timeout":"900us"`), "checks[0].timeout", "at least 1ms"},
		{"sub-millisecond interval", `{"refresh":{"interval":"500us"}}`, "refresh.interval", "at least 1ms"},
		{"duration over a day", check(`,"interval":"1200h"`), "checks[0].interval", "at most 24h"},
		{"drain with nobody allowed", `{"drain":{"enabled":true},"details":{"expose":"always"}}`, "drain.enabled", "needs details.allow_cidrs"},
		{"timeout over interval", check(`,"timeout":"5s","interval":"1s"`), "checks[0].timeout", "longer than the check interval"},
		{"jitter percent", `{"refresh":{"jitter":"80%"}}`, "refresh.jitter", "0% to 50%"},
		{"jitter over interval", `{"refresh":{"interval":"1s","jitter":"2s"}}`, "refresh.jitter", "shorter than refresh.interval"},
		{"bad mode", `{"refresh":{"mode":"lazy"}}`, "refresh.mode", "background"},
		// CIDRs, tokens, principals
		{"bad CIDR", `{"details":{"allow_cidrs":["10.0.0.0/33"]}}`, "details.allow_cidrs[0]", `bad CIDR "10.0.0.0/33"`},
		{"CIDR not string", `{"details":{"allow_cidrs":[10]}}`, "details.allow_cidrs[0]", "must be a string"},
		{"short token hash", `{"details":{"token_sha256":["abc"]}}`, "details.token_sha256[0]", "bad token hash"},
		{"non-hex token hash", `{"details":{"token_sha256":["` + strings.Repeat("z", 64) + `"]}}`, "details.token_sha256[0]", "bad token hash"},
		{"hash of the empty string", `{"details":{"token_sha256":["` + strings.Repeat("ab", 32) + `","E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"]}}`,
			"details.token_sha256[1]", "is the sha256 of the empty string: was $TOKEN unset?"},
		{"hash of a newline", `{"details":{"token_sha256":["01ba4719c80b6fe911b091a7c05124b64eeece964e09c058ef8f9805daca546b"]}}`,
			"details.token_sha256[0]", "is the sha256 of a lone newline"},
		{"every IPv4 address with drain", `{"drain":{"enabled":true},"details":{"allow_cidrs":["127.0.0.1","0.0.0.0/0"]}}`, "details.allow_cidrs", "lets every IPv4 address in while drain.enabled is true: anyone could drain"},
		{"every IPv6 address with drain", `{"drain":{"enabled":true},"details":{"allow_cidrs":["::/0"],"token_sha256":["` + strings.Repeat("ab", 32) + `"]}}`, "details.allow_cidrs", "every IPv6 address"},
		{"every mapped address with drain", `{"drain":{"enabled":true},"details":{"allow_cidrs":["::ffff:0:0/96"]}}`, "details.allow_cidrs", "every IPv4 address"},
		{"two halves with drain", `{"drain":{"enabled":true},"details":{"allow_cidrs":["128.0.0.0/1","0.0.0.0/1"]}}`, "details.allow_cidrs", "every IPv4 address"},
		{"bad expose", `{"details":{"expose":"public"}}`, "details.expose", "never"},
		{"empty principal", `{"details":{"allow_principals":[""]}}`, "details.allow_principals[0]", "must not be empty"},
		// dialects and paths
		{"unknown dialect", `{"dialects":["consul"]}`, "dialects[0]", `unknown dialect "consul"`},
		{"no dialects", `{"dialects":[]}`, "dialects", "at least one"},
		{"dialect twice", `{"dialects":["standard","standard"]}`, "dialects[1]", "listed twice"},
		{"k8s vs privacyidea", `{"dialects":["kubernetes","privacyidea"]}`, "dialects", "path collision: /healthz is served by both kubernetes and privacyidea"},
		{"liberty vs base path", `{"base_path":"/","dialects":["standard","liberty"]}`, "dialects", "path collision: /info is served by both standard and liberty"},
		{"amsdal vs base path", `{"base_path":"/api","dialects":["standard","amsdal"]}`, "dialects", "path collision: /api/probes/liveness"},
		{"check named like a builtin", `{"dialects":["kubernetes"],"checks":[{"name":"ping","kind":"http","cluster":"c"}]}`, "checks", `check name "ping" collides`},
		{"group named status", `{"dialects":["privacyidea"],"checks":[{"name":"a","kind":"http","cluster":"c","group":"status"}]}`, "checks[0].group", "privacyidea resolversz status field"},
		{"relative base path", `{"base_path":"health"}`, "base_path", "absolute path"},
		{"base path with query", `{"base_path":"/h?x"}`, "base_path", "absolute path"},
		// other check fields
		{"bad type", check(`,"type":"optional"`), "checks[0].type", "hard"},
		{"bad gate", check(`,"gates":["liveness"]`), "checks[0].gates[0]", `unknown gate "liveness"`},
		{"threshold zero", check(`,"failure_threshold":0`), "checks[0].failure_threshold", "from 1 to 1000"},
		{"threshold string", check(`,"success_threshold":"2"`), "checks[0].success_threshold", "from 1 to 1000"},
		{"bad status", check(`,"expect":{"status":["6xx"]}`), "checks[0].expect.status[0]", "status code"},
		{"empty status", check(`,"expect":{"status":[]}`), "checks[0].expect.status", "at least one"},
		{"json object value", check(`,"expect":{"json":{"a":{"b":1}}}`), "checks[0].expect.json.a", "strings, numbers"},
		{"json empty list", check(`,"expect":{"json":{"a":[]}}`), "checks[0].expect.json.a", "at least one"},
		{"bad path", check(`,"path":"health"`), "checks[0].path", "absolute"},
		{"lower-case method", check(`,"method":"get"`), "checks[0].method", "upper-case"},
		{"pseudo header", check(`,"headers":{":authority":"x"}`), `checks[0].headers.":authority"`, "not a valid header name"},
		{"header not string", check(`,"headers":{"x-k":1}`), "checks[0].headers.x-k", "value must be a string"},
		{"header twice", check(`,"headers":{"X-K":"a","x-k":"b"}`), "checks[0].headers.x-k", "appears twice"},
		{"grpc protocol header", `{"checks":[{"name":"g","kind":"grpc","cluster":"c","headers":{"TE":"x"}}]}`, "checks[0].headers", "te is set by the grpc check"},
		{"empty observe", check(`,"observe":""`), "checks[0].observe", "non-empty"},
		{"drain not bool", `{"drain":{"enabled":"yes"}}`, "drain.enabled", "true or false"},
		{"service not string", `{"service":{"version":1}}`, "service.version", "must be a string"},
		{"too many checks", tooManyChecks, "checks", "at most"},
	}
}

// ManyChecks is a configuration of n valid http checks.
func ManyChecks(n int) string {
	var b strings.Builder
	b.WriteString(`{"checks":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"c%s%d","kind":"http","cluster":"c"}`, strings.Repeat("x", i%5), i)
	}
	b.WriteString(`]}`)
	return b.String()
}
