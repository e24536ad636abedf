package checks

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/meshprobe/meshprobe/internal/testing/dialectcases"
)

var rewrite = flag.Bool("update", false, "rewrite checks/testdata/answers from the renderers")

// answersNow is the clock of every golden answer.
var answersNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeSource serves a fixed state and records what an answer read of it.
type fakeSource struct {
	state      *State
	cfg        *Config
	details    bool
	healthJSON bool
	read       readSet
}

func (f *fakeSource) Summary() Summary {
	f.read |= readsSummary
	sum, _ := readSummary(f.cfg, EncodeSummary(f.cfg, f.state))
	return sum
}
func (f *fakeSource) State() *State    { f.read |= readsState; return f.state }
func (f *fakeSource) Details() bool    { return f.details }
func (f *fakeSource) HealthJSON() bool { return f.healthJSON }
func (f *fakeSource) ProbeCounts() []ProbeCount {
	f.read |= readsCounters
	return []ProbeCount{{Endpoint: "standard/readiness", Code: 200, Count: 7}, {Endpoint: "standard/readiness", Code: 503, Count: 2}}
}
func (f *fakeSource) Now() int64 { f.read |= readsClock; return answersNow.UnixMilli() }

// answerStates are the five states every endpoint is rendered in
// (dialectcases names them): checks app (hard), cache (soft), hsm (hard).
func answerState(cfg *Config, name string) *State {
	s := NewState(cfg)
	at := answersNow.UnixMilli()
	for i := range s.Checks {
		s.Checks[i] = CheckState{Status: StatusUp, EverUp: true, ConsecOK: 3, LatencyMs: 12 + uint32(i), CheckedAt: at - 1500,
			LastOK: at - 1500, ChangedAt: at - 90_000, Runs: 40, Fails: 1, Message: "status 200"}
	}
	s.Started = true
	failing := map[string]int{dialectcases.Degraded: 1, dialectcases.Down: 0}
	switch i, ok := failing[name]; {
	case ok:
		s.Checks[i].Status, s.Checks[i].ConsecOK, s.Checks[i].ConsecFail = StatusDown, 0, 2
		s.Checks[i].ChangedAt, s.Checks[i].Message = at-20_000, `status 500 <b>"boom"</b>`
	case name == dialectcases.Starting:
		s = NewState(cfg)
	case name == dialectcases.Draining:
		s.Draining = true
	}
	return s
}

var answerStates = []string{dialectcases.Up, dialectcases.Degraded, dialectcases.Down, dialectcases.Starting, dialectcases.Draining}

// A request beyond the plain GET of each route.
var answerExtras = []struct {
	path       string
	healthJSON bool
}{
	{"/health/probes/readiness", true},
	{"/health/dependencies", true},
	{"/readyz?verbose", false},
	{"/readyz?exclude=app&exclude=nope", false},
	{"/livez?verbose", false},
	{"/health/status?refresh=5", false},
}

// renderAll renders every route of a dialect, and the extra requests it
// serves, in every state, with details shown and withheld, in the golden
// files' format.
func renderAll(t *testing.T, d Dialect) string {
	cfg := mustParse(t, dialectcases.Config(`"`+d.String()+`"`, "5s", ""))
	a, router := NewAnswers(cfg, cfg.Service), NewRouter(cfg.Routes)
	var b strings.Builder
	for _, st := range answerStates {
		for _, details := range []bool{true, false} {
			show := map[bool]string{true: "details shown", false: "details withheld"}[details]
			one := func(path string, healthJSON bool) {
				r := router.Match(path)
				if r == nil || r.Write {
					return
				}
				src := &fakeSource{state: answerState(cfg, st), cfg: cfg, details: details, healthJSON: healthJSON}
				rep := a.Render(r, Query(path), src)
				accept := ""
				if healthJSON {
					accept = ", accept health+json"
				}
				fmt.Fprintf(&b, "-- GET %s [%s, %s%s] --\n%d %s", path, st, show, accept, rep.Status, rep.ContentType)
				for _, h := range rep.ExtraHeaders() {
					fmt.Fprintf(&b, "; %s: %s", h[0], h[1])
				}
				fmt.Fprintf(&b, "\n%s\n", rep.Body)
			}
			for i := range cfg.Routes {
				one(cfg.Routes[i].Path, false)
			}
			for _, x := range answerExtras {
				one(x.path, x.healthJSON)
			}
		}
	}
	return b.String()
}

// TestAnswers holds every endpoint's answer, in each state and with
// details shown and withheld, to its golden body in
// testdata/answers/<dialect>.txt (go test ./checks -run TestAnswers -update
// writes them; review the diff). A new dialect gets its file the same way.
func TestAnswers(t *testing.T) {
	for _, dl := range dialects[:nDialects] {
		d := dl.id
		t.Run(d.String(), func(t *testing.T) {
			got := renderAll(t, d)
			file := filepath.Join("testdata", "answers", d.String()+".txt")
			if *rewrite {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (go test ./checks -run TestAnswers -update writes it)", err)
			}
			if got != string(want) {
				g, w := strings.Split(got, "\n-- "), strings.Split(string(want), "\n-- ")
				for i := range min(len(g), len(w)) {
					if g[i] != w[i] {
						t.Fatalf("%s: first difference:\ngot:\n%s\nwant:\n%s", file, g[i], w[i])
					}
				}
				t.Fatalf("%s: %d answers; want %d", file, len(g), len(w))
			}
		})
	}
}

