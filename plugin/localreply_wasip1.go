package plugin

import (
	"strconv"
	"unsafe"
)

// On wasm the reply goes straight to the host with headers serialized once
// per set: the SDK's SendHttpResponse serializes them on every call.
//
//go:wasmimport env proxy_send_local_response
func proxySendLocalResponse(status uint32, detailsData *byte, detailsSize int32,
	bodyData *byte, bodySize int32, headersData *byte, headersSize int32, grpcStatus int32) uint32

func sendLocalResponse(status uint32, h *headerSet, body []byte) error {
	st := proxySendLocalResponse(status, nil, 0, unsafe.SliceData(body), int32(len(body)),
		unsafe.SliceData(h.wire), int32(len(h.wire)), -1)
	if st != 0 {
		return hostStatusError(st)
	}
	return nil
}

type hostStatusError uint32

func (e hostStatusError) Error() string { return "host status " + strconv.Itoa(int(e)) }
