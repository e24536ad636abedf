package main

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// function is one function defined in the module: its name from the name
// section and the size of its body in the code section.
type function struct {
	name string
	size int
}

// functions reads the code section's body sizes and the name section's
// function names. Imported functions have names but no bodies; they are
// left out.
func functions(mod []byte) ([]function, error) {
	if !bytes.HasPrefix(mod, []byte("\x00asm\x01\x00\x00\x00")) {
		return nil, errors.New("not a WebAssembly 1.0 binary module")
	}
	imports, names := 0, map[uint32]string{}
	var bodies []int
	r := reader{b: mod[8:]}
	for r.err == nil && len(r.b) > 0 {
		id := r.byte()
		sec := reader{b: r.bytes(int(r.u32()))}
		switch id {
		case 2: // import
			for n := sec.u32(); n > 0 && sec.err == nil; n-- {
				sec.name()
				sec.name()
				kind := sec.byte()
				if kind != 0 {
					sec.err = fmt.Errorf("import kind %d: only function imports are expected", kind)
				}
				sec.u32()
				imports++
			}
		case 10: // code
			for n := sec.u32(); n > 0 && sec.err == nil; n-- {
				size := int(sec.u32())
				sec.bytes(size)
				bodies = append(bodies, size)
			}
		case 0: // custom
			if sec.name() == "name" {
				readNames(&sec, names)
			}
		}
		if sec.err != nil {
			return nil, fmt.Errorf("section %d: %w", id, sec.err)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(names) == 0 {
		return nil, errors.New("no function names: build without -ldflags=-s")
	}
	out := make([]function, len(bodies))
	for i, size := range bodies {
		out[i] = function{names[uint32(imports+i)], size}
	}
	return out, nil
}

// readNames fills names from the name section's function-names subsection.
func readNames(r *reader, names map[uint32]string) {
	for r.err == nil && len(r.b) > 0 {
		id := r.byte()
		sub := reader{b: r.bytes(int(r.u32()))}
		if id != 1 {
			continue
		}
		for n := sub.u32(); n > 0 && sub.err == nil; n-- {
			idx := sub.u32()
			names[idx] = sub.name()
		}
		r.err = sub.err
	}
}

// packages maps Go import paths as the linker writes them into the name
// section (every byte but letters, digits, '_' and '.' becomes '_':
// "github.com/tidwall/gjson" is "github.com_tidwall_gjson") back to the
// paths themselves.
type packages map[string]string

func newPackages(paths []string) packages {
	p := packages{}
	for _, path := range paths {
		p[nameRegexp.ReplaceAllString(path, "_")] = path
	}
	return p
}

var nameRegexp = regexp.MustCompile(`[^\w.]`)

// of is the import path of the package a function belongs to: the longest
// known package whose name, followed by '.', starts the function's name.
// Names no package claims (the compiler's "type:.eq" helpers) are cut at
// their first '.'.
func (p packages) of(fn string) string {
	best := ""
	for i := strings.IndexByte(fn, '.'); i >= 0; {
		if path, ok := p[fn[:i]]; ok {
			best = path
		}
		j := strings.IndexByte(fn[i+1:], '.')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	if best == "" {
		best, _, _ = strings.Cut(fn, ".")
	}
	return best
}

// reader decodes the binary format; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) byte() byte {
	if r.err == nil && len(r.b) == 0 {
		r.err = errors.New("unexpected end")
	}
	if r.err != nil {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) bytes(n int) []byte {
	if r.err == nil && (n < 0 || n > len(r.b)) {
		r.err = fmt.Errorf("length %d past the end", n)
	}
	if r.err != nil {
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

func (r *reader) u32() uint32 {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		v |= uint32(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	if r.err == nil {
		r.err = errors.New("LEB128 longer than 32 bits")
	}
	return 0
}

func (r *reader) name() string { return string(r.bytes(int(r.u32()))) }
