package checks

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

func TestParseRefuses(t *testing.T) {
	check := func(extra string) string {
		return `{"checks":[{"name":"a","kind":"http","cluster":"c"` + extra + `}]}`
	}
	cases := []struct{ name, config, field, problem string }{
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
		{"too many checks", manyChecks(MaxChecks + 1), "checks", "at most"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse([]byte(c.config))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Parse(%s) = %+v, %v; want a ConfigError", c.config, cfg, err)
			}
			if ce.Field != c.field || !strings.Contains(ce.Problem, c.problem) {
				t.Errorf("error %q; want field %q and problem containing %q", err, c.field, c.problem)
			}
			checkErrorLine(t, err)
		})
	}
}

// checkErrorLine: an error is one short line of printable text.
func checkErrorLine(t *testing.T, err error) {
	t.Helper()
	line := err.Error()
	if utf8.RuneCountInString(line) > maxErrorLine+1 || !utf8.ValidString(line) ||
		strings.ContainsFunc(line, func(r rune) bool { return r != ' ' && !strconv.IsPrint(r) }) {
		t.Errorf("error is not one short printable line: %.600q", line)
	}
}

// The error line backstop: a problem that quotes raw input is still one
// printable, bounded line.
func TestConfigErrorLine(t *testing.T) {
	long := strings.Repeat("x", 100<<10)
	for _, e := range []*ConfigError{
		{Field: "a\nb", Problem: "c\u2028d\x00\xff"},
		{Field: "dialects", Problem: "path collision: /" + long + " is served by both"},
		{Problem: long},
	} {
		checkErrorLine(t, e)
	}
	if got := (&ConfigError{Field: "a\nb", Problem: "c\x7f"}).Error(); got != `invalid configuration: a\nb: c\x7f` {
		t.Errorf("got %q", got)
	}
	if got := (&ConfigError{Problem: long}).Error(); !strings.HasSuffix(got, "x…") {
		t.Errorf("not cut: %.100q", got)
	}
}

func TestParseWarnings(t *testing.T) {
	for cfgText, want := range map[string]int{
		`{}`: 0, `{"details":{"allow_cidrs":["10.0.0.0/8"]}}`: 0,
		`{"details":{"allow_cidrs":["0.0.0.0/0"]}}`:                                                                   1,
		`{"details":{"allow_cidrs":["0.0.0.0/0","::/0"]}}`:                                                            1,
		`{"details":{"expose":"never","allow_cidrs":["::/0"]}}`:                                                       1,
		`{"checks":[{"name":"a","kind":"http","cluster":"c","headers":{"x-api-version":"2","x-key":"long-enough"}}]}`: 1,
	} {
		if w := mustParse(t, cfgText).Warnings; len(w) != want {
			t.Errorf("%s: warnings %q; want %d", cfgText, w, want)
		}
	}
}

// refDuplicate is noDuplicateKeys the slow way, recursively with gjson:
// the field of the first repeated key, or "".
func refDuplicate(field string, r gjson.Result) string {
	found := ""
	switch {
	case r.IsObject():
		seen := map[string]bool{}
		r.ForEach(func(k, v gjson.Result) bool {
			if seen[k.String()] {
				found = join(field, k.String())
			} else {
				seen[k.String()] = true
				found = refDuplicate(join(field, k.String()), v)
			}
			return found == ""
		})
	case r.IsArray():
		for i, v := range r.Array() {
			if found = refDuplicate(field+"["+itoa(i)+"]", v); found != "" {
				break
			}
		}
	}
	return found
}

func manyChecks(n int) string {
	var b strings.Builder
	b.WriteString(`{"checks":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"name":"c` + strings.Repeat("x", i%5) + itoa(i) + `","kind":"http","cluster":"c"}`)
	}
	b.WriteString(`]}`)
	return b.String()
}

func itoa(i int) string { return string(appendInt(nil, int64(i))) }

// A header value is a secret: no error about it may quote it.
func TestParseErrorsNeverQuoteHeaderValues(t *testing.T) {
	for _, v := range []string{`"tok\r\nen-secret"`, `"tok\u0000en-secret"`} {
		_, err := Parse([]byte(`{"checks":[{"name":"a","kind":"http","cluster":"c","headers":{"x-k":` + v + `}}]}`))
		if err == nil || strings.Contains(err.Error(), "secret") {
			t.Errorf("error %v; want a refusal that withholds the value", err)
		}
	}
}

