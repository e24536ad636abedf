package checks

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// ProbeCount is how many probes one endpoint answered with one status code,
// proxy-wide (read back from the proxy's own counters).
type ProbeCount struct {
	Endpoint string
	Code     int
	Count    uint64
}

// ProbeCodes are the status codes probe counters are kept for.
var ProbeCodes = []int{200, 403, 405, 503}

// Metrics renders the Prometheus text format 0.0.4: every family with HELP
// and TYPE, label values escaped as the format requires.
func Metrics(v *View, svc Service, probes []ProbeCount) Reply {
	w := promWriter{make([]byte, 0, 4096+1024*len(v.Cfg.Checks))}
	w.family("meshprobe_build_info", "gauge", "Identity of the service behind this proxy (always 1).")
	w.sample("meshprobe_build_info", 1, "service", svc.Name, "version", svc.Version, "commit", svc.Commit)
	ready, _ := v.State.Ready(v.Cfg)
	for _, g := range []struct {
		name, help string
		on         bool
	}{
		{"meshprobe_live", "1: the filter answers (liveness).", true},
		{"meshprobe_ready", "1: ready (readiness would answer 200).", ready},
		{"meshprobe_started", "1: every startup-gating check has been up once.", v.State.Started},
		{"meshprobe_draining", "1: draining (by request or teardown).", v.draining()},
	} {
		w.family(g.name, "gauge", g.help)
		w.sample(g.name, b2f(g.on))
	}
	background := v.Cfg.Refresh.Mode == RefreshBackground
	perCheck := []struct {
		name, typ, help string
		value           func(*Check, *CheckState) (float64, bool)
	}{
		{"meshprobe_check_up", "gauge", "1: the check is up; 0: down or not yet known.",
			func(_ *Check, c *CheckState) (float64, bool) { return b2f(c.Status == StatusUp), true }},
		{"meshprobe_check_latency_seconds", "gauge", "Duration of the check's last call.",
			func(_ *Check, c *CheckState) (float64, bool) { return float64(c.LatencyMs) / 1000, c.CheckedAt != 0 }},
		{"meshprobe_check_last_success_timestamp_seconds", "gauge", "Unix time of the check's last success.",
			func(_ *Check, c *CheckState) (float64, bool) { return float64(c.LastOK) / 1000, c.LastOK != 0 }},
		{"meshprobe_check_last_run_timestamp_seconds", "gauge", "Unix time of the check's last result.",
			func(_ *Check, c *CheckState) (float64, bool) { return float64(c.CheckedAt) / 1000, c.CheckedAt != 0 }},
		// Only background refresh runs a check on a schedule; the staleness
		// alert (envoy/prometheus) compares the last run with it.
		{"meshprobe_check_interval_seconds", "gauge", "How often the check runs (background refresh).",
			func(ch *Check, _ *CheckState) (float64, bool) { return ch.Interval.Seconds(), background }},
		{"meshprobe_check_consecutive_failures", "gauge", "Failures in a row of the check.",
			func(_ *Check, c *CheckState) (float64, bool) { return float64(c.ConsecFail), true }},
		{"meshprobe_check_runs_total", "counter", "Calls made for the check.",
			func(_ *Check, c *CheckState) (float64, bool) { return float64(c.Runs), true }},
		{"meshprobe_check_failures_total", "counter", "Calls of the check that failed.",
			func(_ *Check, c *CheckState) (float64, bool) { return float64(c.Fails), true }},
		{"meshprobe_check_transitions_total", "counter", "Changes of the check's status (up, down, first decided).",
			func(_ *Check, c *CheckState) (float64, bool) { return float64(c.Transitions), true }},
	}
	// Each check's labels, escaped once for all its families.
	sets := make([]string, len(v.Cfg.Checks))
	for i := range v.Cfg.Checks {
		ch := &v.Cfg.Checks[i]
		sets[i] = labelSet("check", ch.Name, "kind", ch.Kind.String(), "type", ch.Type())
	}
	for _, m := range perCheck {
		w.family(m.name, m.typ, m.help)
		for i := range v.Cfg.Checks {
			if val, ok := m.value(&v.Cfg.Checks[i], &v.State.Checks[i]); ok {
				w.line(m.name, sets[i], val)
			}
		}
	}
	w.family("meshprobe_probe_requests_total", "counter", "Probes answered by this proxy, by endpoint and status code.")
	for _, p := range probes {
		w.sample("meshprobe_probe_requests_total", float64(p.Count), "endpoint", p.Endpoint, "code", strconv.Itoa(p.Code))
	}
	return Reply{Status: 200, ContentType: ContentPrometheus, Body: w.b}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// promWriter appends the text format to b, which becomes the body.
type promWriter struct{ b []byte }

func (w *promWriter) family(name, typ, help string) {
	for _, part := range [...]string{"# HELP ", name, " ", help, "\n# TYPE ", name, " ", typ, "\n"} {
		w.b = append(w.b, part...)
	}
}

// sample writes one line; labels are name/value pairs, empty values skipped.
func (w *promWriter) sample(name string, v float64, labels ...string) {
	w.line(name, labelSet(labels...), v)
}

// line writes one sample with a label set from labelSet.
func (w *promWriter) line(name, set string, v float64) {
	w.b = append(w.b, name...)
	w.b = append(w.b, set...)
	w.b = append(w.b, ' ')
	w.b = strconv.AppendFloat(w.b, v, 'g', -1, 64)
	w.b = append(w.b, '\n')
}

// labelSet is `{name="value",...}` from name/value pairs, values escaped and
// empty ones skipped; "" when none is left.
func labelSet(labels ...string) string {
	var b []byte
	for i := 0; i+1 < len(labels); i += 2 {
		if labels[i+1] == "" {
			continue
		}
		if b == nil {
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		b = append(b, labels[i]...)
		b = append(b, `="`...)
		b = append(b, escapeLabel(labels[i+1])...)
		b = append(b, '"')
	}
	if b == nil {
		return ""
	}
	return string(append(b, '}'))
}

// escapeLabel escapes a label value as the text format requires, and makes
// it valid UTF-8 (each run of invalid bytes one U+FFFD, as
// strings.ToValidUTF8 does). Most values (check names, kinds) need neither
// and are returned as they are.
func escapeLabel(s string) string {
	if utf8.ValidString(s) && !strings.ContainsAny(s, "\\\"\n") {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	invalid := false // the last byte was part of an invalid run
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			if !invalid {
				b = append(b, "\uFFFD"...)
			}
			invalid, i = true, i+1
			continue
		}
		invalid = false
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return string(b)
}
