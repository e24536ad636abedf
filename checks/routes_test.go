package checks

import (
	"strings"
	"testing"

	"github.com/meshprobe/meshprobe/internal/testing/dialectcases"
)

func mustParse(t testing.TB, s string) *Config {
	t.Helper()
	c, err := Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRouterMatch(t *testing.T) {
	cfg := mustParse(t, `{"dialects":["standard","kubernetes","amsdal"],"checks":[{"name":"db","kind":"http","cluster":"c"}]}`)
	r := NewRouter(cfg.Routes)
	cases := []struct {
		path  string
		want  string // the endpoint's label, "" for no route
		check string
	}{
		{"/health/probes/liveness", "standard/liveness", ""},
		{"/health/probes/liveness/", "standard/liveness", ""},
		{"/health/probes/liveness?x=1/", "standard/liveness", ""},
		{"/health/probes/liveness/?", "standard/liveness", ""},
		{"/health/up", "standard/up", ""},
		{"/readyz/db", "kubernetes/readyz_check", "db"},
		{"/readyz/shutdown?verbose", "kubernetes/readyz_check", "shutdown"},
		{"/livez/ping", "kubernetes/livez_check", "ping"},
		{"/api/probes/readiness/", "amsdal/readiness", ""},
		{"/api/probes/readiness", "amsdal/readiness", ""},
		{"/health/probes/liveness//", "", ""},
		{"/health/probes/livenessX", "", ""},
		{"/healthcheck", "", ""},
		{"/readyz/nope", "", ""},
		{"/livez/db", "", ""},
		{"", "", ""},
		{"?", "", ""},
		{"/", "", ""},
	}
	for _, c := range cases {
		got := r.Match(c.path)
		switch {
		case c.want == "" && got != nil:
			t.Errorf("Match(%q) = %+v; want no route", c.path, got)
		case c.want != "" && (got == nil || got.EndpointLabel() != c.want || got.Check != c.check):
			t.Errorf("Match(%q) = %+v; want %s %q", c.path, got, c.want, c.check)
		}
	}
}

func TestRouterMatchAllocatesNothing(t *testing.T) {
	r := NewRouter(mustParse(t, `{}`).Routes)
	if n := testing.AllocsPerRun(100, func() {
		r.Match("/api/v1/orders/123?expand=items")
		r.Match("/health/probes/readiness/?verbose")
	}); n != 0 {
		t.Errorf("Match allocates %v times per call", n)
	}
}

func TestDrainRouteOnlyWhenEnabled(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		cfg := mustParse(t, `{"details":{"allow_cidrs":["::1"]},"drain":{"enabled":`+map[bool]string{false: "false", true: "true"}[enabled]+`}}`)
		got := NewRouter(cfg.Routes).Match("/health/drain")
		if (got != nil) != enabled || got != nil && !got.Write {
			t.Errorf("drain enabled=%v: route %+v", enabled, got)
		}
	}
}

func TestQuery(t *testing.T) {
	for in, want := range map[string]string{"/a": "", "/a?": "", "/a?x=1&y": "x=1&y", "/a?b?c": "b?c"} {
		if got := Query(in); got != want {
			t.Errorf("Query(%q) = %q; want %q", in, got, want)
		}
	}
}

// FuzzRouterMatch: any request path matches a route only if, without its
// query and one trailing slash, it is exactly that route's path.
func FuzzRouterMatch(f *testing.F) {
	cfg := mustParse(f, `{"dialects":[`+dialectcases.Main.Dialects+`],"base_path":"/_mp","checks":[{"name":"db","kind":"http","cluster":"c"}]}`)
	r := NewRouter(cfg.Routes)
	for _, s := range []string{"/_mp/probes/liveness", "/_mp/up/?a", "/readyz/db", "/health/readiness//", "?", "", "/\xff?\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		got := r.Match(path)
		p, _, _ := strings.Cut(path, "?")
		if len(p) > 1 {
			p = strings.TrimSuffix(p, "/")
		}
		if got != nil && got.Path != p {
			t.Fatalf("Match(%q) = %q", path, got.Path)
		}
		if got == nil {
			for _, rt := range cfg.Routes {
				if rt.Path == p {
					t.Fatalf("Match(%q) missed %q", path, rt.Path)
				}
			}
		}
	})
}

// TestExactPathsAreWhatMatchAnswers: a request reaches a route exactly
// when its path, query removed as Envoy's `path` match removes it, is one
// of ExactPaths; tried on every dialect case's configuration and on base
// paths of every shape, with near misses of every route.
func TestExactPathsAreWhatMatchAnswers(t *testing.T) {
	var configs []string
	for _, s := range dialectcases.Sets {
		configs = append(configs, dialectcases.Config(s.Dialects, "1s", ""))
	}
	for _, base := range []string{"/health", "/a/b/", "/x"} {
		configs = append(configs, `{"base_path":"`+base+`","dialects":["standard","liberty"],"drain":{"enabled":true},
			"details":{"allow_cidrs":["10.0.0.0/8"]}}`)
	}
	for _, js := range configs {
		cfg := mustParse(t, js)
		exact := map[string]bool{}
		for _, p := range ExactPaths(cfg.Routes) {
			exact[p] = true
		}
		r := NewRouter(cfg.Routes)
		var tried []string
		for _, rt := range cfg.Routes {
			p := rt.Path
			tried = append(tried, p, p+"/", p+"//", p+"?", p+"?a=b", p+"/?x", p+"//?x", p+"x", p+"x/",
				p[:len(p)-1], strings.ToUpper(p), "/"+p, p+"/"+p, p+"#", p+"%2F", strings.Repeat(p, 3)+"?x")
		}
		tried = append(tried, "", "/", "//", "?", "/?", "//?x", "/?x")
		for _, p := range tried {
			envoy := p
			if i := strings.IndexByte(p, '?'); i >= 0 {
				envoy = p[:i]
			}
			if got := r.Match(p) != nil; got != exact[envoy] {
				t.Errorf("%s: Match(%q) found a route: %v; in ExactPaths: %v", js, p, got, exact[envoy])
			}
		}
	}
}

// The declarations fit the endpoint table (an Endpoint is a byte), and each
// names its dialect once and each of its rows by a label of its own.
func TestDeclarations(t *testing.T) {
	rows := 0
	for i, d := range dialects[:nDialects] {
		if j, _ := dialectByName(d.name); d.id != Dialect(i) || j != d.id {
			t.Errorf("dialect %d %q: id %d, found as %d", i, d.name, d.id, j)
		}
		labels := map[string]bool{}
		for j := range d.endpoints {
			e := &d.endpoints[j]
			if e.label == "" || labels[e.label] || e.path == "" || endpoints[d.first+Endpoint(j)] != e {
				t.Errorf("%s row %d (%q, %s): unlabeled, label taken, no path, or not in the table", d.name, j, e.label, e.path)
			}
			labels[e.label] = true
		}
		rows += len(d.endpoints)
	}
	if rows+1 != int(nEndpoints) || rows > 255 {
		t.Errorf("%d rows; the table holds %d and at most 255", rows, nEndpoints-1)
	}
}
