package checks

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Header values are secrets (Check.Headers), and a dependency may echo one
// back ("key S3CRET rejected") in the very value an expectation quotes. So
// every message is redacted against Secrets before it leaves this package:
// Config.Evaluate and Config.Refused are the only makers of an Outcome, and
// both redact it; the one function that quotes a dependency's value,
// Secrets.excerpt, cannot be called without them.
//
// The rules, and why:
//
//   - Secrets are the header values of every check, not only the one that
//     ran: a gateway or a shared backend may echo what another check sent,
//     and every message lands on the same pages and log.
//   - Matching ignores case (Unicode simple folding): error texts are often
//     upper- or lower-cased. Redacting a little too much only hides a little
//     more of the dependency's text.
//   - A secret of secretMinRunes runes or more is redacted wherever any run of
//     min(secretRunRunes, its length) runes of it appears, so a partial echo
//     ("S3CRET-val…", a dependency that truncates or masks a key) is caught
//     too; overlapping and adjacent runs become one redactedMark.
//   - In a dependency's value the runs are found on the whole value before it
//     is cut to its excerpt: a secret that straddles the cut is redacted as a
//     whole, never shown up to the cut.
//   - A secret of 1 to secretMinRunes-1 runes ("eu", "1") cannot be told
//     apart from ordinary text, so it is not cut out of text: a dependency
//     value that contains one (ignoring case) is withheld whole (quoted as
//     redactedMark; an observed number is dropped). It is not applied to our own
//     words, which it would shred ("status 1xx"), and which never come from
//     a dependency.
//   - An empty value hides nothing.
//
// Matching is on the text as the dependency sent it (a JSON string
// unescaped), before unprintable runes become '?'.
type Secrets struct{ checks []Check }

// redactedMark replaces a secret, or a run of one, in a message.
const redactedMark = "[redacted]"

const (
	// secretMinRunes: shorter header values withhold a dependency's value
	// that contains them instead of being cut out of it.
	secretMinRunes = 4
	// secretRunRunes: a run this long of a longer secret is redacted.
	secretRunRunes = 6
	// maxScan bounds the runes of a dependency's value examined for an
	// excerpt (a 64 KiB value that is one long redacted run).
	maxScan = 256
)

// secrets is every header value of every check.
func (c *Config) secrets() Secrets { return Secrets{c.Checks} }

// each calls f with every non-empty secret and its length in runes.
func (s Secrets) each(f func(secret string, runes int)) {
	for i := range s.checks {
		for _, h := range s.checks[i].Headers {
			if n := utf8.RuneCountInString(h[1]); n > 0 {
				f(h[1], n)
			}
		}
	}
}

// foldEq reports whether two runes are equal under Unicode simple folding.
func foldEq(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	for f := unicode.SimpleFold(a); f != a; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
	}
	return false
}

// commonPrefix is how many runes (and bytes of v) v and sec share at their
// starts, ignoring case.
func commonPrefix(v, sec string) (runes, bytes int) {
	j := 0
	for bytes < len(v) && j < len(sec) {
		a, wa := utf8.DecodeRuneInString(v[bytes:])
		b, wb := utf8.DecodeRuneInString(sec[j:])
		if !foldEq(a, b) {
			break
		}
		bytes, j, runes = bytes+wa, j+wb, runes+1
	}
	return runes, bytes
}

// runAt is the length in bytes of the longest prefix of v that is a run of
// some secret of at least secretMinRunes runes (at least
// min(secretRunRunes, its length) runes of it, anywhere in it), or 0.
func (s Secrets) runAt(v string) int {
	best := 0
	s.each(func(sec string, n int) {
		if n < secretMinRunes {
			return
		}
		need := min(n, secretRunRunes)
		for j := 0; n >= need; n-- { // n: runes of sec[j:]
			if r, b := commonPrefix(v, sec[j:]); r >= need && b > best {
				best = b
			}
			_, w := utf8.DecodeRuneInString(sec[j:])
			j += w
		}
	})
	return best
}

// hasShort reports whether v contains a secret shorter than secretMinRunes
// runes, ignoring case.
func (s Secrets) hasShort(v string) bool {
	found := false
	s.each(func(sec string, n int) {
		if found || n >= secretMinRunes {
			return
		}
		for i := 0; i < len(v) && !found; {
			if r, _ := commonPrefix(v[i:], sec); r == n {
				found = true
			}
			_, w := utf8.DecodeRuneInString(v[i:])
			i += w
		}
	})
	return found
}

// scan copies v with every secret run replaced by redactedMark. With limit >= 0
// it stops after limit runes of output (a marker counting its length) and
// ends with "…" if v went on; with plain, a rune that is not printable (or
// invalid UTF-8) becomes '?'. Runs are matched on v itself, so one that
// starts before the cut is redacted whole.
func (s Secrets) scan(v string, limit int, plain bool) string {
	var b strings.Builder
	cover, inRun, scanned := 0, false, 0
	for p := 0; p < len(v); {
		if limit >= 0 && scanned == maxScan {
			b.WriteString("…")
			break
		}
		if e := p + s.runAt(v[p:]); e > cover {
			cover = e
		}
		r, w := utf8.DecodeRuneInString(v[p:])
		switch {
		case p < cover && inRun: // more of a run already marked
		case limit == 0:
			b.WriteString("…")
			return b.String()
		case p < cover:
			b.WriteString(redactedMark)
			inRun = true
			if limit > 0 {
				limit = max(limit-len(redactedMark), 0) // ASCII: bytes are runes
			}
		default:
			inRun = false
			if plain && (!unicode.IsPrint(r) || r == utf8.RuneError) { // invalid UTF-8 decodes as RuneError
				r = '?'
			}
			b.WriteRune(r)
			if limit > 0 {
				limit--
			}
		}
		p += w
		scanned++
	}
	return b.String()
}

// excerpt is how a message quotes a dependency's value: at most n printable
// runes of it (anything else becomes '?'), redacted, in Go quotes.
func (s Secrets) excerpt(v string, n int) string {
	if s.hasShort(v) {
		return strconv.Quote(redactedMark)
	}
	return strconv.Quote(s.scan(v, n, true))
}

// hides reports whether v, a dependency's text shown as it is (an observed
// number), shows any part of a secret.
func (s Secrets) hides(v string) bool {
	return s.hasShort(v) || s.scan(v, -1, false) != v
}

// redact is the last step of every message: the runs of secrets of at
// least secretMinRunes runes, wherever they come from, become redactedMark.
func (s Secrets) redact(m string) string {
	any := false
	s.each(func(_ string, n int) { any = any || n >= secretMinRunes })
	if !any {
		return m
	}
	return s.scan(m, -1, false)
}
