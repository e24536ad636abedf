package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshprobe/meshprobe/internal/testing/dialectcases"
	"github.com/meshprobe/meshprobe/internal/testing/statusdom"
)

// The status page in a real browser: headless Chromium (Debian package
// chromium, which make test installs) loads {base}/status from the plugin
// on internal/testing/wasmhost and in Envoy, and the DOM it built is read back.

// chromium is the browser's path. make test and CI require it
// (MESHPROBE_REQUIRE_CHROMIUM=1); elsewhere the tests say loudly they skipped.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("MESHPROBE_REQUIRE_CHROMIUM") != "" {
		t.Fatal("chromium is required here (make test installs it: Debian package chromium)")
	}
	t.Skip("SKIPPED: chromium not on PATH; run `make test` to install it and test the status page in a browser")
	return ""
}

// browse runs headless Chromium on url with args (--dump-dom, --screenshot).
func browse(t *testing.T, bin, url string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// --no-sandbox: tests run as root in CI. A profile of its own per run,
	// so parallel browsers never share one.
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--user-data-dir=" + t.TempDir()}, args...)
	cmd := exec.CommandContext(ctx, bin, append(all, url)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

func readDOM(t *testing.T, dom string) statusdom.Page {
	t.Helper()
	p, err := statusdom.Read(dom)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// browserConfig is the dialects' configuration (app hard, cache soft, hsm
// hard), serving details to loopback clients when details is set.
func browserConfig(details bool, interval, timeout string) string {
	c := dialectcases.Config(`"standard"`, interval, timeout)
	if details {
		c = strings.Replace(c, `"details":{`, `"details":{"allow_cidrs":["127.0.0.1/32","::1/128"],`, 1)
	}
	return c
}

func TestStatusPageInBrowser(t *testing.T) {
	bin := chromium(t)
	eachProxy(t, func(t *testing.T, rt runtimeCase) {
		for _, details := range []bool{true, false} {
			t.Run(fmt.Sprintf("running, details=%v", details), func(t *testing.T) {
				t.Parallel()
				app, cache, hsm := newHTTPPeer(t, "ok", ""), newHTTPPeer(t, "ok", ""), newHTTPPeer(t, dialectcases.HSMUp, "")
				px := rt.start(t, 2, browserConfig(details, dialectInterval.String(), dialectTimeout.String()), map[string]upstream{
					dialectcases.App: {Addr: app.addr()}, dialectcases.Cache: {Addr: cache.addr()}, dialectcases.HSM: {Addr: hsm.addr()}})
				page := func(state string, summary []string, statuses ...string) {
					t.Helper()
					p := readDOM(t, browse(t, bin, px.base+"/health/status", "--dump-dom"))
					if strings.Join(p.Summary, "|") != strings.Join(summary, "|") {
						t.Errorf("%s: summary %q; want %q", state, p.Summary, summary)
					}
					columns := map[bool]int{true: 9, false: 4}[details]
					if len(p.Heads) != columns || len(p.Rows) != 3 {
						t.Fatalf("%s: columns %q, rows %q; want %d columns", state, p.Heads, p.Rows, columns)
					}
					for i, name := range []string{"app", "cache", "hsm"} {
						row := p.Rows[i]
						if len(row) != columns || row[0] != name || row[3] != statuses[i] || details && !strings.Contains(row[5], "ms") {
							t.Errorf("%s: row %q; want %s %s", state, row, name, statuses[i])
						}
					}
				}
				waitDeps(t, px.base, "up", "")
				page("up", []string{"ready", "started", "not draining", "up"}, "✓ up", "✓ up", "✓ up")
				cache.set(modeError)
				waitDeps(t, px.base, "degraded", dialectcases.Cache)
				page("degraded", []string{"ready", "started", "not draining", "degraded"}, "✓ up", "✗ down", "✓ up")
				cache.set(modeUp)
				app.set(modeError)
				waitDeps(t, px.base, "down", dialectcases.App)
				page("down", []string{"not ready: dependencies", "started", "not draining", "down"}, "✗ down", "✓ up", "✓ up")
				if rt.envoy == nil && details { // the pictures once, from the host
					for _, width := range []string{"375", "1280"} {
						shot, _ := filepath.Abs(filepath.Join("..", "build", "status-"+width+".png"))
						browse(t, bin, px.base+"/health/status", "--hide-scrollbars", "--window-size="+width+",900", "--screenshot="+shot)
						if st, err := os.Stat(shot); err != nil || st.Size() < 1000 {
							t.Errorf("screenshot %s: %v", shot, err)
						}
					}
				}
				app.set(modeUp)
				waitDeps(t, px.base, "up", "")
				if r := request(t, nil, "POST", px.base+"/health/drain", bearer); r.status != 200 {
					t.Fatalf("POST /health/drain = %d %s", r.status, r.body)
				}
				page("draining", []string{"not ready: draining", "started", "draining", "up"}, "✓ up", "✓ up", "✓ up")
			})
		}
		for _, details := range []bool{true, false} {
			t.Run(fmt.Sprintf("starting, details=%v", details), func(t *testing.T) {
				t.Parallel()
				app, cache, hsm := hangingPeer(t, "ok"), hangingPeer(t, "ok"), hangingPeer(t, dialectcases.HSMUp)
				px := rt.start(t, 2, browserConfig(details, "30s", "30s"), map[string]upstream{
					dialectcases.App: {Addr: app.addr()}, dialectcases.Cache: {Addr: cache.addr()}, dialectcases.HSM: {Addr: hsm.addr()}})
				p := readDOM(t, browse(t, bin, px.base+"/health/status", "--dump-dom"))
				want, columns := []string{"not ready: starting", "starting", "not draining", "unknown"}, map[bool]int{true: 9, false: 4}[details]
				if strings.Join(p.Summary, "|") != strings.Join(want, "|") || len(p.Heads) != columns || len(p.Rows) != 3 {
					t.Fatalf("summary %q, columns %q, rows %q", p.Summary, p.Heads, p.Rows)
				}
				for _, row := range p.Rows {
					if len(row) != columns || row[3] != "? unknown" || details && row[8] != "not checked yet" {
						t.Errorf("row %q; want unknown, not checked yet", row)
					}
				}
			})
		}
		t.Run("hostile values render as text", func(t *testing.T) {
			t.Parallel()
			const markup = `<img src=x onerror=alert(1)><script>alert(2)</script>`
			quote := newHTTPPeer(t, `{"status":"<b>x</b><img src=y>"}`, "")
			cfg := `{"service":{"name":"` + strings.ReplaceAll(markup, `"`, `\"`) + `"},"details":{"allow_cidrs":["127.0.0.1/32","::1/128"]},
			 "refresh":{"interval":"300ms","jitter":0},"checks":[{"name":"quote","kind":"http","cluster":"quote","failure_threshold":1,
			 "timeout":"150ms","expect":{"json":{"status":"UP"}}}]}`
			px := rt.start(t, 2, cfg, map[string]upstream{"quote": {Addr: quote.addr()}})
			deadline := time.Now().Add(dialectSettle)
			for {
				p := readDOM(t, browse(t, bin, px.base+"/health/status", "--dump-dom"))
				if p.Tags["img"] || p.Tags["script"] || p.Tags["b"] {
					t.Fatalf("markup became elements: %v", p.Tags)
				}
				if !strings.HasPrefix(p.Title, markup) {
					t.Fatalf("title %q; want the service name as text", p.Title)
				}
				if len(p.Rows) == 1 && len(p.Rows[0]) == 9 && strings.Contains(p.Rows[0][8], "<b>x</b><img src=y>") {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("no message with the peer's markup as text: %q", p.Rows)
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	})
}
