package checks

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// The JSON field readers of the parser: each reads one field of a given
// type or refuses it with a one-line ConfigError.

// maxQuoted bounds (in runes of escaped text) what an error quotes from the
// configuration; maxErrorLine bounds the whole line.
const (
	maxQuoted    = 64
	maxErrorLine = 512
)

// short is how an error quotes a configured string (a key, a value): Go
// syntax, so a control character, a line or paragraph separator or an
// invalid byte shows as its escape and never breaks the line, cut after
// maxQuoted runes of escaped text with "…" after the closing quote.
func short(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	width := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var piece string
		if r == utf8.RuneError && size == 1 {
			piece = fmt.Sprintf(`\x%02x`, s[i])
		} else {
			q := strconv.Quote(s[i : i+size])
			piece = q[1 : len(q)-1]
		}
		if width += utf8.RuneCountInString(piece); width > maxQuoted {
			b.WriteString(`"…`)
			return b.String()
		}
		b.WriteString(piece)
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

// printable escapes every rune of s that is not printable (as short would)
// and cuts s after max runes with "…".
func printable(s string, max int) string {
	clean := utf8.RuneCountInString(s) <= max
	for _, r := range s {
		if clean && !(r == ' ' || r != utf8.RuneError && strconv.IsPrint(r)) {
			clean = false
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	width := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		piece := s[i : i+size]
		if r == utf8.RuneError && size == 1 {
			piece = fmt.Sprintf(`\x%02x`, s[i])
		} else if r != ' ' && !strconv.IsPrint(r) {
			q := strconv.Quote(piece)
			piece = q[1 : len(q)-1]
		}
		if width += utf8.RuneCountInString(piece); width > max {
			b.WriteString("…")
			break
		}
		b.WriteString(piece)
		i += size
	}
	return b.String()
}

// object checks that r, if present, is an object whose keys are all known
// (noDuplicateKeys has made sure each appears once).
func object(field string, r gjson.Result, known ...string) error {
	if !r.Exists() {
		return nil
	}
	if !r.IsObject() {
		return errf(field, "must be an object")
	}
	var err error
	r.ForEach(func(k, _ gjson.Result) bool {
		if name := k.String(); !slices.Contains(known, name) {
			err = errf(join(field, name), "unknown field")
		}
		return err == nil
	})
	return err
}

// noDuplicateKeys refuses a key that appears twice in one object, at any
// depth of the configuration (gjson reads the first of two and would
// silently drop the other), naming the object's path and the key. data is
// valid JSON; one pass over it, without recursion.
func noDuplicateKeys(data []byte) error {
	type frame struct {
		object bool
		index  int    // array: the element being read
		key    string // object: the key of the value being read
		seen   map[string]struct{}
	}
	var stack []frame
	key := false // the next string is an object key
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '{':
			stack = append(stack, frame{object: true})
			key = true
		case '[':
			stack = append(stack, frame{})
			key = false
		case '}', ']':
			stack = stack[:len(stack)-1]
			key = false
		case ':':
			key = false
		case ',':
			top := &stack[len(stack)-1]
			top.index++
			key = top.object
		case '"':
			end := i + 1
			for data[end] != '"' {
				if data[end] == '\\' {
					end++
				}
				end++
			}
			if key {
				raw := data[i : end+1]
				var k string
				if bytes.IndexByte(raw, '\\') < 0 {
					k = string(raw[1 : len(raw)-1])
				} else {
					k = gjson.ParseBytes(raw).Str
				}
				top := &stack[len(stack)-1]
				if _, dup := top.seen[k]; dup {
					field := ""
					for _, f := range stack[:len(stack)-1] {
						if f.object {
							field = join(field, f.key)
						} else {
							field = fmt.Sprintf("%s[%d]", field, f.index)
						}
					}
					return errf(join(field, k), "appears twice")
				}
				if top.seen == nil {
					top.seen = map[string]struct{}{}
				}
				top.seen[k] = struct{}{}
				top.key = k
			}
			i = end
		}
	}
	return nil
}

func join(field, name string) string {
	if field == "" {
		return quoteKey(name)
	}
	return field + "." + quoteKey(name)
}

// quoteKey shows a key bare when it is a plain word of at most maxQuoted
// characters, else quoted (escaped and bounded).
func quoteKey(k string) string {
	if k == "" || len(k) > maxQuoted {
		return short(k)
	}
	for _, ch := range k {
		if !(ch == '_' || ch == '-' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9') {
			return short(k)
		}
	}
	return k
}

// noControl refuses C0 control characters and DEL in a string that goes
// into a request (a header, the path, the gRPC body): CR or LF would split
// a header, NUL cut it.
func noControl(field, s string) error {
	if hasControl(s) {
		return errf(field, "must not contain control characters (CR, LF, NUL, other C0 or DEL): got %s", short(s))
	}
	return nil
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

func str(field string, r gjson.Result) (string, error) {
	if !r.Exists() {
		return "", nil
	}
	if r.Type != gjson.String {
		return "", errf(field, "must be a string")
	}
	return r.Str, nil
}

func boolean(field string, r gjson.Result) (bool, error) {
	switch r.Type {
	case gjson.Null:
		if r.Exists() {
			return false, errf(field, "must be true or false")
		}
		return false, nil
	case gjson.True, gjson.False:
		return r.Bool(), nil
	}
	return false, errf(field, "must be true or false")
}

// strList reads a list of strings; absent is nil.
func strList(field string, r gjson.Result) ([]string, error) {
	if !r.Exists() {
		return nil, nil
	}
	if !r.IsArray() {
		return nil, errf(field, "must be a list of strings")
	}
	var out []string
	var err error
	r.ForEach(func(_, v gjson.Result) bool {
		if v.Type != gjson.String {
			err = errf(fmt.Sprintf("%s[%d]", field, len(out)), "must be a string")
			return false
		}
		out = append(out, v.Str)
		return true
	})
	return out, err
}

// duration reads Go syntax ("500ms") or integer milliseconds; must be > 0.
func duration(field string, r gjson.Result, def time.Duration) (time.Duration, error) {
	if !r.Exists() {
		return def, nil
	}
	var d time.Duration
	switch r.Type {
	case gjson.Number:
		if r.Num != math.Trunc(r.Num) || r.Num > float64(math.MaxInt64/int64(time.Millisecond)) || r.Num < 0 {
			return 0, errf(field, "bad duration: must be a whole number of milliseconds or a string like \"2s\"")
		}
		d = time.Duration(r.Num) * time.Millisecond
	case gjson.String:
		var ok bool
		if d, ok = parseDuration(r.Str); !ok {
			return 0, errf(field, "bad duration %s: use Go syntax like \"500ms\" or \"2s\", or integer milliseconds", short(r.Str))
		}
	default:
		return 0, errf(field, "bad duration: must be a string like \"2s\" or integer milliseconds")
	}
	switch {
	case d <= 0:
		return 0, errf(field, "bad duration: must be greater than zero")
	case d < time.Millisecond:
		// The proxy counts timeouts in whole milliseconds, where 0 means none.
		return 0, errf(field, "bad duration: must be at least 1ms")
	case d > maxDuration:
		return 0, errf(field, "bad duration: must be at most %s", maxDuration)
	}
	return d, nil
}

func integer(field string, r gjson.Result, def, lo, hi int) (int, error) {
	if !r.Exists() {
		return def, nil
	}
	if r.Type != gjson.Number || r.Num != math.Trunc(r.Num) || r.Num < float64(lo) || r.Num > float64(hi) {
		return 0, errf(field, "must be a whole number from %d to %d", lo, hi)
	}
	return int(r.Num), nil
}
