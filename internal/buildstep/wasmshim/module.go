// Package wasmshim rewrites a compiled WebAssembly module so that it provides
// one of its own imports: the import is removed, a function defined in the
// module takes its place, and every function index in the module is
// renumbered to match. It works on the binary format directly and keeps every
// other byte as the Go toolchain wrote it.
package wasmshim

import (
	"bytes"
	"errors"
	"fmt"
)

var magic = []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}

// Section ids of the binary format that this package reads or rewrites.
const (
	secCustom   = 0
	secImport   = 2
	secFunction = 3
	secGlobal   = 6
	secExport   = 7
	secStart    = 8
	secElement  = 9
	secCode     = 10
)

type section struct {
	id   byte
	body []byte
}

func parseSections(mod []byte) ([]section, error) {
	if !bytes.HasPrefix(mod, magic) {
		return nil, errors.New("not a WebAssembly 1.0 binary module")
	}
	var out []section
	r := &reader{b: mod, pos: len(magic)}
	for !r.done() {
		id := r.byte()
		n := r.u32()
		body := r.bytes(int(n))
		if r.err != nil {
			return nil, fmt.Errorf("section %d: %w", id, r.err)
		}
		out = append(out, section{id, body})
	}
	return out, nil
}

func encodeSections(secs []section) []byte {
	out := append([]byte(nil), magic...)
	for _, s := range secs {
		out = append(out, s.id)
		out = appendU32(out, uint32(len(s.body)))
		out = append(out, s.body...)
	}
	return out
}

// customName is the name of a custom section.
func customName(body []byte) string {
	r := &reader{b: body}
	name := r.name()
	if r.err != nil {
		return ""
	}
	return name
}

// reader decodes the binary format; the first error sticks and every later
// read returns zero values, so callers check err once per unit.
type reader struct {
	b   []byte
	pos int
	err error
}

func (r *reader) done() bool { return r.err != nil || r.pos >= len(r.b) }

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("offset %d: %s", r.pos, fmt.Sprintf(format, args...))
	}
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.pos >= len(r.b) {
		r.fail("unexpected end")
		return 0
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.pos {
		r.fail("length %d past the end", n)
		return nil
	}
	s := r.b[r.pos : r.pos+n]
	r.pos += n
	return s
}

// leb reads an LEB128 number of at most maxBits bits and returns its raw
// value (unsigned); signed immediates are only skipped, never interpreted.
func (r *reader) leb(maxBits uint) uint64 {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= maxBits+7 {
			r.fail("LEB128 longer than %d bits", maxBits)
			return 0
		}
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
}

func (r *reader) u32() uint32 { return uint32(r.leb(32)) }

func (r *reader) name() string { return string(r.bytes(int(r.u32()))) }

func appendU32(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendName(b []byte, s string) []byte {
	return append(appendU32(b, uint32(len(s))), s...)
}
