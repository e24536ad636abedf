package checks

import (
	"encoding/binary"
	"math"
	"strconv"
)

// Identity names a check by what decides how it is checked: kind, cluster,
// authority, method, path, headers, expectations, the observed JSON path
// and gRPC service. Its name, interval, timeout, thresholds, type and gates
// are left out, so changing them keeps its state across a configuration
// change, while any change to what is asked of the dependency starts it
// anew. Header values
// are secrets: only their sha256 goes in, and the identity itself is a
// sha256 of it all, never logged or served. A newer build must compute the
// same identity for the same check, or a push of it forgets every result:
// the encoding is part of the shared-state protocol (docs/design.md).
func (ch *Check) Identity() string {
	var h idFields
	field := h.add
	field(ch.Kind.String())
	field(ch.Cluster)
	field(ch.Authority)
	field(ch.Method)
	field(ch.Path)
	field(ch.GRPCService)
	field(ch.Observe)
	field(strconv.Itoa(len(ch.Headers)))
	for _, kv := range ch.Headers {
		sum := sha256sum([]byte(kv[1]))
		field(kv[0])
		field(string(sum[:]))
	}
	field(strconv.Itoa(len(ch.ExpectStatus)))
	for _, r := range ch.ExpectStatus {
		field(strconv.Itoa(r.Lo) + "-" + strconv.Itoa(r.Hi))
	}
	field(strconv.Itoa(len(ch.ExpectJSON)))
	for _, e := range ch.ExpectJSON {
		field(e.Path)
		field(strconv.Itoa(len(e.Accept)))
		for _, a := range e.Accept {
			field(strconv.Itoa(int(a.Type)) + ":" + a.Text + ":" + strconv.FormatUint(math.Float64bits(a.Num), 16))
		}
	}
	sum := sha256sum(h)
	return hexEncode(sum[:16])
}

// idFields is what Identity hashes: each field length-prefixed, so no two
// lists encode alike.
type idFields []byte

func (f *idFields) add(s string) {
	*f = binary.BigEndian.AppendUint64(*f, uint64(len(s)))
	*f = append(*f, s...)
}
