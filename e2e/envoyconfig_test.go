package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshprobe/meshprobe/checks"
	"github.com/meshprobe/meshprobe/internal/envoyboot"
)

// validateEnvoyConfig is the check `make run` also applies: see
// envoyboot.LoadBootstrap.
func validateEnvoyConfig(data []byte) ([]*checks.Config, error) {
	_, cfgs, err := envoyboot.LoadBootstrap(data)
	return cfgs, err
}

func TestEnvoyYAMLIsValid(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "envoy", "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfgs, err := validateEnvoyConfig(data)
	if err != nil {
		t.Fatalf("envoy/envoy.yaml: %v", err)
	}
	if len(cfgs) != 1 || len(cfgs[0].Checks) == 0 {
		t.Fatalf("found %d meshprobe configurations", len(cfgs))
	}
}

// Broken copies of envoy.yaml must fail, each for its own reason: the test
// above can only pass because the validation is real.
func TestEnvoyYAMLBrokenCopiesFail(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "envoy", "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	good := string(data)
	cases := []struct{ name, old, new, want string }{
		{"misspelled bootstrap field", "static_resources:", "static_resource:", "unknown field"},
		{"misspelled field inside a typed config", "stat_prefix: inbound_http", "stat_prefx: inbound_http", "unknown field"},
		{"wrong type", "port_value: 10000", "port_value: ten", "invalid value for uint32 field portValue"},
		{"constraint broken", "connect_timeout: 1s", "connect_timeout: -1s", "Cluster.ConnectTimeout: value must be greater than 0s"},
		{"unknown typed config", "envoy.extensions.filters.http.router.v3.Router", "envoy.extensions.filters.http.router.v3.Routr", "Routr"},
		{"misspelled field in the mTLS socket", "trusted_ca:", "trusted_cas:", "unknown field"},
		{"HTTP/2 options misspelled", "http2_protocol_options: {}", "http2_protocol_option: {}", "unknown field"},
		{"bad meshprobe configuration", `"kind": "hsm"`, `"kind": "redis"`, "unknown kind"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(good, c.old) {
				t.Fatalf("envoy.yaml no longer contains %q: update this test", c.old)
			}
			_, err := validateEnvoyConfig([]byte(strings.Replace(good, c.old, c.new, 1)))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v; want one mentioning %q", err, c.want)
			}
		})
	}
}
