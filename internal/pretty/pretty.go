// Package pretty formats JSON for gjson's @pretty and @ugly modifiers. It
// stands in for github.com/tidwall/pretty (go.mod's replace) with the three
// names gjson calls: that package sorts keys with encoding/json, which the
// plugin would otherwise link (with reflect, about 550 KB of the module)
// for a modifier only an operator's expect or observe path would name.
//
// Output follows pretty's layout: one member per line, arrays on one line
// when they fit Width, ", " and ": " separators, a final newline. It
// differs in that SortKeys keeps duplicate keys in their order (pretty
// orders them by value). Input that is not JSON gets what can be laid out
// of it, never a failure.
package pretty

// Options is how PrettyOptions lays out JSON.
type Options struct {
	Width    int    // widest line an array is kept on one line for
	Prefix   string // written before every line
	Indent   string // one nesting level
	SortKeys bool   // object members in key order
}

// DefaultOptions is what Pretty uses.
var DefaultOptions = &Options{Width: 80, Indent: "  "}

// Pretty lays out json with DefaultOptions.
func Pretty(json []byte) []byte { return PrettyOptions(json, nil) }

// PrettyOptions lays out json with opts (nil: DefaultOptions).
func PrettyOptions(json []byte, opts *Options) []byte {
	if opts == nil {
		opts = DefaultOptions
	}
	v, _ := parse(json, 0)
	if v == nil {
		return nil
	}
	p := printer{opts: opts, buf: append(make([]byte, 0, len(json)*2), opts.Prefix...)}
	p.value(v, 0, false)
	return append(p.buf, '\n')
}

// Ugly removes the whitespace outside strings.
func Ugly(json []byte) []byte {
	out := make([]byte, 0, len(json))
	in := false
	for i := 0; i < len(json); i++ {
		c := json[i]
		switch {
		case in && c == '\\' && i+1 < len(json):
			out = append(out, c, json[i+1])
			i++
			continue
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			continue
		}
		out = append(out, c)
	}
	return out
}

// node is one parsed value: a scalar's bytes, or an object's or array's
// children (an object's are key, value, key, value...).
type node struct {
	open byte // '{', '[' or 0 for a scalar
	raw  []byte
	kids []*node
}

// parse reads the value at json[i:], skipping whitespace around it.
func parse(json []byte, i int) (*node, int) {
	i = space(json, i)
	if i >= len(json) {
		return nil, i
	}
	switch c := json[i]; c {
	case '{', '[':
		n := &node{open: c}
		i++
		for {
			i = space(json, i)
			if i >= len(json) {
				return n, i
			}
			switch json[i] {
			case '}', ']':
				return n, i + 1
			case ',', ':':
				i++
				continue
			}
			var k *node
			if k, i = parse(json, i); k == nil {
				return n, i
			}
			n.kids = append(n.kids, k)
		}
	case '"':
		j := i + 1
		for j < len(json) && json[j] != '"' {
			if json[j] == '\\' {
				j++
			}
			j++
		}
		j = min(j+1, len(json))
		return &node{raw: json[i:j]}, j
	default:
		j := i
		for j < len(json) && !stop(json[j]) {
			j++
		}
		return &node{raw: json[i:j]}, j
	}
}

func space(json []byte, i int) int {
	for i < len(json) && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r') {
		i++
	}
	return i
}

func stop(c byte) bool {
	return c == ',' || c == ':' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

type printer struct {
	opts *Options
	buf  []byte
}

func (p *printer) value(n *node, depth int, tight bool) {
	switch {
	case n.open == 0:
		p.add(n.raw...)
	case len(n.kids) == 0:
		p.add(n.open, n.open+2) // '{'+2 is '}', '['+2 is ']'
	case n.open == '[':
		p.array(n, depth, tight)
	default:
		p.object(n, depth)
	}
}

// array keeps n on one line when that line fits Width. As in pretty, an
// object member's or an array's first element's line must end one column
// short of it (tight).
func (p *printer) array(n *node, depth int, tight bool) {
	room := p.room()
	if tight {
		room--
	}
	if room > 3 {
		if line := p.line(n); line != nil && len(line) <= room {
			p.add(line...)
			return
		}
	}
	p.add('[')
	for i, k := range n.kids {
		p.newline(depth+1, i > 0)
		p.value(k, depth+1, i == 0)
	}
	p.newline(depth, false)
	p.add(']')
}

// line is n on one line, or nil if n holds an object, even an empty one.
func (p *printer) line(n *node) []byte {
	switch n.open {
	case 0:
		return n.raw
	case '{':
		return nil
	}
	out := []byte{n.open}
	for i, k := range n.kids {
		if i > 0 {
			out = append(out, ',', ' ')
		}
		s := p.line(k)
		if s == nil {
			return nil
		}
		out = append(out, s...)
	}
	return append(out, n.open+2)
}

// room is how many bytes the current line has left before Width.
func (p *printer) room() int {
	for i := len(p.buf) - 1; i >= 0; i-- {
		if p.buf[i] == '\n' {
			return p.opts.Width - (len(p.buf) - i - 1)
		}
	}
	return p.opts.Width - len(p.buf)
}

func (p *printer) object(n *node, depth int) {
	kv := n.kids // key, value, key, value...
	if p.opts.SortKeys {
		kv = sortedPairs(kv)
	}
	p.add('{')
	for i := 0; i+1 < len(kv); i += 2 {
		p.newline(depth+1, i > 0)
		p.add(kv[i].raw...)
		p.add(':', ' ')
		p.value(kv[i+1], depth+1, true)
	}
	p.newline(depth, false)
	p.add('}')
}

// sortedPairs orders key-value pairs by the keys' text, keeping equal keys
// in their order (an insertion sort: objects are small, and package sort
// would cost the module more than this).
func sortedPairs(kv []*node) []*node {
	kv = append([]*node(nil), kv[:len(kv)&^1]...)
	for i := 2; i < len(kv); i += 2 {
		for j := i; j > 0 && string(unquote(kv[j].raw)) < string(unquote(kv[j-2].raw)); j -= 2 {
			kv[j], kv[j+1], kv[j-2], kv[j-1] = kv[j-2], kv[j-1], kv[j], kv[j+1]
		}
	}
	return kv
}

// add appends to the output. Not inlined: each inlined append costs the
// module more code than the call.
//
//go:noinline
func (p *printer) add(b ...byte) { p.buf = append(p.buf, b...) }

// newline ends a line (after a comma if more follows) and indents the next.
func (p *printer) newline(depth int, comma bool) {
	if comma {
		p.add(',')
	}
	p.add('\n')
	p.buf = append(p.buf, p.opts.Prefix...)
	for range depth {
		p.buf = append(p.buf, p.opts.Indent...)
	}
}
