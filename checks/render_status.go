package checks

import (
	"bytes"
	"strconv"
	"strings"
	"time"
)

// ContentHTML is the status page's content type.
const ContentHTML = "text/html; charset=utf-8"

// statusCSP lets the page use its inline styles and nothing else: no
// script, image, font, frame or form, whatever a check's message holds.
const statusCSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Bounds of ?refresh=N, in seconds.
const (
	minStatusRefresh = 1
	maxStatusRefresh = 3600
)

// statusRefresh reads ?refresh=N (%-encoded or not): 0 when absent.
func statusRefresh(query string) (int, bool) {
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k, ok := queryUnescape(k); !ok || k != "refresh" {
			continue
		}
		v, ok := queryUnescape(v)
		if !ok {
			return 0, false
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < minStatusRefresh || n > maxStatusRefresh {
			return 0, false
		}
		return n, true
	}
	return 0, true
}

var replyBadRefresh = Reply{Status: 400, ContentType: ContentText,
	Body: []byte("refresh must be a whole number of seconds from " + strconv.Itoa(minStatusRefresh) + " to " + strconv.Itoa(maxStatusRefresh) + "\n")}

// statusPage renders {base}/status, one self-contained HTML document for
// people: the service, ready, started and draining, the aggregate, and a
// row per check; with details also its kind, latency, last success, last
// change and message. Every value is escaped; now is unix ms.
func statusPage(v *View, svc Service, now int64) Reply {
	refresh, ok := statusRefresh(v.Query)
	if !ok {
		return replyBadRefresh
	}
	ready, why := v.State.Ready(v.Cfg)
	agg := v.State.Aggregate(v.Cfg)
	b := pageWriter{bytes.NewBuffer(make([]byte, 0, 2048+900*len(v.Cfg.Checks)))}
	w := b.put
	esc := htmlEscape
	name := svc.Name
	if name == "" {
		name = "Service status"
	}
	readyWord := "ready"
	if !ready {
		readyWord = "not ready: " + why
	}
	w(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">`,
		`<meta name="viewport" content="width=device-width, initial-scale=1">`)
	if refresh > 0 {
		w(`<meta http-equiv="refresh" content="`, strconv.Itoa(refresh), `">`)
	}
	w(`<title>`, esc(name), ` – `, esc(readyWord), `</title><style>`, statusCSS, `</style></head><body><main>`,
		`<h1>`, esc(name), `</h1><dl class="identity">`)
	for _, f := range svc.fields() {
		if f[0] != "service_name" { // the heading
			w(`<dt>`, underscoresToSpaces(f[0]), `</dt><dd>`, esc(f[1]), `</dd>`)
		}
	}
	w(`</dl><ul class="summary">`)
	badge := func(label, word, class string) {
		w(`<li class="`, class, `"><span class="label">`, label, `</span> <strong>`, esc(word), `</strong></li>`)
	}
	badge("Readiness", readyWord, pick(ready, "up", "down"))
	badge("Start-up", pick(v.State.Started, "started", "starting"), pick(v.State.Started, "up", "unknown"))
	badge("Drain", pick(v.draining(), "draining", "not draining"), pick(v.draining(), "down", "up"))
	badge("Dependencies", agg.String(), agg.String()) // the class names are the aggregate's words
	w(`</ul>`)
	if len(v.Cfg.Checks) == 0 {
		w(`<p>No checks are configured.</p>`)
	} else {
		statusTable(b, v, now)
	}
	w(`<p class="foot">meshprobe, `, formatUTC(now), `</p></main></body></html>`)
	return Reply{Status: 200, ContentType: ContentHTML, Body: b.Bytes()}
}

// pageWriter appends the page's pieces in order.
type pageWriter struct{ *bytes.Buffer }

func (b pageWriter) put(parts ...string) {
	for _, p := range parts {
		b.WriteString(p)
	}
}

// statusMark is shown with every status, so none is told by colour alone.
var statusMark = [...]string{StatusUnknown: "?", StatusUp: "✓", StatusDown: "✗"}

