package istio

import (
	"encoding/json"
	"testing"
)

// dump is Envoy's /config_dump, read as plain JSON: stock Envoy's types
// only, so no proto registry is needed to follow it.
type dump struct{ configs []map[string]any }

func (m *harness) configDump(t *testing.T) *dump {
	t.Helper()
	body, err := m.envoy.AdminGet("/config_dump")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Configs []map[string]any `json:"configs"`
	}
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	return &dump{d.Configs}
}

func (d *dump) section(kind string) map[string]any {
	for _, c := range d.configs {
		if c["@type"] == "type.googleapis.com/envoy.admin.v3."+kind {
			return c
		}
	}
	return nil
}

// path follows keys (strings) and indexes (ints) through decoded JSON.
func path(v any, steps ...any) any {
	for _, s := range steps {
		switch k := s.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// chain is one filter chain of Istio's inbound listener.
type chain struct {
	name, transport string   // transport: "tls" or "raw_buffer" (either when unset)
	filters         []string // the HTTP filters, none for a TCP chain
	routes          []any    // the routes of the connection manager's inline route configuration
}

// inboundChains returns the filter chains of Istio's inbound listener
// (virtualInbound) that match destination port.
func (d *dump) inboundChains(t *testing.T, port float64) []chain {
	t.Helper()
	var out []chain
	ls, _ := path(d.section("ListenersConfigDump"), "dynamic_listeners").([]any)
	for _, l := range ls {
		if path(l, "name") != "virtualInbound" {
			continue
		}
		chains, _ := path(l, "active_state", "listener", "filter_chains").([]any)
		for _, c := range chains {
			if path(c, "filter_chain_match", "destination_port") != port {
				continue
			}
			var ch chain
			ch.name, _ = path(c, "name").(string)
			ch.transport, _ = path(c, "filter_chain_match", "transport_protocol").(string)
			filters, _ := path(c, "filters").([]any)
			for _, f := range filters {
				hf, _ := path(f, "typed_config", "http_filters").([]any)
				for _, h := range hf {
					n, _ := path(h, "name").(string)
					ch.filters = append(ch.filters, n)
				}
				vhs, _ := path(f, "typed_config", "route_config", "virtual_hosts").([]any)
				for _, vh := range vhs {
					rs, _ := path(vh, "routes").([]any)
					ch.routes = append(ch.routes, rs...)
				}
			}
			out = append(out, ch)
		}
	}
	if len(out) == 0 {
		t.Fatalf("Envoy has no inbound filter chain for port %v", port)
	}
	return out
}

// wasmExtension is the part of a wasm filter's ECDS configuration the
// tests read.
type wasmExtension struct {
	FailurePolicy string
	Configuration string
	Name          string // the plugin's name
	VMID, RootID  string
	Code          string // the module's file
}

// extension returns the wasm configuration Envoy holds for the ECDS
// resource name.
func (d *dump) extension(t *testing.T, name string) wasmExtension {
	t.Helper()
	fs, _ := path(d.section("EcdsConfigDump"), "ecds_filters").([]any)
	for _, f := range fs {
		if path(f, "ecds_filter", "name") != name {
			continue
		}
		cfg := path(f, "ecds_filter", "typed_config", "config")
		s := func(steps ...any) string { v, _ := path(cfg, steps...).(string); return v }
		return wasmExtension{FailurePolicy: s("failure_policy"), Configuration: s("configuration", "value"),
			Name: s("name"), VMID: s("vm_config", "vm_id"), RootID: s("root_id"),
			Code: s("vm_config", "code", "local", "filename")}
	}
	t.Fatalf("Envoy holds no extension configuration %q", name)
	return wasmExtension{}
}
