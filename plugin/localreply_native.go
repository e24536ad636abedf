//go:build !wasip1

package plugin

import "github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

// Natively the SDK's emulator (proxytest) takes the reply; it cannot read
// the wire form, which the wasm tests exercise through the real ABI.
func sendLocalResponse(status uint32, h *headerSet, body []byte) error {
	return proxywasm.SendHttpResponse(status, h.list, body, -1)
}
