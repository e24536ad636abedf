package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	"sigs.k8s.io/yaml"

	// The typed configs envoy.yaml uses, registered for Any resolution.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"

	"github.com/meshprobe/meshprobe/checks"
)

// validator is what Envoy's generated protos implement (protoc-gen-validate).
type validator interface{ ValidateAll() error }

// validateEnvoyConfig reads a static bootstrap the way Envoy would: YAML to
// JSON, strict protojson into Bootstrap (an unknown field or a wrong type
// fails), ValidateAll on it and on every typed Any inside, and the meshprobe
// filter's own configuration through the project's parser. It returns the
// meshprobe configurations it found.
func validateEnvoyConfig(data []byte) ([]*checks.Config, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("yaml: %w", err)
	}
	var b bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(js, &b); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if err := b.ValidateAll(); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	var found []*checks.Config
	err = walkAnys(b.ProtoReflect(), func(a *anypb.Any) error {
		m, err := a.UnmarshalNew()
		if err != nil {
			return fmt.Errorf("%s: %w", a.GetTypeUrl(), err)
		}
		if v, ok := m.(validator); ok {
			if err := v.ValidateAll(); err != nil {
				return fmt.Errorf("%s: %w", a.GetTypeUrl(), err)
			}
		}
		if w, ok := m.(*wasmv3.Wasm); ok {
			cfg, err := meshprobeConfig(w)
			if err != nil {
				return err
			}
			found = append(found, cfg)
		}
		return nil // walkAnys goes on into m's own Anys
	})
	return found, err
}

// meshprobeConfig parses the wasm filter's configuration with our parser.
func meshprobeConfig(w *wasmv3.Wasm) (*checks.Config, error) {
	var s wrapperspb.StringValue
	if err := w.GetConfig().GetConfiguration().UnmarshalTo(&s); err != nil {
		return nil, fmt.Errorf("meshprobe configuration must be a StringValue: %w", err)
	}
	cfg, err := checks.Parse([]byte(s.GetValue()))
	if err != nil {
		return nil, fmt.Errorf("meshprobe configuration: %w", err)
	}
	return cfg, nil
}

// walkAnys calls f for every Any in m, depth first, including Anys inside
// the messages those Anys hold.
func walkAnys(m protoreflect.Message, f func(*anypb.Any) error) error {
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind {
			return true
		}
		visit := func(x protoreflect.Message) {
			if err != nil {
				return
			}
			if a, ok := x.Interface().(*anypb.Any); ok && f != nil {
				if err = f(a); err != nil {
					return
				}
				if inner, uerr := a.UnmarshalNew(); uerr == nil {
					err = walkAnys(inner.ProtoReflect(), f)
				}
				return
			}
			err = walkAnys(x, f)
		}
		switch {
		case fd.IsList():
			for i := 0; i < v.List().Len(); i++ {
				visit(v.List().Get(i).Message())
			}
		case fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					visit(mv.Message())
					return err == nil
				})
			}
		default:
			visit(v.Message())
		}
		return err == nil
	})
	return err
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
