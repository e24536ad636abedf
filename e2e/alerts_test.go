package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/meshprobe/meshprobe/checks"
)

const (
	rulesFile      = "../envoy/prometheus/meshprobe-rules.yaml"
	rulesTestFile  = "../envoy/prometheus/meshprobe-rules.test.yaml"
	prometheusRule = "../envoy/prometheus/prometheusrule.yaml"
)

// promtool is required under make test (MESHPROBE_REQUIRE_PROMTOOL=1);
// elsewhere the rule tests say loudly that they skipped.
func promtool(t *testing.T) string {
	t.Helper()
	tool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("MESHPROBE_REQUIRE_PROMTOOL") != "" {
			t.Fatal("promtool is required here (make test installs it: Debian package prometheus)")
		}
		t.Skip("SKIPPED: promtool not on PATH; run `make test` to install it and test the alert rules")
	}
	return tool
}

func runPromtool(tool, dir string, args ...string) (string, error) {
	cmd := exec.Command(tool, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// The shipped rules pass promtool's check and their unit tests.
func TestAlertRules(t *testing.T) {
	tool := promtool(t)
	dir := filepath.Dir(rulesFile)
	for _, args := range [][]string{
		{"check", "rules", filepath.Base(rulesFile)},
		{"test", "rules", filepath.Base(rulesTestFile)},
	} {
		if out, err := runPromtool(tool, dir, args...); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// Each rule, broken, fails the unit tests: by an expression that never
// matches (its firing case catches it), and by each subtle change its
// silent cases or its values catch.
func TestAlertRulesCatchBrokenCopies(t *testing.T) {
	tool := promtool(t)
	// Each rule's subtle breaks: a threshold, a window, a selector or a clause.
	subtle := map[string][][2]string{
		"service:meshprobe_ready:ratio": {{"avg by (service)", "sum by (service)"}},
		"MeshprobeHardDependencyDown":   {{`type="hard"`, `type=~".+"`}, {"failures > 0", "failures >= 0"}},
		"MeshprobeNotReady":             {{"unless on (job, instance) meshprobe_draining == 1", ""}, {"meshprobe_ready == 0", "meshprobe_ready >= 0"}},
		"MeshprobeCheckFlapping":        {{">= 4", ">= 5"}, {">= 4", ">= 2"}, {"[15m]", "[10m]"}, {`type="hard"`, `type=~".+"`}},
		"MeshprobeCheckStale":           {{"3 * meshprobe_check_interval_seconds", "30 * meshprobe_check_interval_seconds"}, {"3 *", "2 *"}},
		"MeshprobeDrainingTooLong":      {{"meshprobe_draining == 1", "meshprobe_draining >= 0"}},
	}
	tests, err := os.ReadFile(rulesTestFile)
	if err != nil {
		t.Fatal(err)
	}
	names := ruleNames(t)
	if len(names) != len(subtle) {
		t.Fatalf("rules %v; this test breaks %d of them: give every rule a subtle break", names, len(subtle))
	}
	for _, name := range names {
		breaks := []struct {
			how    string
			change func(expr string) string
		}{{"never matches", func(string) string { return "vector(1) == 0" }}}
		for _, sb := range subtle[name] {
			breaks = append(breaks, struct {
				how    string
				change func(expr string) string
			}{sb[0] + " → " + sb[1], func(expr string) string {
				if !strings.Contains(expr, sb[0]) {
					t.Fatalf("%s: expression %q has no %q to break", name, expr, sb[0])
				}
				return strings.Replace(expr, sb[0], sb[1], 1)
			}})
		}
		for _, broken := range breaks {
			dir := t.TempDir()
			writeRules(t, filepath.Join(dir, filepath.Base(rulesFile)), name, broken.change)
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(rulesTestFile)), tests, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := runPromtool(tool, dir, "test", "rules", filepath.Base(rulesTestFile)); err == nil {
				t.Errorf("%s broken (%s): the unit tests still pass\n%s", name, broken.how, out)
			}
		}
	}
}

// The Prometheus Operator's manifest is a PrometheusRule whose metadata is
// valid Kubernetes metadata and whose groups are exactly the rule file's,
// which promtool then checks as the operator's admission would.
func TestPrometheusRuleManifest(t *testing.T) {
	tool := promtool(t)
	var m struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metav1.ObjectMeta `json:"metadata"`
		Spec       ruleFile          `json:"spec"`
	}
	readYAML(t, prometheusRule, &m)
	if m.APIVersion != "monitoring.coreos.com/v1" || m.Kind != "PrometheusRule" || m.Metadata.Name == "" {
		t.Errorf("not a named PrometheusRule: %s %s %q", m.APIVersion, m.Kind, m.Metadata.Name)
	}
	if errs := validation.IsDNS1123Subdomain(m.Metadata.Name); len(errs) > 0 {
		t.Errorf("metadata.name: %v", errs)
	}
	var shipped ruleFile
	readYAML(t, rulesFile, &shipped)
	if !reflect.DeepEqual(m.Spec, shipped) {
		t.Errorf("%s: spec.groups differ from %s: copy them over", prometheusRule, rulesFile)
	}
	spec, err := yaml.Marshal(m.Spec)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "spec.yaml"), spec, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runPromtool(tool, dir, "check", "rules", "spec.yaml"); err != nil {
		t.Errorf("promtool check rules on the manifest's spec: %v\n%s", err, out)
	}
}

// The rules read only metrics meshprobe serves.
func TestAlertRulesUseServedMetrics(t *testing.T) {
	cfg, err := checks.Parse([]byte(`{"checks":[{"name":"db","kind":"http","cluster":"db"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	body := string(checks.Metrics(&checks.View{Cfg: cfg, State: checks.NewState(cfg)}, cfg.Service, nil).Body)
	rules, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\bmeshprobe_[a-z_]+\b`).FindAllString(string(rules), -1) {
		used[m] = true
	}
	if len(used) < 5 {
		t.Fatalf("found only %v in the rules", used)
	}
	for m := range used {
		if !strings.Contains(body, "# TYPE "+m+" ") {
			t.Errorf("the rules read %s, which /metrics does not serve", m)
		}
	}
}

type ruleFile struct {
	Groups []struct {
		Name  string           `json:"name"`
		Rules []map[string]any `json:"rules"`
	} `json:"groups"`
}

// readYAML decodes a file strictly: an unknown field fails.
func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err == nil {
		err = yaml.UnmarshalStrict(b, into)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func ruleNames(t *testing.T) []string {
	t.Helper()
	var f ruleFile
	readYAML(t, rulesFile, &f)
	var names []string
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			name, _ := r["alert"].(string)
			if rec, ok := r["record"].(string); ok {
				name = rec
			}
			names = append(names, name)
		}
	}
	return names
}

// writeRules writes the shipped rules with rule name's expression changed.
func writeRules(t *testing.T, path, name string, change func(string) string) {
	t.Helper()
	var f ruleFile
	readYAML(t, rulesFile, &f)
	found := false
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r["alert"] == name || r["record"] == name {
				r["expr"], found = change(r["expr"].(string)), true
			}
		}
	}
	if !found {
		t.Fatalf("no rule %s", name)
	}
	out, err := yaml.Marshal(f)
	if err == nil {
		err = os.WriteFile(path, out, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}
