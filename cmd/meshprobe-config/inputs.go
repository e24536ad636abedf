package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// found is one meshprobe configuration in a file: where it is, and the
// bytes the plugin would receive.
type found struct {
	where  string
	raw    []byte
	plugin *wasmPluginMeta // for a WasmPlugin
}

// wasmPluginMeta is what Istio names a WasmPlugin's filter after, and
// where it applies.
type wasmPluginMeta struct {
	namespace, name string
	selector        map[string]any // spec.selector.matchLabels; nil: every workload in reach
}

// configurations finds the meshprobe configurations in a file. A file
// that starts like JSON and is neither a WasmPlugin nor Envoy configuration
// is a plugin configuration as it stands, so the parser's own error names
// what is wrong with it. In YAML, Kubernetes objects other than meshprobe
// WasmPlugins (a Deployment beside it) are passed over.
func configurations(data []byte) ([]found, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		var obj map[string]any
		if json.Unmarshal(trimmed, &obj) != nil || !isKubernetes(obj) && !looksLikeEnvoy(obj) {
			return []found{{raw: data}}, nil
		}
		return fromObject(obj, "")
	}
	parts := documentSplit.Split(string(data), -1)
	var out []found
	for i, d := range parts {
		where := ""
		if len(parts) > 1 {
			where = fmt.Sprintf("document %d", i+1)
		}
		js, err := yaml.YAMLToJSON([]byte(d))
		if err != nil && where != "" {
			return nil, fmt.Errorf("%s: not valid YAML: %v", where, err)
		} else if err != nil {
			return nil, fmt.Errorf("not valid YAML: %v", err)
		}
		var obj map[string]any
		if json.Unmarshal(js, &obj) != nil || obj == nil {
			continue // empty, or not a mapping
		}
		if !isKubernetes(obj) && !looksLikeEnvoy(obj) {
			err := errors.New("neither Kubernetes objects nor Envoy configuration (a plugin configuration must be JSON)")
			if where != "" {
				err = fmt.Errorf("%s: %w", where, err)
			}
			return nil, err
		}
		fs, err := fromObject(obj, where)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil // none: the caller says so, and it is no error
}

// fromObject is the configurations of one document: a meshprobe
// WasmPlugin, or Envoy configuration; anything else holds none.
func fromObject(obj map[string]any, where string) ([]found, error) {
	var fs []found
	var err error
	switch {
	case isKubernetes(obj):
		if f, ok := wasmPlugin(obj); ok {
			fs = []found{f}
		}
	case looksLikeEnvoy(obj):
		fs, err = wasmFilters(obj)
	}
	if where == "" {
		return fs, err
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	for i := range fs {
		fs[i].where = where + ": " + fs[i].where
	}
	return fs, nil
}

// isKubernetes: a Kubernetes object (apiVersion and kind), Istio's or another's.
func isKubernetes(obj map[string]any) bool {
	_, api := obj["apiVersion"].(string)
	_, kind := obj["kind"].(string)
	return api && kind
}

var documentSplit = regexp.MustCompile(`(?m)^---[ \t]*$`)

// envoyKeys are top-level fields of a bootstrap, a listener or a discovery
// response, which no plugin configuration has.
var envoyKeys = []string{"static_resources", "staticResources", "dynamic_resources", "admin", "node",
	"filter_chains", "filterChains", "resources", "@type"}

// isBootstrap: data is one document, an Envoy bootstrap with static
// listeners.
func isBootstrap(data []byte) bool {
	js, err := yaml.YAMLToJSON(data)
	var obj map[string]any
	if err != nil || json.Unmarshal(js, &obj) != nil {
		return false
	}
	_, ok := obj["static_resources"]
	if !ok {
		_, ok = obj["staticResources"]
	}
	return ok
}

func looksLikeEnvoy(obj map[string]any) bool {
	for _, k := range envoyKeys {
		if _, ok := obj[k]; ok {
			return true
		}
	}
	return false
}

// wasmPlugin is a meshprobe WasmPlugin's pluginConfig, which Istio hands
// the plugin as JSON. A WasmPlugin is meshprobe's when its name, url or
// pluginName names meshprobe; other objects and plugins hold none.
func wasmPlugin(obj map[string]any) (found, bool) {
	if obj["kind"] != "WasmPlugin" {
		return found{}, false
	}
	meta, _ := obj["metadata"].(map[string]any)
	spec, _ := obj["spec"].(map[string]any)
	if !namesMeshprobe(meta["name"], spec["url"], spec["pluginName"]) {
		return found{}, false
	}
	f := found{where: "WasmPlugin " + printable(meta["name"]), plugin: &wasmPluginMeta{}}
	f.plugin.namespace, _ = meta["namespace"].(string)
	f.plugin.name, _ = meta["name"].(string)
	if sel, ok := spec["selector"].(map[string]any); ok {
		f.plugin.selector, _ = sel["matchLabels"].(map[string]any)
	}
	if cfg, ok := spec["pluginConfig"]; ok {
		f.raw, _ = json.Marshal(cfg) // it came from JSON: it goes back
	}
	return f, true // no pluginConfig: the defaults
}

// namesMeshprobe: one of the values, as JSON, contains "meshprobe".
func namesMeshprobe(vs ...any) bool {
	b, _ := json.Marshal(vs)
	return strings.Contains(strings.ToLower(string(b)), "meshprobe")
}

// printable is a name as it may go on one line of output: quoted, escaped,
// if it holds anything but printable characters.
func printable(v any) string {
	s := fmt.Sprint(v)
	if strings.ContainsFunc(s, func(r rune) bool { return !strconv.IsPrint(r) }) {
		return strconv.Quote(s)
	}
	return s
}

const (
	wasmFilterType  = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
	stringValueType = "type.googleapis.com/google.protobuf.StringValue"
)

// wasmFilters finds every meshprobe wasm filter in Envoy configuration: a
// typed config of the wasm filter whose name, root_id, vm_id or code names
// meshprobe. Its configuration must be a StringValue holding the JSON.
func wasmFilters(obj map[string]any) ([]found, error) {
	var out []found
	var err error
	seen := 0
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["@type"] == wasmFilterType {
				seen++
				if f, ok, ferr := wasmFilter(x); ferr != nil && err == nil {
					err = ferr
				} else if ok {
					out = append(out, f)
				}
				return
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(obj)
	switch {
	case err != nil:
		return nil, err
	case seen == 0:
		return nil, errors.New("no wasm filter in this Envoy configuration")
	case len(out) == 0:
		return nil, fmt.Errorf("none of its %d wasm filters is meshprobe's (its name, root_id, vm_id or code must name meshprobe)", seen)
	}
	return out, nil
}

func wasmFilter(w map[string]any) (found, bool, error) {
	cfg, _ := w["config"].(map[string]any)
	vm, _ := cfg["vm_config"].(map[string]any)
	if vm == nil {
		vm, _ = cfg["vmConfig"].(map[string]any)
	}
	if !namesMeshprobe(cfg["name"], cfg["root_id"], cfg["rootId"], vm["vm_id"], vm["vmId"], vm["code"]) {
		return found{}, false, nil
	}
	f := found{where: "wasm filter " + printable(cfg["name"])}
	conf, ok := cfg["configuration"].(map[string]any)
	if !ok {
		return f, true, nil // no configuration: the defaults
	}
	value, isString := conf["value"].(string)
	if conf["@type"] != stringValueType || !isString {
		return f, true, fmt.Errorf("%s: its configuration must be a %s holding meshprobe's JSON", f.where, stringValueType)
	}
	f.raw = []byte(value)
	return f, true, nil
}
