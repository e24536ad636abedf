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

	"github.com/meshprobe/meshprobe/internal/testing/configcases"
	"github.com/meshprobe/meshprobe/internal/testing/dialectcases"
)

func TestParseRefuses(t *testing.T) {
	for _, c := range configcases.Refused(configcases.ManyChecks(MaxChecks + 1)) {
		t.Run(c.Name, func(t *testing.T) {
			cfg, err := Parse([]byte(c.Config))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Parse(%s) = %+v, %v; want a ConfigError", c.Config, cfg, err)
			}
			if ce.Field != c.Field || !strings.Contains(ce.Problem, c.Problem) {
				t.Errorf("error %q; want field %q and problem containing %q", err, c.Field, c.Problem)
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
	if cfg.BasePath != "/health" || !reflect.DeepEqual(cfg.Dialects, []Dialect{standard.id}) ||
		cfg.Refresh != (Refresh{Mode: RefreshBackground, Interval: 10 * time.Second, JitterPercent: 10, TTL: 2 * time.Second}) ||
		cfg.Details.Expose != ExposeAuthorized || cfg.DrainEnabled {
		t.Errorf("top-level defaults wrong: %+v", cfg)
	}
	app, db, hsm, ledger := cfg.Checks[0], cfg.Checks[1], cfg.Checks[2], cfg.Checks[3]
	if app.Method != "GET" || app.Path != "/" || app.Timeout != 2*time.Second || app.Interval != 10*time.Second ||
		app.Soft || app.Gates != GateReadiness|GateStartup || app.FailureThreshold != 3 || app.SuccessThreshold != 1 ||
		!reflect.DeepEqual(app.ExpectStatus, []StatusRange{{200, 299}}) || app.ExpectJSON != nil || app.Authority != "localhost:8080" {
		t.Errorf("http defaults wrong: %+v", app)
	}
	if !db.Soft || db.Gates != 0 || db.Group != "sql" || db.Authority != "pg.db.svc.cluster.local:9187" {
		t.Errorf("soft check wrong: %+v", db)
	}
	if len(hsm.ExpectJSON) != 1 || hsm.ExpectJSON[0].Path != "status" || len(hsm.ExpectJSON[0].Accept) != 5 || hsm.Authority != "hsm-gateway" {
		t.Errorf("hsm defaults wrong: %+v", hsm)
	}
	if ledger.Kind != KindGRPC || ledger.Method != "POST" || ledger.Path != grpcHealthPath || ledger.GRPCService != "ledger.v1.Ledger" ||
		ledger.Interval != 1500*time.Millisecond || ledger.Timeout != 500*time.Millisecond || ledger.Authority != "ledger:50051" {
		t.Errorf("grpc check wrong: %+v", ledger)
	}
}

func TestParseAccepts(t *testing.T) {
	cases := []struct {
		name, config string
		check        func(*Config) bool
	}{
		{"empty", ``, func(c *Config) bool { return len(c.Routes) == 8 }},
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
		{"every dialect that fits together", `{"dialects":[` + dialectcases.Main.Dialects + `],"base_path":"/_mp"}`,
			func(c *Config) bool { return len(c.Dialects) == strings.Count(dialectcases.Main.Dialects, ",")+1 }},
		{"default timeout fits a short interval", `{"refresh":{"interval":"500ms"},"checks":[{"name":"a","kind":"http","cluster":"c"}]}`,
			func(c *Config) bool { return c.Checks[0].Timeout == 500*time.Millisecond }},
		{"explicit authority", `{"checks":[{"name":"a","kind":"http","cluster":"outbound|80||x","authority":"x.example"}]}`,
			func(c *Config) bool { return c.Checks[0].Authority == "x.example" }},
		{"max checks", configcases.ManyChecks(MaxChecks), func(c *Config) bool { return len(c.Checks) == MaxChecks }},
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
		NewAnswers(cfg, cfg.Service) // renders every static body without panicking
	})
}
