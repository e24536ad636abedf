package wasmshim

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoImport is returned when the module does not import the function:
// there is nothing to provide.
var ErrNoImport = errors.New("the module does not import it")

// Provide removes the function import module.name from mod and defines a
// function with the same type and the given body in its place (a function
// body as the code section holds it, without its size: locals, then
// instructions ending in end). Calls, exports, table elements, globals and
// the start function all follow the new numbering.
func Provide(mod []byte, module, name string, body []byte) ([]byte, error) {
	secs, err := parseSections(mod)
	if err != nil {
		return nil, err
	}
	for _, s := range secs {
		if s.id != secCustom {
			continue
		}
		// These name functions by index or code by offset: build with
		// -ldflags='-s -w' instead of rewriting them.
		switch name := customName(s.body); {
		case name == "name", strings.HasPrefix(name, ".debug_"), strings.HasPrefix(name, "reloc."):
			return nil, fmt.Errorf("the module has a %q section", name)
		}
	}
	imp := find(secs, secImport)
	if imp == nil {
		return nil, ErrNoImport
	}
	target, typ, imported, rest, err := dropImport(imp.body, module, name)
	if err != nil {
		return nil, fmt.Errorf("import section: %w", err)
	}
	fn, code := find(secs, secFunction), find(secs, secCode)
	if fn == nil || code == nil {
		return nil, errors.New("the module defines no functions")
	}
	defined := (&reader{b: fn.body}).u32()
	added := imported - 1 + defined // the new function's index
	remap := func(i uint32) uint32 {
		switch {
		case i < target:
			return i
		case i == target:
			return added
		default:
			return i - 1
		}
	}
	imp.body = rest
	steps := []struct {
		s       *section
		rewrite func([]byte, func(uint32) uint32) ([]byte, error)
	}{
		{fn, func(b []byte, _ func(uint32) uint32) ([]byte, error) { return appendFunctionType(b, typ) }},
		{code, func(b []byte, m func(uint32) uint32) ([]byte, error) { return rewriteCode(b, m, body) }},
		{find(secs, secExport), rewriteExports},
		{find(secs, secStart), rewriteStart},
		{find(secs, secElement), rewriteElements},
		{find(secs, secGlobal), rewriteGlobals},
	}
	for _, st := range steps {
		if st.s == nil {
			continue
		}
		if st.s.body, err = st.rewrite(st.s.body, remap); err != nil {
			return nil, fmt.Errorf("section %d: %w", st.s.id, err)
		}
	}
	return encodeSections(secs), nil
}

func find(secs []section, id byte) *section {
	for i := range secs {
		if secs[i].id == id {
			return &secs[i]
		}
	}
	return nil
}

// dropImport returns the import section without module.name, that import's
// function index and type index, and how many functions the module imports.
func dropImport(b []byte, module, name string) (target, typ, funcs uint32, rest []byte, err error) {
	r := &reader{b: b}
	n := r.u32()
	rest = appendU32(nil, n-1)
	found := false
	for range n {
		start := r.pos
		mod, field := r.name(), r.name()
		kind := r.byte()
		switch kind {
		case 0x00: // function: type index
			t := r.u32()
			if mod == module && field == name && !found {
				found, target, typ = true, funcs, t
				funcs++
				continue
			}
			funcs++
		case 0x01: // table: reference type, limits
			r.byte()
			limits(r)
		case 0x02: // memory: limits
			limits(r)
		case 0x03: // global: value type, mutability
			r.byte()
			r.byte()
		case 0x04: // tag: attribute, type index
			r.byte()
			r.u32()
		default:
			r.fail("import kind 0x%02x is not supported", kind)
		}
		rest = append(rest, r.b[start:r.pos]...)
	}
	switch {
	case r.err != nil:
		return 0, 0, 0, nil, r.err
	case !found:
		return 0, 0, 0, nil, ErrNoImport
	}
	return target, typ, funcs, rest, nil
}

func limits(r *reader) {
	flags := r.byte()
	r.leb(64)
	if flags&0x01 != 0 {
		r.leb(64)
	}
}

func appendFunctionType(b []byte, typ uint32) ([]byte, error) {
	r := &reader{b: b}
	n := r.u32()
	if r.err != nil {
		return nil, r.err
	}
	out := appendU32(nil, n+1)
	out = append(out, b[r.pos:]...)
	return appendU32(out, typ), nil
}

// rewriteCode renumbers the calls in every function body and appends body.
func rewriteCode(b []byte, remap func(uint32) uint32, body []byte) ([]byte, error) {
	r := &reader{b: b}
	n := r.u32()
	out := appendU32(nil, n+1)
	var fn []byte
	for i := range n {
		size := r.u32()
		br := &reader{b: r.bytes(int(size))}
		if r.err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, r.err)
		}
		for groups := br.u32(); groups > 0 && br.err == nil; groups-- {
			br.u32()  // count
			br.byte() // value type
		}
		fn = append(fn[:0], br.b[:br.pos]...)
		fn = rewriteExpr(br, fn, remap)
		if br.err == nil && !br.done() {
			br.fail("bytes after the final end")
		}
		if br.err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, br.err)
		}
		out = appendU32(out, uint32(len(fn)))
		out = append(out, fn...)
	}
	out = appendU32(out, uint32(len(body)))
	return append(out, body...), nil
}

func rewriteExports(b []byte, remap func(uint32) uint32) ([]byte, error) {
	r := &reader{b: b}
	n := r.u32()
	out := appendU32(nil, n)
	for range n {
		name := r.name()
		kind := r.byte()
		idx := r.u32()
		if kind == 0x00 {
			idx = remap(idx)
		}
		out = append(appendName(out, name), kind)
		out = appendU32(out, idx)
	}
	return out, r.err
}

func rewriteStart(b []byte, remap func(uint32) uint32) ([]byte, error) {
	r := &reader{b: b}
	idx := r.u32()
	return appendU32(nil, remap(idx)), r.err
}

// rewriteElements handles the eight segment encodings of the element
// section: function index vectors and expression vectors, each active,
// passive or declarative.
func rewriteElements(b []byte, remap func(uint32) uint32) ([]byte, error) {
	r := &reader{b: b}
	n := r.u32()
	out := appendU32(nil, n)
	for range n {
		flags := r.u32()
		out = appendU32(out, flags)
		if flags > 7 {
			r.fail("element segment flags %d", flags)
			break
		}
		if flags&0x02 != 0 && flags&0x01 == 0 { // active with a table index
			out = appendU32(out, r.u32())
		}
		if flags&0x01 == 0 { // active: offset expression
			out = rewriteExpr(r, out, remap)
		}
		if flags&0x03 != 0 { // element kind or reference type
			out = append(out, r.byte())
		}
		count := r.u32()
		out = appendU32(out, count)
		for range count {
			if r.err != nil {
				break
			}
			if flags&0x04 != 0 {
				out = rewriteExpr(r, out, remap)
			} else {
				out = appendU32(out, remap(r.u32()))
			}
		}
	}
	return out, r.err
}

func rewriteGlobals(b []byte, remap func(uint32) uint32) ([]byte, error) {
	r := &reader{b: b}
	n := r.u32()
	out := appendU32(nil, n)
	for range n {
		out = append(out, r.byte(), r.byte()) // value type, mutability
		out = rewriteExpr(r, out, remap)
	}
	return out, r.err
}
