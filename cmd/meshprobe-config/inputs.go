package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// found is one meshprobe configuration in a file: where it is, and the
// bytes the plugin would receive.
type found struct {
	where string
	raw   []byte
}

// configurations finds the meshprobe configurations in a file. Anything
// that is neither a WasmPlugin nor Envoy configuration is taken as a
// plugin configuration as it stands, so the parser's own error names what
// is wrong with it (not JSON, not an object).
func configurations(data []byte) ([]found, error) {
	var docs [][]byte
	if json.Valid(data) {
		docs = [][]byte{data}
	} else {
		for _, d := range documentSplit.Split(string(data), -1) {
			if js, err := yaml.YAMLToJSON([]byte(d)); err == nil && !bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
				docs = append(docs, js)
			} else if err != nil {
				docs = nil // not YAML either: the parser says what it is not
				break
			}
		}
	}
	var out []found
	for i, d := range docs {
		var obj map[string]any
		if json.Unmarshal(d, &obj) != nil {
			continue
		}
		where := ""
		if len(docs) > 1 {
			where = fmt.Sprintf("document %d", i+1)
		}
		var fs []found
		var err error
		switch {
		case obj["kind"] == "WasmPlugin":
			var f found
			f, err = wasmPlugin(obj)
			fs = []found{f}
		case looksLikeEnvoy(obj):
			fs, err = wasmFilters(obj)
		case len(docs) > 1:
			err = errors.New("neither a WasmPlugin nor Envoy configuration")
		}
		if err != nil && where != "" {
			err = fmt.Errorf("%s: %w", where, err)
		}
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			if where != "" {
				f.where = where + ": " + f.where
			}
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return []found{{raw: data}}, nil
	}
	return out, nil
}

var documentSplit = regexp.MustCompile(`(?m)^---[ \t]*$`)

// envoyKeys are top-level fields of a bootstrap, a listener or a discovery
// response, which no plugin configuration has.
var envoyKeys = []string{"static_resources", "staticResources", "dynamic_resources", "admin", "node",
	"filter_chains", "filterChains", "resources", "@type"}

func looksLikeEnvoy(obj map[string]any) bool {
	for _, k := range envoyKeys {
		if _, ok := obj[k]; ok {
			return true
		}
	}
	return false
}

// wasmPlugin is an Istio WasmPlugin's pluginConfig, which Istio hands the
// plugin as JSON.
func wasmPlugin(obj map[string]any) (found, error) {
	meta, _ := obj["metadata"].(map[string]any)
	spec, _ := obj["spec"].(map[string]any)
	where := fmt.Sprintf("WasmPlugin %v", meta["name"])
	cfg, ok := spec["pluginConfig"]
	if !ok {
		return found{where: where}, nil // no configuration: the defaults
	}
	raw, err := json.Marshal(cfg)
	return found{where: where, raw: raw}, err
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
	names, _ := json.Marshal([]any{cfg["name"], cfg["root_id"], cfg["rootId"], vm["vm_id"], vm["vmId"], vm["code"]})
	if !strings.Contains(strings.ToLower(string(names)), "meshprobe") {
		return found{}, false, nil
	}
	f := found{where: fmt.Sprintf("wasm filter %v", cfg["name"])}
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
