package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"
)

// Strict decoding of Kubernetes and Istio documents: unknown fields refused.

// decodeKubernetesStrict decodes the way the API server does with strict field
// validation: field names are case-sensitive, an unknown or repeated field
// fails.
func decodeKubernetesStrict(js []byte, v any) error {
	strict, err := sigsjson.UnmarshalStrict(js, v)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// decodeIstio decodes an Istio resource: the envelope strictly, the spec
// strictly into Istio's own protobuf type, with the field names the CRD
// accepts. It returns the metadata and where, extended with kind and name.
func decodeIstio(where string, js []byte, spec proto.Message) (metav1.ObjectMeta, string, error) {
	var obj istioObject
	if err := decodeKubernetesStrict(js, &obj); err != nil {
		return obj.Metadata, where, fmt.Errorf("%s: %w", where, err)
	}
	where = istioObjectWhere(where, obj.Kind, obj.Metadata)
	if obj.Metadata.Namespace == "" {
		return obj.Metadata, where, fmt.Errorf("%s: metadata.namespace is missing: set it, so the manifest applies as is", where)
	}
	if len(obj.Spec) == 0 {
		return obj.Metadata, where, fmt.Errorf("%s: spec is missing", where)
	}
	var raw any
	if err := json.Unmarshal(obj.Spec, &raw); err != nil {
		return obj.Metadata, where, fmt.Errorf("%s: spec: %w", where, err)
	}
	// DiscardUnknown is false: an unknown field or a wrong type fails.
	if err := (protojson.UnmarshalOptions{}).Unmarshal(obj.Spec, spec); err != nil {
		return obj.Metadata, where, fmt.Errorf("%s: %w", where, locateProtoError(spec, raw, err))
	}
	if err := crdFieldNames("spec", spec.ProtoReflect().Descriptor(), raw); err != nil {
		return obj.Metadata, where, fmt.Errorf("%s: %w", where, err)
	}
	return obj.Metadata, where, nil
}

// locateProtoError names the spec field protojson refused (its own message
// gives only a byte offset): it decodes the fields one at a time.
func locateProtoError(spec proto.Message, raw any, err error) error {
	if obj, ok := raw.(map[string]any); ok {
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			one, _ := json.Marshal(map[string]any{k: obj[k]})
			fresh := spec.ProtoReflect().New().Interface()
			if ferr := protojson.Unmarshal(one, fresh); ferr != nil {
				return fmt.Errorf("spec.%s: %w", k, ferr)
			}
		}
	}
	return fmt.Errorf("spec: %w", err)
}

// crdFieldNames refuses the field names protojson accepts besides the JSON
// ones: protojson also takes proto names (fail_strategy), which the CRD does
// not know, so the cluster would drop or refuse them.
func crdFieldNames(path string, md protoreflect.MessageDescriptor, v any) error {
	if strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
		return nil // Struct, wrappers, Duration: free-form or scalar in JSON
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil // protojson has checked the type already
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		fd := md.Fields().ByJSONName(k)
		if fd == nil {
			if byName := md.Fields().ByName(protoreflect.Name(k)); byName != nil {
				return fmt.Errorf("%s.%s: the CRD takes the field as %q", path, k, byName.JSONName())
			}
			return fmt.Errorf("%s.%s: unknown field", path, k)
		}
		if fd.Kind() != protoreflect.MessageKind {
			continue
		}
		sub := path + "." + k
		switch {
		case fd.IsMap():
			if fd.MapValue().Kind() != protoreflect.MessageKind {
				continue
			}
			m, _ := obj[k].(map[string]any)
			for _, mk := range slices.Sorted(maps.Keys(m)) {
				if err := crdFieldNames(sub+"."+mk, fd.MapValue().Message(), m[mk]); err != nil {
					return err
				}
			}
		case fd.IsList():
			l, _ := obj[k].([]any)
			for i, e := range l {
				if err := crdFieldNames(fmt.Sprintf("%s[%d]", sub, i), fd.Message(), e); err != nil {
					return err
				}
			}
		default:
			if err := crdFieldNames(sub, fd.Message(), obj[k]); err != nil {
				return err
			}
		}
	}
	return nil
}
