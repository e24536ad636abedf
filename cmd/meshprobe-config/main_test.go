package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"sigs.k8s.io/yaml"

	"github.com/meshprobe/meshprobe/checks"
	"github.com/meshprobe/meshprobe/internal/envoyboot"
	"github.com/meshprobe/meshprobe/internal/envoyroutes"
	"github.com/meshprobe/meshprobe/internal/testing/configcases"
)

func runIn(t *testing.T, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	var out, errs bytes.Buffer
	status = run(args, &out, &errs)
	return status, out.String(), errs.String()
}

func write(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Every configuration the parser refuses, the command refuses with the
// line the plugin logs ("meshprobe: " and the parser's error).
func TestCheckRefusesWhatThePluginRefuses(t *testing.T) {
	for _, c := range configcases.Refused(configcases.ManyChecks(checks.MaxChecks + 1)) {
		t.Run(c.Name, func(t *testing.T) {
			_, perr := checks.Parse([]byte(c.Config))
			if perr == nil {
				t.Fatal("the parser accepts it")
			}
			file := write(t, "plugin.json", c.Config)
			status, stdout, stderr := runIn(t, "check", file)
			if want := file + ": meshprobe: " + perr.Error() + "\n"; status != 1 || stderr != want || stdout != "" {
				t.Errorf("status %d, stdout %q, stderr %q; want 1 and %q", status, stdout, stderr, want)
			}
		})
	}
}

func TestCheckInputForms(t *testing.T) {
	shipped := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	bootstrapJSON, err := yaml.YAMLToJSON([]byte(shipped("envoy/envoy.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	catalog := shipped("envoy/istio/wasmplugin-catalog.yaml")
	badPlugin := strings.Replace(catalog, "kind: grpc", "kind: redis", 1)
	cases := []struct {
		name, file, content string
		status              int
		out                 []string // each in stdout (ok) or stderr (problems)
	}{
		{"plugin configuration", "p.json", `{"checks":[{"name":"db","kind":"http","cluster":"db"}]}`, 0,
			[]string{"p.json: ok (1 checks, 8 routes)"}},
		{"Envoy bootstrap, YAML", "envoy.yaml", shipped("envoy/envoy.yaml"), 0, []string{"envoy.yaml: wasm filter meshprobe: ok (4 checks"}},
		{"Envoy bootstrap, JSON", "envoy.json", string(bootstrapJSON), 0, []string{"envoy.json: wasm filter meshprobe: ok (4 checks"}},
		{"WasmPlugin", "wp.yaml", catalog, 0, []string{"wp.yaml: WasmPlugin meshprobe-catalog: ok (4 checks"}},
		{"two WasmPlugins", "wps.yaml", catalog + "\n---\n" + shipped("envoy/istio/wasmplugin-mesh-wide.yaml"), 0,
			[]string{"wps.yaml: document 1: WasmPlugin meshprobe-catalog: ok", "wps.yaml: document 2: WasmPlugin meshprobe: ok (0 checks"}},
		{"WasmPlugin, bad pluginConfig", "wp.yaml", badPlugin, 1,
			[]string{`wp.yaml: WasmPlugin meshprobe-catalog: meshprobe: invalid configuration: checks[2].kind: unknown kind "redis"`}},
		{"Envoy bootstrap, bad configuration", "envoy.yaml", strings.Replace(shipped("envoy/envoy.yaml"), `"kind": "grpc"`, `"kind": "redis"`, 1), 1,
			[]string{`envoy.yaml: wasm filter meshprobe: meshprobe: invalid configuration: checks[2].kind: unknown kind "redis"`}},
		{"Envoy bootstrap, configuration not a StringValue", "envoy.yaml",
			strings.Replace(shipped("envoy/envoy.yaml"), "type.googleapis.com/google.protobuf.StringValue", "type.googleapis.com/google.protobuf.BytesValue", 1), 1,
			[]string{"envoy.yaml: wasm filter meshprobe: its configuration must be a type.googleapis.com/google.protobuf.StringValue"}},
		{"Envoy configuration without meshprobe", "envoy.yaml", strings.ReplaceAll(shipped("envoy/envoy.yaml"), "meshprobe", "other"), 1,
			[]string{"envoy.yaml: none of its 1 wasm filters is meshprobe's"}},
		{"Envoy bootstrap, JSON, bad configuration", "envoy.json", strings.Replace(string(bootstrapJSON), `\"kind\": \"grpc\"`, `\"kind\": \"redis\"`, 1), 1,
			[]string{`envoy.json: wasm filter meshprobe: meshprobe: invalid configuration: checks[2].kind: unknown kind "redis"`}},
		{"other manifests beside a WasmPlugin", "all.yaml", shipped("envoy/istio/deployment-catalog.yaml") + "\n---\n" + catalog, 0,
			[]string{"all.yaml: document 3: WasmPlugin meshprobe-catalog: ok (4 checks"}},
		{"another plugin's WasmPlugin", "other.yaml", strings.NewReplacer("meshprobe", "ratelimit").Replace(catalog), 0,
			[]string{"other.yaml: no meshprobe configuration"}},
		{"only other manifests", "d.yaml", shipped("envoy/istio/deployment-catalog.yaml"), 0, []string{"d.yaml: no meshprobe configuration"}},
		{"YAML plugin configuration", "p.yaml", "checks: []\n", 1, []string{"p.yaml: neither Kubernetes objects nor Envoy configuration (a plugin configuration must be JSON)"}},
		{"a document that is neither", "x.yaml", catalog + "\n---\nfoo: bar\n", 1, []string{"x.yaml: document 2: neither Kubernetes objects"}},
		{"YAML syntax error", "wp.yaml", catalog + "\n  bad: [\n", 1, []string{"wp.yaml: not valid YAML: "}},
		{"a name with a control character", "wp.yaml", strings.Replace(badPlugin, "name: meshprobe-catalog", `name: "meshprobe-\u001b[2Jcatalog"`, 1), 1,
			[]string{`wp.yaml: WasmPlugin "meshprobe-\x1b[2Jcatalog": meshprobe: invalid configuration`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, c.file), []byte(c.content), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Chdir(dir)
			status, stdout, stderr := runIn(t, "check", c.file)
			for _, o := range c.out {
				if !strings.Contains(stdout+stderr, o) {
					t.Errorf("no %q in\n%s%s", o, stdout, stderr)
				}
			}
			if status != c.status {
				t.Errorf("status %d; want %d\n%s%s", status, c.status, stdout, stderr)
			}
		})
	}
}

// explain prints what /info would serve: every default filled in.
func TestExplain(t *testing.T) {
	const cfg = `{"refresh":{"interval":"7s"},"checks":[{"name":"db","kind":"http","cluster":"db","headers":{"authorization":"Bearer s3cret"}}]}`
	status, stdout, stderr := runIn(t, "explain", write(t, "p.json", cfg))
	if status != 0 || stderr != "" {
		t.Fatalf("status %d: %s", status, stderr)
	}
	for _, want := range []string{`"interval": "7s"`, `"timeout": "`, `"failure_threshold": `, `"gates": [`, `"/health/probes/readiness"`, `"authorization"`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("no %s in\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "s3cret") {
		t.Errorf("a header value in the output:\n%s", stdout)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"check"}, {"lint", "x.json"}} {
		if status, _, stderr := runIn(t, args...); status != 2 || !strings.Contains(stderr, "usage:") {
			t.Errorf("%q: status %d, %q", args, status, stderr)
		}
	}
	if status, _, stderr := runIn(t, "check", filepath.Join(t.TempDir(), "missing.json")); status != 1 || !strings.Contains(stderr, "no such file") {
		t.Errorf("missing file: status %d, %q", status, stderr)
	}
}

// TestRoutesShipped: envoy/envoy.yaml declares its filter disabled and
// holds exactly the routes the command prints for it, before its
// catch-all; Envoy's types accept every line.
func TestRoutesShipped(t *testing.T) {
	file := filepath.Join("..", "..", "envoy", "envoy.yaml")
	status, stdout, stderr := runIn(t, "routes", file)
	if status != 0 || stderr != "" {
		t.Fatalf("status %d, stderr %q", status, stderr)
	}
	shipped, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := envoyboot.LoadBootstrap(shipped)
	if err != nil {
		t.Fatal(err)
	}
	if fs := envoyroutes.Filters(b); len(fs) != 1 || !fs[0].Filter.GetDisabled() {
		t.Errorf("envoy/envoy.yaml: want one meshprobe filter, declared disabled: true")
	}
	var printed []string
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n")[1:] {
		printed = append(printed, l)
		var r routev3.Route
		js, err := yaml.YAMLToJSON([]byte(strings.TrimPrefix(l, "- ")))
		if err != nil || protojson.Unmarshal(js, &r) != nil || r.ValidateAll() != nil {
			t.Errorf("not an Envoy route: %s", l)
		}
	}
	want := strings.Join(printed, "\n") + "\n- match: {prefix: \"/\"}"
	var got []string
	for _, l := range strings.Split(string(shipped), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "- {\"name\":\"meshprobe\"") || strings.HasPrefix(l, "- match:") {
			got = append(got, l)
		}
	}
	if strings.Join(got, "\n") != want {
		t.Errorf("envoy/envoy.yaml's routes differ from `meshprobe-config routes envoy/envoy.yaml`:\n%s\nwant\n%s", strings.Join(got, "\n"), want)
	}
}

// TestRoutesOfABootstrap: the routes take the bootstrap's filter name and
// catch-all action; check finds the paths no route brings to a disabled
// filter, and nothing to say of one on every request.
func TestRoutesOfABootstrap(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "envoy", "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	shipped := string(b)
	renamed := write(t, "renamed.yaml", strings.ReplaceAll(strings.ReplaceAll(shipped, `{"meshprobe":`, `{"envoy.filters.http.wasm":`),
		"- name: meshprobe\n", "- name: envoy.filters.http.wasm\n"))
	status, stdout, _ := runIn(t, "routes", renamed)
	if status != 0 || !strings.Contains(stdout, `"typed_per_filter_config":{"envoy.filters.http.wasm":`) || strings.Contains(stdout, `{"meshprobe":`) {
		t.Errorf("routes of a filter named envoy.filters.http.wasm: %d\n%s", status, stdout)
	}
	if status, _, stderr := runIn(t, "check", renamed); status != 0 {
		t.Errorf("check of the renamed bootstrap: %d %s", status, stderr)
	}
	stale := write(t, "stale.yaml", strings.Replace(shipped, `"base_path": "/health"`, `"base_path": "/hc"`, 1))
	status, _, stderr := runIn(t, "check", stale)
	if status != 1 || !strings.Contains(stderr, "wasm filter meshprobe: /hc/probes/liveness would reach the app") {
		t.Errorf("check with base_path moved and the routes not: %d %q", status, stderr)
	}
	unscoped := write(t, "unscoped.yaml", strings.Replace(strings.Replace(shipped, `"base_path": "/health"`, `"base_path": "/hc"`, 1),
		"disabled: true\n", "\n", 1))
	if status, _, stderr := runIn(t, "check", unscoped); status != 0 {
		t.Errorf("check of a filter on every request: %d %q", status, stderr)
	}
}

func TestRoutesUsage(t *testing.T) {
	file := write(t, "p.json", `{}`)
	for _, args := range [][]string{{"routes"}, {"routes", "-cluster", "app"}, {"routes", "-filter", "", "-cluster", "app", file}} {
		if status, _, stderr := runIn(t, args...); status != 2 || !strings.Contains(stderr, "usage:") {
			t.Errorf("%q: status %d, stderr %q; want 2 and the usage", args, status, stderr)
		}
	}
	if status, _, stderr := runIn(t, "routes", file); status != 1 || !strings.Contains(stderr, "-cluster names the app's cluster") {
		t.Errorf("a plugin configuration without -cluster: %d %q", status, stderr)
	}
	status, stdout, _ := runIn(t, "routes", "-cluster", "web", "-filter", "mp", file)
	if status != 0 || !strings.Contains(stdout, `"match":{"path":"/health/up/"},"route":{"cluster":"web"},"typed_per_filter_config":{"mp":`) {
		t.Errorf("status %d, stdout %s", status, stdout)
	}
}

// TestEnvoyFilterShipped: envoy/istio's EnvoyFilter is what the command
// makes of the shipped WasmPlugins; a set with no plugin or two plugins
// with a selector is refused.
func TestEnvoyFilterShipped(t *testing.T) {
	dir := filepath.Join("..", "..", "envoy", "istio")
	wide, catalog := filepath.Join(dir, "wasmplugin-mesh-wide.yaml"), filepath.Join(dir, "wasmplugin-catalog.yaml")
	status, stdout, stderr := runIn(t, "envoyfilter", "-port", "8080", wide, catalog)
	shipped, err := os.ReadFile(filepath.Join(dir, "envoyfilter-catalog-health-routes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if status != 0 || stderr != "" || stdout != string(shipped) {
		t.Errorf("status %d, stderr %q; envoy/istio/envoyfilter-catalog-health-routes.yaml differs from the output:\n%s", status, stderr, stdout)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"envoyfilter", "-port", "8080", wide}, "no WasmPlugin with a selector"},
		{[]string{"envoyfilter", "-port", "8080", catalog, catalog}, "more than one WasmPlugin with a selector"},
		{[]string{"envoyfilter", catalog}, "usage:"},
		{[]string{"envoyfilter", "-port", "70000", catalog}, "usage:"},
		{[]string{"envoyfilter", "-port", "8080", write(t, "nons.yaml", strings.Replace(mustRead(t, catalog), "  namespace: shop\n", "", 1))},
			"metadata.namespace is missing"},
	} {
		if status, _, stderr := runIn(t, c.args...); status == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: status %d, stderr %q; want %q", c.args, status, stderr, c.want)
		}
	}
}

func mustRead(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