func statusTable(b pageWriter, v *View, now int64) {
	w := b.put
	cols := []string{"Check", "Type", "Gates", "Status"}
	if v.ShowDetails {
		cols = append(cols, "Kind", "Latency", "Last success", "Status since", "Message")
	}
	w(`<table><caption>Checks</caption><thead><tr>`)
	for _, c := range cols {
		w(`<th scope="col">`, c, `</th>`)
	}
	w(`</tr></thead><tbody>`)
	esc := htmlEscape
	for i := range v.Cfg.Checks {
		ch, cs := &v.Cfg.Checks[i], &v.State.Checks[i]
		st := cs.Status.String()
		w(`<tr class="`, st, `"><th scope="row" data-label="Check">`, esc(ch.Name), `</th>`,
			`<td data-label="Type">`, ch.Type(), `</td><td data-label="Gates">`, gateWords(ch.Gates), `</td>`,
			`<td data-label="Status" class="status"><span class="mark" aria-hidden="true">`, statusMark[cs.Status], `</span> `, st, `</td>`)
		if v.ShowDetails {
			latency := "–"
			if cs.CheckedAt != 0 {
				latency = strconv.FormatUint(uint64(cs.LatencyMs), 10) + " ms"
			}
			w(`<td data-label="Kind">`, ch.Kind.String(), `</td><td data-label="Latency">`, latency, `</td>`,
				`<td data-label="Last success">`, when(cs.LastOK, now), `</td>`,
				`<td data-label="Status since">`, when(cs.ChangedAt, now), `</td>`,
				`<td data-label="Message" class="msg">`, esc(v.reason(i)), `</td>`)
		}
		w(`</tr>`)
	}
	w(`</tbody></table>`)
}

// underscoresToSpaces turns a field name into words: "service_version" is
// "service version". strings.ReplaceAll would link strings.Replace for this.
func underscoresToSpaces(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '_' {
			b[i] = ' '
		}
	}
	return string(b)
}

func gateWords(g Gate) string {
	if names := g.names(); len(names) > 0 {
		return strings.Join(names, ", ")
	}
	return "none"
}

// when is an age and a timestamp: "12 s ago" over "2026-11-30T10:00:00Z".
func when(at, now int64) string {
	if at == 0 {
		return "never"
	}
	return age(now-at) + ` ago<br><time datetime="` + formatUTC(at) + `">` + string(appendUTC(nil, at, ' ')) + `</time>`
}

func age(ms int64) string {
	d := time.Duration(max(ms, 0)) * time.Millisecond
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + " s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " h"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + " days"
}

func pick(c bool, yes, no string) string {
	if c {
		return yes
	}
	return no
}

// statusCSS: readable at 375 px (rows become cards) and wide; colours
// with enough contrast for their text, always beside a word.
const statusCSS = `body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1a1a1a;background:#fafafa}
main{max-width:72rem;margin:0 auto;padding:1rem}h1{font-size:1.5rem;margin:.2rem 0 .6rem;overflow-wrap:anywhere}
.identity{display:flex;flex-wrap:wrap;gap:.2rem 1rem;margin:0 0 1rem;color:#444}.identity dt{font-weight:600}.identity dd{margin:0 .8rem 0 .3rem;overflow-wrap:anywhere}
.summary{list-style:none;padding:0;margin:0 0 1rem;display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:.5rem}
.summary li{padding:.6rem .8rem;border-radius:.4rem;border-left-width:.4rem;border-left-style:solid}.label{display:block;font-size:.8rem;text-transform:uppercase;letter-spacing:.04em}
.up{background:#e6f4ea;border-color:#1e7e34}.down{background:#fdecea;border-color:#b3261e}.degraded{background:#fff4e0;border-color:#a15c00}.unknown{background:#eef1f5;border-color:#5a6372}
table{width:100%;border-collapse:collapse;background:#fff}caption{text-align:left;font-weight:600;padding:.4rem 0}
th,td{text-align:left;vertical-align:top;padding:.45rem .6rem;border-bottom:1px solid #ddd}thead th{background:#f0f0f0}
tbody tr{border-left-width:.4rem;border-left-style:solid}.status{font-weight:600;white-space:nowrap}.msg{overflow-wrap:anywhere}
.foot{color:#666;font-size:.85rem}
@media (max-width:40rem){thead{position:absolute;left:-9999px}table,tbody,tr,th,td{display:block}tr{margin:0 0 .6rem;border:1px solid #ddd;border-left-width:.4rem}
td,tbody th{border:0;padding:.2rem .6rem}td::before{content:attr(data-label) ": ";font-weight:600}}`