// An answer reads of its Source exactly what its row in the endpoint table
// says: on_request refresh decides from the row whether a probe waits for
// fresh results, so a renderer reading more would answer from stale ones.
func TestEndpointReads(t *testing.T) {
	for _, d := range dialects[:nDialects] {
		cfg := mustParse(t, dialectcases.Config(`"`+d.name+`"`, "5s", ""))
		a := NewAnswers(cfg, cfg.Service)
		for i := range cfg.Routes {
			r := &cfg.Routes[i]
			row := endpoints[r.Endpoint]
			if row.label == "" {
				t.Errorf("%s: its endpoint has no label", r.Path)
			}
			for _, details := range []bool{true, false} {
				for _, healthJSON := range []bool{true, false} {
					src := &fakeSource{state: answerState(cfg, dialectcases.Down), cfg: cfg, details: details, healthJSON: healthJSON}
					a.Render(r, "", src)
					want := row.reads
					switch {
					case row.fixed || row.render == nil && row.renderView == nil: // fixed, or a write (plugin/ serves it): reads nothing
						want = 0
					case row.healthJSON && healthJSON:
						want = readsState
					case row.details && !details:
						want = 0
					}
					if src.read != want {
						t.Errorf("%s (details %v, health+json %v): read %04b; its row says %04b", r.Path, details, healthJSON, src.read, want)
					}
				}
			}
		}
	}
}

// docs/dialects.md quotes bodies: each literal JSON body it quotes is one
// that an endpoint answers.
func TestDialectsDocAgrees(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "dialects.md"))
	if err != nil {
		t.Fatal(err)
	}
	var golden strings.Builder
	for _, d := range dialects[:nDialects] {
		golden.WriteString(renderAll(t, d.id))
	}
	n := 0
	for _, m := range regexp.MustCompile("`(\\{[^`]*\\})`").FindAllStringSubmatch(string(doc), -1) {
		if !json.Valid([]byte(m[1])) {
			continue // a shape with alternatives, not a body
		}
		n++
		if !strings.Contains(golden.String(), "\n"+m[1]+"\n") {
			t.Errorf("docs/dialects.md quotes %s, which no endpoint answers", m[1])
		}
	}
	if n < 5 {
		t.Errorf("found %d literal bodies in docs/dialects.md; the pattern no longer matches its quotes", n)
	}
}

// internal/testing/dialectcases, the table the plugin's and e2e's dialect tests
// run through the plugin, agrees with the renderers here.
func TestDialectCasesAgree(t *testing.T) {
	for _, c := range dialectcases.Cases {
		cfg := mustParse(t, dialectcases.Config(c.Set.Dialects, "5s", ""))
		a, router := NewAnswers(cfg, cfg.Service), NewRouter(cfg.Routes)
		for path, want := range c.Paths {
			r := router.Match(path)
			if r == nil {
				t.Errorf("%s %s: no route", c.Set.Name, path)
				continue
			}
			got := a.Render(r, Query(path), &fakeSource{state: answerState(cfg, c.State), cfg: cfg})
			if got.Status != want.Status || string(got.Body) != want.Body {
				t.Errorf("%s %s [%s]: %d %q; dialectcases wants %d %q", c.Set.Name, path, c.State, got.Status, got.Body, want.Status, want.Body)
			}
		}
	}
}

// Metrics label each route dialect/endpoint; on_request refresh renews
// results first for every endpoint that reads them, except /metrics.
func TestEndpointLabelsAndFreshness(t *testing.T) {
	cfg := mustParse(t, dialectcases.Config(dialectcases.PrivacyIDEA.Dialects, "5s", ""))
	want := "standard/liveness standard/readiness standard/startup standard/up standard/metrics standard/dependencies standard/info standard/status standard/drain " +
		"privacyidea/healthz privacyidea/livez privacyidea/readyz privacyidea/startupz privacyidea/resolversz"
	if got := strings.Join(EndpointLabels(cfg.Routes), " "); got != want {
		t.Errorf("labels:\n%s\nwant\n%s", got, want)
	}
	fresh := map[string]bool{"standard/readiness": true, "standard/startup": true, "standard/dependencies": true, "standard/status": true,
		"privacyidea/healthz": true, "privacyidea/readyz": true, "privacyidea/startupz": true, "privacyidea/resolversz": true}
	for i := range cfg.Routes {
		if e := cfg.Routes[i].Endpoint; e.WantsFresh() != fresh[cfg.Routes[i].EndpointLabel()] {
			t.Errorf("%s: wants fresh results %v", cfg.Routes[i].Path, e.WantsFresh())
		}
	}
}

// A check added to a ready proxy is in grace until its status is decided:
// no dialect's readiness (each route that suits a kubelet readiness probe,
// /readyz/app for Kubernetes' single checks) fails on it meanwhile, and each
// does once it is decided down.
func TestGraceInEveryDialect(t *testing.T) {
	for _, set := range dialectcases.Sets {
		cfg := mustParse(t, dialectcases.Config(set.Dialects, "5s", ""))
		a := NewAnswers(cfg, cfg.Service)
		for _, down := range []bool{false, true} {
			s := answerState(cfg, dialectcases.Up)
			s.Checks[0] = CheckState{Grace: true} // app, hard: added by a push, not decided yet
			want := 200
			if down {
				s.Checks[0].Status, want = StatusDown, 503
			}
			for i := range cfg.Routes {
				r := &cfg.Routes[i]
				if r.KubeletProbe() != "readiness" || r.Check != "" && r.Check != "app" {
					continue
				}
				if got := a.Render(r, "", &fakeSource{state: s, cfg: cfg}); got.Status != want {
					t.Errorf("%s %s, app in grace (down %v): %d %s; want %d", set.Name, r.Path, down, got.Status, got.Body, want)
				}
			}
		}
	}
}