func TestParseDefaults(t *testing.T) {
	cfg, err := Parse([]byte(`{"checks":[
		{"name":"app","kind":"http","cluster":"inbound|8080||"},
		{"name":"db","kind":"http","cluster":"outbound|9187||pg.db.svc.cluster.local","type":"soft","group":"sql"},
		{"name":"hsm","kind":"hsm","cluster":"hsm-gateway","path":"/v1/status"},
		{"name":"ledger","kind":"grpc","cluster":"outbound|50051||ledger","grpc_service":"ledger.v1.Ledger","interval":1500,"timeout":"500ms"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BasePath != "/health" || !reflect.DeepEqual(cfg.Dialects, []Dialect{DialectStandard}) ||
		cfg.Refresh != (Refresh{Mode: RefreshBackground, Interval: 10 * time.Second, JitterPercent: 10, TTL: 2 * time.Second}) ||
		cfg.Details.Expose != ExposeAuthorized || cfg.DrainEnabled {
		t.Errorf("top-level defaults wrong: %+v", cfg)
	}
	app, db, hsm, ledger := cfg.Checks[0], cfg.Checks[1], cfg.Checks[2], cfg.Checks[3]
	if app.Method != "GET" || app.Path != "/" || app.Timeout != 2*time.Second || app.Interval != 10*time.Second ||
		app.Soft || app.Gates != GateReadiness|GateStartup || app.FailureThreshold != 3 || app.SuccessThreshold != 1 ||
		!reflect.DeepEqual(app.ExpectStatus, []StatusRange{{200, 299}}) || app.ExpectJSON != nil || app.Authority != "inbound|8080||" {
		t.Errorf("http defaults wrong: %+v", app)
	}
	if !db.Soft || db.Gates != 0 || db.Group != "sql" || db.Authority != "pg.db.svc.cluster.local:9187" {
		t.Errorf("soft check wrong: %+v", db)
	}
	if len(hsm.ExpectJSON) != 1 || hsm.ExpectJSON[0].Path != "status" || len(hsm.ExpectJSON[0].Accept) != 5 || hsm.Authority != "hsm-gateway" {
		t.Errorf("hsm defaults wrong: %+v", hsm)
	}
	if ledger.Kind != KindGRPC || ledger.Method != "POST" || ledger.Path != GRPCHealthPath || ledger.GRPCService != "ledger.v1.Ledger" ||
		ledger.Interval != 1500*time.Millisecond || ledger.Timeout != 500*time.Millisecond || ledger.Authority != "ledger:50051" {
		t.Errorf("grpc check wrong: %+v", ledger)
	}
}

func TestParseAccepts(t *testing.T) {
	cases := []struct {
		name, config string
		check        func(*Config) bool
	}{
		{"empty", ``, func(c *Config) bool { return len(c.Routes) == 7 }},
		{"whitespace", " \n", func(c *Config) bool { return c.BasePath == "/health" }},
		{"status classes and codes", `{"checks":[{"name":"a","kind":"http","cluster":"c","expect":{"status":["2XX",301,"404"]}}]}`,
			func(c *Config) bool {
				return reflect.DeepEqual(c.Checks[0].ExpectStatus, []StatusRange{{200, 299}, {301, 301}, {404, 404}})
			}},
		{"json expectations", `{"checks":[{"name":"a","kind":"http","cluster":"c","expect":{"json":{"status":"UP","db.ok":[true,1,null]}}}]}`,
			func(c *Config) bool {
				e := c.Checks[0].ExpectJSON
				return len(e) == 2 && e[0].Accept[0] == Scalar{Type: ScalarString, Text: "UP"} &&
					e[1].Accept[0].Type == ScalarBool && e[1].Accept[1].Num == 1 && e[1].Accept[2].Type == ScalarNull
			}},
		{"soft with explicit gate", `{"checks":[{"name":"a","kind":"http","cluster":"c","type":"soft","gates":["startup"]}]}`,
			func(c *Config) bool { return c.Checks[0].Gates == GateStartup }},
		{"hard with no gates", `{"checks":[{"name":"a","kind":"http","cluster":"c","gates":[]}]}`,
			func(c *Config) bool { return c.Checks[0].Gates == 0 }},
		{"jitter duration", `{"refresh":{"jitter":"250ms","mode":"on_request"}}`,
			func(c *Config) bool {
				return c.Refresh.Jitter == 250*time.Millisecond && c.Refresh.JitterPercent == 0 && c.Refresh.Mode == RefreshOnRequest
			}},
		{"jitter off", `{"refresh":{"jitter":0}}`, func(c *Config) bool { return c.Refresh.JitterPercent == 0 && c.Refresh.Jitter == 0 }},
		{"bare address as CIDR", `{"details":{"allow_cidrs":["::1","10.1.2.3/8"]}}`,
			func(c *Config) bool {
				return c.Details.AllowCIDRs[0].String() == "::1/128" && c.Details.AllowCIDRs[1].String() == "10.0.0.0/8"
			}},
		{"headers lower-cased", `{"checks":[{"name":"a","kind":"http","cluster":"c","headers":{"X-Api-Key":"v"}}]}`,
			func(c *Config) bool { return c.Checks[0].Headers[0] == [2]string{"x-api-key", "v"} }},
		{"every dialect that fits together", `{"dialects":["standard","kubernetes","aurora","amsdal","liberty"],"base_path":"/_mp"}`,
			func(c *Config) bool { return len(c.Dialects) == 5 }},
		{"default timeout fits a short interval", `{"refresh":{"interval":"500ms"},"checks":[{"name":"a","kind":"http","cluster":"c"}]}`,
			func(c *Config) bool { return c.Checks[0].Timeout == 500*time.Millisecond }},
		{"explicit authority", `{"checks":[{"name":"a","kind":"http","cluster":"outbound|80||x","authority":"x.example"}]}`,
			func(c *Config) bool { return c.Checks[0].Authority == "x.example" }},
		{"max checks", manyChecks(MaxChecks), func(c *Config) bool { return len(c.Checks) == MaxChecks }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse([]byte(c.config))
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(cfg) {
				t.Errorf("parsed %+v", cfg)
			}
		})
	}
}

// FuzzParse: no input makes the parser panic, and whatever it accepts is
// internally consistent (routes collision-free, checks valid).
func FuzzParse(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"checks":[{"name":"a","kind":"http","cluster":"c"}]}`,
		`{"service":{"name":"checkout","version":"1.4.2"},"base_path":"/health","dialects":["standard","kubernetes"],
		  "refresh":{"mode":"background","interval":"10s","jitter":"10%","ttl":"2s"},
		  "checks":[{"name":"app","kind":"http","cluster":"inbound|8080||","path":"/actuator/health","expect":{"status":["2xx"],"json":{"status":"UP"}},"type":"hard"},
		    {"name":"db","kind":"http","cluster":"outbound|9187||pg","type":"soft","group":"sql","headers":{"x-k":"v"}},
		    {"name":"hsm","kind":"hsm","cluster":"hsm-gateway","path":"/v1/status"},
		    {"name":"ledger","kind":"grpc","cluster":"outbound|50051||ledger","grpc_service":"ledger.v1.Ledger","timeout":500}],
		  "details":{"expose":"authorized","allow_cidrs":["127.0.0.1/32"],"token_sha256":["` + strings.Repeat("ab", 32) + `"],"allow_principals":["spiffe://x"]},
		  "drain":{"enabled":true}}`,
		`{"refresh":{"jitter":"1%"}}`, `{"checks":[{"name":"a","kind":"grpc","cluster":"c","expect":1}]}`, `[`, `{"a":`, "\xff",
		`{"a":[{},{"b":1,"c":{"b":2}},"x",{"b":1,"b":2}]}`, `{"x\n":1}`, `{"details":{"allow_cidrs":["0.0.0.0/1","128.0.0.0/1"]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if gjson.ValidBytes(data) {
			dupErr := noDuplicateKeys(data)
			if want := refDuplicate("", gjson.ParseBytes(data)); dupErr == nil && want != "" || dupErr != nil && dupErr.(*ConfigError).Field != want {
				t.Fatalf("noDuplicateKeys(%q) = %v; want the duplicate at %q", data, dupErr, want)
			}
		}
		cfg, err := Parse(data)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %q is not a ConfigError", err)
			}
			checkErrorLine(t, err)
			return
		}
		for _, w := range cfg.Warnings {
			checkErrorLine(t, errors.New(w))
		}
		seen := map[string]bool{}
		for _, r := range cfg.Routes {
			if seen[r.Path] {
				t.Fatalf("accepted a configuration with two routes at %q", r.Path)
			}
			seen[r.Path] = true
		}
		for _, c := range cfg.Checks {
			if !validName(c.Name) || c.Cluster == "" || c.Timeout <= 0 || c.Timeout > c.Interval || len(c.ExpectStatus) == 0 && c.Kind != KindGRPC {
				t.Fatalf("accepted an invalid check %+v", c)
			}
		}
		NewStandard(cfg, cfg.Service) // renders every static body without panicking
	})
}
