package checks

import (
	"encoding/binary"
	"unicode/utf8"
)

// Transition is one change of a check's status: its first decision (from
// unknown, which also ends a grace) or a flip between up and down.
type Transition struct {
	At        int64 // unix ms, kept to the second
	From, To  Status
	LatencyMs uint32 // of the result that decided it, kept up to 65,535
	Message   string // that result's message, our own and redacted
}

// maxHistory is how many transitions a check keeps, the newest last.
const maxHistory = 8

// The history is appended to the check record's fixed part, after the
// transitions count, so a build that does not know it skips it, and it must fit there: the fixed part's
// length is one byte. After its count, each transition takes 8 bytes
// (second u32, from and to, latency u16, message length), then the
// messages, the newest first, share what is left of the 255 bytes: each
// at most historyMessage, an older one cut or dropped when they do not fit.
const (
	historyEntry   = 8
	historyMessage = 32
)

// note counts transition t and keeps it, dropping the oldest past
// maxHistory.
func (cs *CheckState) note(t Transition) {
	cs.Transitions++
	if len(cs.History) == maxHistory {
		cs.History = append(cs.History[:0], cs.History[1:]...)
	}
	cs.History = append(cs.History, t)
}

// appendHistory writes h (at most maxHistory) after a fixed part of
// len(b) bytes, within the 255 bytes a fixed part may have.
func appendHistory(b []byte, h []Transition) []byte {
	b = append(b, byte(len(h)))
	var lens [maxHistory]int
	budget := 255 - len(b) - historyEntry*len(h)
	for i := len(h) - 1; i >= 0; i-- { // the newest first
		lens[i] = len(clipTo(h[i].Message, min(historyMessage, budget)))
		budget -= lens[i]
	}
	for i, t := range h {
		b = binary.BigEndian.AppendUint32(b, uint32(max(t.At/1000, 0)))
		b = append(b, byte(t.From)<<4|byte(t.To))
		b = binary.BigEndian.AppendUint16(b, uint16(min(t.LatencyMs, 1<<16-1)))
		b = append(b, byte(lens[i]))
	}
	for i, t := range h {
		b = append(b, t.Message[:lens[i]]...)
	}
	return b
}

// decodeHistory reads a history written by appendHistory at the start of
// b; what follows it is a newer build's and is skipped.
func decodeHistory(b []byte) ([]Transition, error) {
	if len(b) == 0 {
		return nil, nil // a build from before the history
	}
	n := int(b[0])
	if n > maxHistory || len(b) < 1+historyEntry*n {
		return nil, ErrCorrupt
	}
	entries, msgs := b[1:], b[1+historyEntry*n:]
	if n == 0 {
		return nil, nil
	}
	h := make([]Transition, n)
	for i := range h {
		e := entries[historyEntry*i:]
		from, to, l := Status(e[4]>>4), Status(e[4]&15), int(e[7])
		if from > StatusDown || to > StatusDown || len(msgs) < l {
			return nil, ErrCorrupt
		}
		h[i] = Transition{At: int64(binary.BigEndian.Uint32(e)) * 1000, From: from, To: to,
			LatencyMs: uint32(binary.BigEndian.Uint16(e[5:])), Message: string(msgs[:l])}
		msgs = msgs[l:]
	}
	return h, nil
}

// clipTo bounds m to n bytes on a rune boundary.
func clipTo(m string, n int) string {
	if len(m) <= n {
		return m
	}
	m = m[:max(n, 0)]
	for len(m) > 0 && !utf8.ValidString(m) {
		m = m[:len(m)-1]
	}
	return m
}
