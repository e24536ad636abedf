//go:build !wasip1

package plugin

import "github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

// Natively the hostcall is the SDK emulator's (proxytest), reached only
// through the SDK's API, which takes the list. The wire form is exercised by
// the wasm runs of the same tests, through the real ABI.
func sendLocalResponse(status uint32, h *headerSet, body []byte) error {
	return proxywasm.SendHttpResponse(status, h.list, body, -1)
}
