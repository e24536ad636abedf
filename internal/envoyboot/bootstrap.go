// Package envoyboot reads an Envoy bootstrap as Envoy would (LoadBootstrap,
// with Envoy's own API types and meshprobe's parser for the plugin's
// configuration) and holds the TLS files a cluster names, with a throwaway
// CA that writes them (PKI). The demo (internal/demo), the Envoy runner of
// the tests (internal/testing/envoyrun), cmd/meshprobe-config and the tests
// share it.
package envoyboot

import (
	"fmt"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	"sigs.k8s.io/yaml"

	// The typed configs envoy.yaml uses, registered for Any resolution.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"

	"github.com/meshprobe/meshprobe/checks"
)

// validator is what Envoy's generated protos implement (protoc-gen-validate).
type validator interface{ ValidateAll() error }

// LoadBootstrap reads a static bootstrap as Envoy would: YAML to JSON,
// strict protojson into Bootstrap (an unknown field or a wrong type fails),
// ValidateAll on it and on every typed Any inside, and each meshprobe wasm
// filter's configuration through the project's own parser.
func LoadBootstrap(data []byte) (*bootstrapv3.Bootstrap, []*checks.Config, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, nil, fmt.Errorf("yaml: %w", err)
	}
	var b bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(js, &b); err != nil {
		return nil, nil, fmt.Errorf("bootstrap: %w", err)
	}
	if err := b.ValidateAll(); err != nil {
		return nil, nil, fmt.Errorf("bootstrap: %w", err)
	}
	var found []*checks.Config
	err = walkAnys(b.ProtoReflect(), func(a *anypb.Any) error {
		if a.GetTypeUrl() == "" && len(a.GetValue()) == 0 {
			return nil // an empty config (a route's FilterConfig that only enables a filter)
		}
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
			raw, err := PluginConfig(w)
			if err != nil {
				return err
			}
			cfg, err := checks.Parse(raw)
			if err != nil {
				return fmt.Errorf("meshprobe configuration: %w", err)
			}
			found = append(found, cfg)
		}
		return nil // walkAnys goes on into m's own Anys
	})
	if err != nil {
		return nil, nil, err
	}
	return &b, found, nil
}

// PluginConfig is the wasm filter's configuration, which meshprobe takes as
// a StringValue holding JSON.
func PluginConfig(w *wasmv3.Wasm) ([]byte, error) {
	var s wrapperspb.StringValue
	if err := w.GetConfig().GetConfiguration().UnmarshalTo(&s); err != nil {
		return nil, fmt.Errorf("meshprobe configuration must be a StringValue: %w", err)
	}
	return []byte(s.GetValue()), nil
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
			if a, ok := x.Interface().(*anypb.Any); ok {
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
