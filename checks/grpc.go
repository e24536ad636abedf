package checks

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// grpc.health.v1 over a plain HTTP/2 callout, encoded by hand: the messages
// are one field each, and a protobuf dependency would dwarf them.

// GRPC health serving states (grpc.health.v1.HealthCheckResponse.ServingStatus).
const (
	grpcUnknown        = 0
	grpcServing        = 1
	grpcNotServing     = 2
	grpcServiceUnknown = 3
)

var grpcServingNames = map[uint64]string{grpcUnknown: "UNKNOWN", grpcServing: "SERVING", grpcNotServing: "NOT_SERVING", grpcServiceUnknown: "SERVICE_UNKNOWN"}

// GRPCRequest is a length-prefixed HealthCheckRequest{service}.
func GRPCRequest(service string) []byte {
	msg := []byte{}
	if service != "" {
		msg = append(msg, 0x0a) // field 1, wire type 2 (bytes)
		msg = binary.AppendUvarint(msg, uint64(len(service)))
		msg = append(msg, service...)
	}
	frame := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(msg)))
	return append(frame, msg...)
}

var (
	errGRPCShort      = errors.New("grpc: truncated frame")
	errGRPCCompressed = errors.New("grpc: compressed response (not requested)")
	errGRPCProto      = errors.New("grpc: malformed HealthCheckResponse")
)

// grpcServingStatus decodes a length-prefixed HealthCheckResponse and returns
// its status (proto3: absent means UNKNOWN).
func grpcServingStatus(body []byte) (uint64, error) {
	if len(body) < 5 {
		return 0, errGRPCShort
	}
	if body[0] != 0 {
		return 0, errGRPCCompressed
	}
	n := binary.BigEndian.Uint32(body[1:5])
	if uint64(n) != uint64(len(body)-5) {
		return 0, errGRPCShort
	}
	msg := body[5:]
	var status uint64
	for len(msg) > 0 {
		key, k := binary.Uvarint(msg)
		if k <= 0 {
			return 0, errGRPCProto
		}
		msg = msg[k:]
		field, wire := key>>3, key&7
		switch wire {
		case 0:
			v, k := binary.Uvarint(msg)
			if k <= 0 {
				return 0, errGRPCProto
			}
			if field == 1 {
				status = v
			}
			msg = msg[k:]
		case 1, 5:
			size := 8
			if wire == 5 {
				size = 4
			}
			if len(msg) < size {
				return 0, errGRPCProto
			}
			msg = msg[size:]
		case 2:
			l, k := binary.Uvarint(msg)
			if k <= 0 || l > uint64(len(msg)-k) {
				return 0, errGRPCProto
			}
			msg = msg[k+int(l):]
		default:
			return 0, errGRPCProto
		}
		if field == 0 {
			return 0, errGRPCProto
		}
	}
	return status, nil
}

var grpcCodeNames = [...]string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
	"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// grpcCodeName names a grpc-status value; the dependency's text itself is
// never echoed (not even its digits: "0014" is 14), only a number we parsed.
// grpc-message is never read.
func grpcCodeName(code string) string {
	n, err := strconv.ParseUint(code, 10, 16)
	switch {
	case err != nil:
		return "grpc: malformed grpc-status"
	case n < uint64(len(grpcCodeNames)):
		return "grpc-status " + strconv.FormatUint(n, 10) + " (" + grpcCodeNames[n] + ")"
	}
	return "grpc-status " + strconv.FormatUint(n, 10)
}
