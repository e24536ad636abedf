package plugin

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const metricsConfig = `{"service":{"name":"check\"out","version":"1.4.2"},"details":{"expose":"always"},
 "refresh":{"interval":"1s","jitter":0},"checks":[
 {"name":"app","kind":"http","cluster":"app","failure_threshold":1},
 {"name":"db","kind":"grpc","cluster":"db","type":"soft","failure_threshold":1}]}`

// scrape drives results and probes, then reads {base}/metrics.
func scrape(t *testing.T, px testProxy) string {
	t.Helper()
	px.tick()
	answerAll(t, px, map[string]reply{"app": {status: "200"}, "db": {status: "503"}})
	for range 3 {
		px.do("GET", "/health/probes/readiness")
	}
	px.do("POST", "/health/probes/liveness")
	r := px.do("GET", "/health/metrics")
	if r.status != 200 || r.headers["content-type"] != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("/metrics = %d %v", r.status, r.headers)
	}
	return r.body
}

func TestMetricsParse(t *testing.T) {
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		body := scrape(t, rt.mustStart(t, metricsConfig, nil))
		p := expfmt.NewTextParser(model.UTF8Validation)
		families, err := p.TextToMetricFamilies(strings.NewReader(body))
		if err != nil {
			t.Fatalf("Prometheus' parser refuses /metrics: %v\n%s", err, body)
		}
		value := func(name string, labels ...string) float64 {
			t.Helper()
			f, ok := families[name]
			if !ok || f.Help == nil || f.Type == nil {
				t.Fatalf("family %s missing or without HELP/TYPE", name)
			}
		next:
			for _, m := range f.Metric {
				have := map[string]string{}
				for _, l := range m.Label {
					have[l.GetName()] = l.GetValue()
				}
				for i := 0; i < len(labels); i += 2 {
					if have[labels[i]] != labels[i+1] {
						continue next
					}
				}
				return metricValue(m)
			}
			t.Fatalf("no %s%v in\n%s", name, labels, body)
			return 0
		}
		checks := []struct {
			name   string
			labels []string
			want   float64
		}{
			{"meshprobe_build_info", []string{"service", `check"out`, "version", "1.4.2"}, 1},
			{"meshprobe_live", nil, 1},
			{"meshprobe_ready", nil, 1},
			{"meshprobe_started", nil, 1},
			{"meshprobe_draining", nil, 0},
			{"meshprobe_check_up", []string{"check", "app", "kind", "http", "type", "hard"}, 1},
			{"meshprobe_check_up", []string{"check", "db", "kind", "grpc", "type", "soft"}, 0},
			{"meshprobe_check_consecutive_failures", []string{"check", "db"}, 1},
			{"meshprobe_check_runs_total", []string{"check", "app"}, 1},
			{"meshprobe_check_failures_total", []string{"check", "db"}, 1},
			{"meshprobe_check_failures_total", []string{"check", "app"}, 0},
			{"meshprobe_probe_requests_total", []string{"endpoint", "standard/readiness", "code", "200"}, 3},
			{"meshprobe_probe_requests_total", []string{"endpoint", "standard/liveness", "code", "405"}, 1},
			{"meshprobe_probe_requests_total", []string{"endpoint", "standard/liveness", "code", "200"}, 0},
		}
		for _, c := range checks {
			if got := value(c.name, c.labels...); got != c.want {
				t.Errorf("%s%v = %v; want %v", c.name, c.labels, got, c.want)
			}
		}
		if f := families["meshprobe_check_runs_total"]; f.GetType() != dto.MetricType_COUNTER {
			t.Errorf("runs_total is a %v", f.GetType())
		}
		// What the staleness alert (envoy/prometheus) reads: the interval, and
		// the last result, a success or not.
		for _, c := range []string{"app", "db"} {
			if got := value("meshprobe_check_interval_seconds", "check", c); got != 1 {
				t.Errorf("interval of %s = %v; want 1", c, got)
			}
		}
		ran, ok := value("meshprobe_check_last_run_timestamp_seconds", "check", "db"), value("meshprobe_check_last_success_timestamp_seconds", "check", "app")
		if ran < 1e9 || ran != ok || value("meshprobe_check_last_run_timestamp_seconds", "check", "app") != ok {
			t.Errorf("last run of db %v, of app %v; app's last success %v: want one recent time", ran,
				value("meshprobe_check_last_run_timestamp_seconds", "check", "app"), ok)
		}
	})
}

// Checks refreshed on request have no schedule: no interval, so the
// staleness alert cannot fire for them.
func TestMetricsOnRequestHasNoInterval(t *testing.T) {
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		cfg := strings.Replace(metricsConfig, `"refresh":{"interval":"1s","jitter":0}`, `"refresh":{"mode":"on_request"}`, 1)
		body := rt.mustStart(t, cfg, nil).do("GET", "/health/metrics").body
		if !strings.Contains(body, "# TYPE meshprobe_check_interval_seconds gauge") || strings.Contains(body, "meshprobe_check_interval_seconds{") {
			t.Errorf("want the family without samples:\n%s", body)
		}
	})
}

// The same numbers are Envoy stats, labels carried in the name for the
// bootstrap's stats_tags.
func TestEnvoyStats(t *testing.T) {
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := rt.mustStart(t, metricsConfig, nil)
		scrape(t, px)
		for name, want := range map[string]uint64{
			"meshprobe_probe_requests_total.endpoint=standard/readiness.code=200": 3,
			"meshprobe_probe_requests_total.endpoint=standard/liveness.code=405":  1,
			"meshprobe_probe_requests_total.endpoint=standard/metrics.code=200":   1,
			"meshprobe_check_runs_total.check=app":                                1,
			"meshprobe_check_failures_total.check=db":                             1,
			"meshprobe_check_failures_total.check=app":                            0,
			"meshprobe_check_up.check=app":                                        1,
			"meshprobe_check_up.check=db":                                         0,
		} {
			if got, ok := px.metric(name); !ok || got != want {
				t.Errorf("%s = %d (defined %v); want %d", name, got, ok, want)
			}
		}
	})
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return m.Untyped.GetValue()
}

// promtool's own lint. `make test` installs promtool and requires this test
// (MESHPROBE_REQUIRE_PROMTOOL=1); elsewhere it says loudly that it skipped,
// and TestMetricsParse still checks the format with Prometheus' parser.
func TestMetricsPromtool(t *testing.T) {
	tool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("MESHPROBE_REQUIRE_PROMTOOL") != "" {
			t.Fatal("promtool is required here (make test installs it: Debian package prometheus)")
		}
		t.Skip("SKIPPED: promtool not on PATH; run `make test` to install it and lint /metrics")
	}
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		body := scrape(t, rt.mustStart(t, metricsConfig, nil))
		cmd := exec.Command(tool, "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil || out.Len() > 0 {
			t.Errorf("promtool check metrics: %v\n%s", err, out.String())
		}
	})
}
