package main

import "testing"

func TestPackageOf(t *testing.T) {
	p := newPackages([]string{"encoding/json", "github.com/tidwall/gjson", "slices", "github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm", "github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/internal"})
	for fn, want := range map[string]string{
		"encoding_json.__decodeState_.object":                                    "encoding/json",
		"github.com_tidwall_gjson.Get":                                           "github.com/tidwall/gjson",
		"slices.pdqsortCmpFunc_go.shape.struct___Key_reflect.Value___":           "slices",
		"github.com_proxy_wasm_proxy_wasm_go_sdk_proxywasm_internal.proxyOnTick": "github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/internal",
		"github.com_proxy_wasm_proxy_wasm_go_sdk_proxywasm.MetricCounter.Value":  "github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm",
		"type_.eq.internal_abi.ITab":                                             "type_",
	} {
		if got := p.of(fn); got != want {
			t.Errorf("of(%q) = %q, want %q", fn, got, want)
		}
	}
}
