package checks

import (
	"fmt"
	"strings"
	"testing"

	"github.com/meshprobe/meshprobe/internal/testing/configcases"
	"github.com/meshprobe/meshprobe/internal/testing/statusdom"
)

const statusNow = 1_700_000_060_000 // unix ms

// statusConfig has the checks "api" (hard, gates readiness and startup)
// and "cache" (soft, gates nothing).
func statusConfig(t *testing.T) *Config {
	t.Helper()
	cfg, err := Parse([]byte(`{"service":{"name":"shop","version":"1.2"},"checks":[
		{"name":"api","kind":"http","cluster":"api"},
		{"name":"cache","kind":"grpc","cluster":"cache","type":"soft"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func checked(st Status, msg string) CheckState {
	return CheckState{Status: st, EverUp: true, CheckedAt: statusNow - 2000, LastOK: statusNow - 5000,
		ChangedAt: statusNow - 30000, LatencyMs: 12, Message: msg}
}

// page reads a status page as a person sees it.
func page(t *testing.T, body []byte) statusdom.Page {
	t.Helper()
	p, err := statusdom.Read(string(body))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStatusPageStates(t *testing.T) {
	cfg := statusConfig(t)
	cases := []struct {
		name    string
		state   State
		summary []string // the summary's words, in order
		status  [2]string
	}{
		{"up", State{Proxy: Proxy{Started: true}, Checks: []CheckState{checked(StatusUp, "status 200"), checked(StatusUp, "SERVING")}},
			[]string{"ready", "started", "not draining", "up"}, [2]string{"✓ up", "✓ up"}},
		{"degraded", State{Proxy: Proxy{Started: true}, Checks: []CheckState{checked(StatusUp, "status 200"), checked(StatusDown, "NOT_SERVING")}},
			[]string{"ready", "started", "not draining", "degraded"}, [2]string{"✓ up", "✗ down"}},
		{"down", State{Proxy: Proxy{Started: true}, Checks: []CheckState{checked(StatusDown, "status 503"), checked(StatusUp, "SERVING")}},
			[]string{"not ready: dependencies", "started", "not draining", "down"}, [2]string{"✗ down", "✓ up"}},
		{"starting", *NewState(cfg), []string{"not ready: starting", "starting", "not draining", "unknown"}, [2]string{"? unknown", "? unknown"}},
		{"draining", State{Proxy: Proxy{Started: true, Draining: true}, Checks: []CheckState{checked(StatusUp, "status 200"), checked(StatusUp, "SERVING")}},
			[]string{"not ready: draining", "started", "draining", "up"}, [2]string{"✓ up", "✓ up"}},
	}
	for _, c := range cases {
		for _, details := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/details=%v", c.name, details), func(t *testing.T) {
				r := statusPage(&View{Cfg: cfg, State: &c.state, ShowDetails: details}, cfg.Service, statusNow)
				if r.Status != 200 || r.ContentType != ContentHTML {
					t.Fatalf("%d %s", r.Status, r.ContentType)
				}
				p := page(t, r.Body)
				rows := p.Rows
				if strings.Join(p.Summary, "|") != strings.Join(c.summary, "|") {
					t.Errorf("summary %q; want %q", p.Summary, c.summary)
				}
				want := [][]string{{"api", "hard", "readiness, startup", c.status[0]}, {"cache", "soft", "none", c.status[1]}}
				if len(rows) != 2 {
					t.Fatalf("rows %q", rows)
				}
				for i, row := range rows {
					if details != (len(row) == 9) || strings.Join(row[:4], "|") != strings.Join(want[i], "|") {
						t.Errorf("row %d: %q; want %q then %v details", i, row, want[i], details)
					}
					if details && c.name != "starting" && (row[5] != "12 ms" || !strings.HasPrefix(row[6], "5 s ago") ||
						!strings.HasPrefix(row[7], "30 s ago") || !strings.Contains(row[7], "2023-11-14 22:13:50Z")) {
						t.Errorf("row %d details: %q", i, row)
					}
				}
			})
		}
	}
}

// The document is HTML5 with a language, a title and scoped headers, and
// a check's message is text, whatever markup it holds.
func TestStatusPageStructureAndEscaping(t *testing.T) {
	cfg := statusConfig(t)
	hostile := `<script>alert(1)</script><img src=x onerror=alert(2)>"'&`
	st := State{Proxy: Proxy{Started: true}, Checks: []CheckState{checked(StatusDown, hostile), checked(StatusUp, "ok")}}
	r := statusPage(&View{Cfg: cfg, State: &st, ShowDetails: true}, Service{Name: `<b>shop</b>`}, statusNow)
	p := page(t, r.Body)
	for _, tag := range []string{"script", "img", "b"} {
		if p.Tags[tag] {
			t.Errorf("a <%s> element in the page", tag)
		}
	}
	if !p.Doctype || p.Lang != "en" || p.Title != "<b>shop</b> – not ready: dependencies" || p.Scopes["col"] != 9 || p.Scopes["row"] != 2 {
		t.Errorf("doctype %v, lang %q, title %q, scopes %v", p.Doctype, p.Lang, p.Title, p.Scopes)
	}
	rows := p.Rows
	if got := rows[0][8]; got != hostile {
		t.Errorf("message cell %q; want the message as text", got)
	}
}

func TestStatusPageRefresh(t *testing.T) {
	cfg := statusConfig(t)
	for _, c := range []struct {
		query  string
		status int
		meta   string
	}{
		{"", 200, ""},
		{"refresh=30", 200, `<meta http-equiv="refresh" content="30">`},
		{"x=1&refresh=1", 200, `content="1"`},
		{"refresh=%31%30", 200, `content="10"`},
		{"refresh=3600", 200, `content="3600"`},
		{"refresh=0", 400, ""},
		{"refresh=3601", 400, ""},
		{"refresh=5s", 400, ""},
		{"refresh=", 400, ""},
	} {
		r := statusPage(&View{Cfg: cfg, State: NewState(cfg), Query: c.query}, cfg.Service, statusNow)
		has := strings.Contains(string(r.Body), `http-equiv="refresh"`)
		if r.Status != c.status || has != (c.meta != "") || !strings.Contains(string(r.Body), c.meta) {
			t.Errorf("?%s: %d, refresh meta %v\n%.300s", c.query, r.Status, has, r.Body)
		}
	}
}

// statusOf200 is a view of 200 checks in state cs, with details.
func statusOf200(tb testing.TB, cs CheckState) *View {
	cfg, err := Parse([]byte(configcases.ManyChecks(200)))
	if err != nil {
		tb.Fatal(err)
	}
	st := NewState(cfg)
	for i := range st.Checks {
		st.Checks[i] = cs
	}
	return &View{Cfg: cfg, State: st, ShowDetails: true}
}

// 200 checks with details and the longest messages: at most 2 KiB a check.
func TestStatusPageSize(t *testing.T) {
	v := statusOf200(t, checked(StatusDown, strings.Repeat("<&>", maxMessage/3)))
	if n := len(statusPage(v, v.Cfg.Service, statusNow).Body); n > 8192+200*2048 {
		t.Errorf("200 checks: %d bytes", n)
	}
}

func BenchmarkStatusPage(b *testing.B) {
	v := statusOf200(b, checked(StatusUp, "status 200"))
	for b.Loop() {
		statusPage(v, v.Cfg.Service, statusNow)
	}
}
