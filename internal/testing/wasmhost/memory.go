package wasmhost

import (
	"context"
	"encoding/binary"

	"github.com/tetratelabs/wazero/api"
)

// status is a proxy-wasm hostcall result (proxy-wasm WasmResult).
type status uint32

const (
	statusOK                  status = 0
	statusNotFound            status = 1
	statusBadArgument         status = 2
	statusInvalidMemoryAccess status = 6
	statusCasMismatch         status = 8
	statusInternalFailure     status = 10
	statusUnimplemented       status = 12
)

// guest is one hostcall's view of the calling module's memory.
type guest struct {
	ctx context.Context
	mod api.Module
}

// read copies size bytes at ptr out of guest memory.
func (g guest) read(ptr, size uint32) ([]byte, bool) {
	if size == 0 {
		return nil, true
	}
	b, ok := g.mod.Memory().Read(ptr, size)
	if !ok {
		return nil, false
	}
	return append([]byte(nil), b...), true
}

func (g guest) putU32(ptr, v uint32) bool { return g.mod.Memory().WriteUint32Le(ptr, v) }
func (g guest) putU64(ptr uint32, v uint64) bool {
	return g.mod.Memory().WriteUint64Le(ptr, v)
}

// copyOut hands data to the guest as proxy-wasm-cpp-host's copyToPointerSize
// does: the buffer is allocated by the guest's proxy_on_memory_allocate (the
// guest owns and frees it), and its address and size are written to ptrPtr
// and sizePtr. Empty data writes a null pointer and size 0, allocating nothing.
func copyOut[T string | []byte](g guest, data T, ptrPtr, sizePtr uint32) bool {
	var addr uint32
	if len(data) > 0 {
		v := vmOf(g.ctx)
		alloc := v.fn("proxy_on_memory_allocate")
		if alloc == nil || len(alloc.Definition().ResultTypes()) != 1 {
			return false
		}
		v.allocStack[0] = uint64(len(data))
		outer := v.restricted
		v.restricted = "proxy_on_memory_allocate"
		err := alloc.CallWithStack(g.ctx, v.allocStack[:])
		v.restricted = outer
		if err != nil {
			return false
		}
		addr = uint32(v.allocStack[0])
		buf, ok := g.mod.Memory().Read(addr, uint32(len(data))) // a view: copy writes through
		if !ok {
			return false
		}
		copy(buf, data)
	}
	return g.putU32(ptrPtr, addr) && g.putU32(sizePtr, uint32(len(data)))
}

// encodePairs serialises a header map in the proxy-wasm format: a count,
// then each key and value size, then each key and value NUL-terminated.
func encodePairs(pairs [][2]string) []byte {
	size := 4
	for _, p := range pairs {
		size += 8 + len(p[0]) + 1 + len(p[1]) + 1
	}
	b := make([]byte, 4, size)
	binary.LittleEndian.PutUint32(b, uint32(len(pairs)))
	for _, p := range pairs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p[0])))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p[1])))
	}
	for _, p := range pairs {
		b = append(append(b, p[0]...), 0)
		b = append(append(b, p[1]...), 0)
	}
	return b
}

// decodePairs parses encodePairs' format; ok is false for a truncated map.
// Like proxy-wasm-cpp-host's toPairs, fewer than four bytes is an empty map.
func decodePairs(b []byte) (pairs [][2]string, ok bool) {
	if len(b) < 4 {
		return nil, true
	}
	n := uint64(binary.LittleEndian.Uint32(b))
	if 4+8*n > uint64(len(b)) {
		return nil, false
	}
	sizes, data := b[4:4+8*n], b[4+8*n:]
	pairs = make([][2]string, n)
	for i := range pairs {
		for j := range 2 {
			l := uint64(binary.LittleEndian.Uint32(sizes[8*i+4*j:]))
			if l+1 > uint64(len(data)) {
				return nil, false
			}
			pairs[i][j] = string(data[:l])
			data = data[l+1:]
		}
	}
	return pairs, true
}

func clonePairs(p [][2]string) [][2]string {
	if p == nil {
		return nil
	}
	return append([][2]string(nil), p...)
}
