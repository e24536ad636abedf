package wasmshim

// rewriteExpr copies one expression (instructions up to the end that closes
// it) from r to out, passing every function index an instruction names
// through remap. Only instructions whose immediates it knows are accepted:
// an unknown opcode is an error, never a guess, because skipping the wrong
// number of bytes would corrupt the rest of the module silently.
func rewriteExpr(r *reader, out []byte, remap func(uint32) uint32) []byte {
	mark := r.pos
	depth := 0
	for {
		if r.err != nil {
			return out
		}
		op := r.byte()
		switch {
		case op == 0x02 || op == 0x03 || op == 0x04: // block, loop, if
			blockType(r)
			depth++
		case op == 0x0b: // end
			if depth == 0 {
				return append(out, r.b[mark:r.pos]...)
			}
			depth--
		case op == 0x10 || op == 0x12 || op == 0xd2: // call, return_call, ref.func
			at := r.pos
			idx := remap(r.u32())
			out = append(out, r.b[mark:at]...)
			out = appendU32(out, idx)
			mark = r.pos
		case op <= 0x01 || op == 0x05 || op == 0x0f || op == 0x1a || op == 0x1b || op == 0xd1 ||
			op >= 0x45 && op <= 0xc4:
			// unreachable, nop, else, return, drop, select, ref.is_null,
			// numeric and sign-extension operators: no immediates.
		case op == 0x0c || op == 0x0d || op >= 0x20 && op <= 0x26 || op == 0x3f || op == 0x40:
			// br, br_if, local/global/table get and set, memory.size/grow
			r.u32()
		case op == 0x0e: // br_table
			for n := r.u32(); n > 0 && r.err == nil; n-- {
				r.u32()
			}
			r.u32()
		case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect
			r.u32()
			r.u32()
		case op == 0x1c: // select t*
			for _, t := range r.bytes(int(r.u32())) {
				if t == 0x63 || t == 0x64 {
					r.fail("typed references (GC proposal) are not supported")
				}
			}
		case op >= 0x28 && op <= 0x3e: // loads and stores: memarg
			if align := r.u32(); align&0x40 != 0 {
				r.u32() // memory index (multi-memory)
			}
			r.leb(64)
		case op == 0x41:
			r.leb(32)
		case op == 0x42:
			r.leb(64)
		case op == 0x43:
			r.bytes(4)
		case op == 0x44:
			r.bytes(8)
		case op == 0xd0: // ref.null
			r.byte()
		case op == 0xfc:
			prefixed(r)
		default:
			r.fail("opcode 0x%02x is not supported", op)
		}
	}
}

func blockType(r *reader) {
	switch c := r.byte(); {
	case c == 0x40 || c >= 0x6f && c <= 0x7f:
		return // empty or a value type
	case c == 0x63 || c == 0x64:
		r.fail("typed references (GC proposal) are not supported")
		return
	}
	r.pos--
	r.leb(33) // a type index, as a signed 33-bit number
}

// prefixed skips the immediates of a 0xfc-prefixed instruction: saturating
// truncations, bulk memory and table operations.
func prefixed(r *reader) {
	switch sub := r.u32(); {
	case sub <= 7: // trunc_sat
	case sub == 8 || sub == 10 || sub == 12 || sub == 14: // memory.init, memory.copy, table.init, table.copy
		r.u32()
		r.u32()
	case sub == 9 || sub == 11 || sub == 13 || sub >= 15 && sub <= 17: // data.drop, memory.fill, elem.drop, table.grow/size/fill
		r.u32()
	default:
		r.fail("opcode 0xfc %d is not supported", sub)
	}
}
