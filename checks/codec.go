package checks

import (
	"encoding/binary"
	"errors"
	"math"
	"unicode/utf8"
)

// The state record in shared data:
//
//	header  16 bytes: version, flags, aggregate, reason, check count (u16), refreshed-at (unix ms, i64), write sequence (u16)
//	records 68 bytes per check, in configuration order (fixed size, so any one is found by offset)
//	messages, each as long as its record says (at most 255 bytes)
//
// The header carries the readiness summary computed at write time, and every
// write mirrors it under its own key (SummaryKey), so a probe answers from
// 16 bytes of shared data however many checks there are.
const (
	codecVersion = 2 // 2 added ChangedAt; a record of another version reads as empty
	recordSize   = 68
	maxMessage   = 255
)

const (
	flagStarted = 1 << iota
	flagDraining
	flagReady
	flagTeardown
)

var reasonCodes = []string{"", ReasonStarting, ReasonDraining, ReasonDependencies}

// HeaderSize is the length of a record's header, which SummaryKey mirrors.
const HeaderSize = 16

// ErrCorrupt is a record that cannot be this configuration's state.
var ErrCorrupt = errors.New("state record is corrupt or from another configuration")

// Encode writes the state record, with the summary computed for c.
func Encode(c *Config, s *State) []byte {
	size := HeaderSize + recordSize*len(s.Checks)
	for i := range s.Checks {
		size += len(clipMessage(s.Checks[i].Message))
	}
	b := make([]byte, HeaderSize, size)
	b[0] = codecVersion
	ready, why := s.Ready(c)
	if s.Started {
		b[1] |= flagStarted
	}
	if s.Draining {
		b[1] |= flagDraining
	}
	if ready {
		b[1] |= flagReady
	}
	if s.Teardown {
		b[1] |= flagTeardown
	}
	b[2] = byte(s.Aggregate(c))
	for i, r := range reasonCodes {
		if r == why {
			b[3] = byte(i)
		}
	}
	binary.BigEndian.PutUint16(b[4:], uint16(len(s.Checks)))
	binary.BigEndian.PutUint64(b[6:], uint64(s.RefreshedAt))
	binary.BigEndian.PutUint16(b[14:], s.Seq)
	for i := range s.Checks {
		cs := &s.Checks[i]
		var r [recordSize]byte
		r[0] = byte(cs.Status)
		if cs.EverUp {
			r[1] |= 1
		}
		if cs.HasObs {
			r[1] |= 2
		}
		binary.BigEndian.PutUint16(r[2:], cs.ConsecFail)
		binary.BigEndian.PutUint16(r[4:], cs.ConsecOK)
		binary.BigEndian.PutUint32(r[6:], cs.LatencyMs)
		binary.BigEndian.PutUint64(r[10:], uint64(cs.CheckedAt))
		binary.BigEndian.PutUint64(r[18:], uint64(cs.LastOK))
		binary.BigEndian.PutUint64(r[26:], uint64(cs.NextDue))
		binary.BigEndian.PutUint64(r[34:], cs.Runs)
		binary.BigEndian.PutUint64(r[42:], cs.Fails)
		binary.BigEndian.PutUint64(r[50:], math.Float64bits(cs.Observed))
		r[58] = byte(len(clipMessage(cs.Message)))
		binary.BigEndian.PutUint64(r[59:], uint64(cs.ChangedAt))
		b = append(b, r[:]...)
	}
	for i := range s.Checks {
		b = append(b, clipMessage(s.Checks[i].Message)...)
	}
	return b
}

// clipMessage bounds a message to maxMessage bytes on a rune boundary.
func clipMessage(m string) string {
	if len(m) <= maxMessage {
		return m
	}
	m = m[:maxMessage]
	for len(m) > 0 && !utf8.ValidString(m) {
		m = m[:len(m)-1]
	}
	return m
}

// validHeader: a record (or its mirrored header) of this codec version for
// c's number of checks.
func validHeader(c *Config, b []byte) bool {
	return len(b) >= HeaderSize && b[0] == codecVersion && int(binary.BigEndian.Uint16(b[4:])) == len(c.Checks)
}

// Decode reads a state record written for c. Anything that is not exactly
// such a record is ErrCorrupt; the caller then starts from NewState.
func Decode(c *Config, b []byte) (*State, error) {
	if !validHeader(c, b) {
		return nil, ErrCorrupt
	}
	n := len(c.Checks)
	if len(b) < HeaderSize+recordSize*n {
		return nil, ErrCorrupt
	}
	s := &State{Started: b[1]&flagStarted != 0, Draining: b[1]&flagDraining != 0, Teardown: b[1]&flagTeardown != 0,
		RefreshedAt: int64(binary.BigEndian.Uint64(b[6:])), Seq: binary.BigEndian.Uint16(b[14:]), Checks: make([]CheckState, n)}
	msgs := b[HeaderSize+recordSize*n:]
	for i := range s.Checks {
		r := b[HeaderSize+recordSize*i:]
		cs := &s.Checks[i]
		if r[0] > byte(StatusDown) {
			return nil, ErrCorrupt
		}
		cs.Status = Status(r[0])
		cs.EverUp, cs.HasObs = r[1]&1 != 0, r[1]&2 != 0
		cs.ConsecFail = binary.BigEndian.Uint16(r[2:])
		cs.ConsecOK = binary.BigEndian.Uint16(r[4:])
		cs.LatencyMs = binary.BigEndian.Uint32(r[6:])
		cs.CheckedAt = int64(binary.BigEndian.Uint64(r[10:]))
		cs.LastOK = int64(binary.BigEndian.Uint64(r[18:]))
		cs.NextDue = int64(binary.BigEndian.Uint64(r[26:]))
		cs.Runs = binary.BigEndian.Uint64(r[34:])
		cs.Fails = binary.BigEndian.Uint64(r[42:])
		cs.Observed = math.Float64frombits(binary.BigEndian.Uint64(r[50:]))
		cs.ChangedAt = int64(binary.BigEndian.Uint64(r[59:]))
		l := int(r[58])
		if l > len(msgs) {
			return nil, ErrCorrupt
		}
		cs.Message, msgs = string(msgs[:l]), msgs[l:]
	}
	if len(msgs) != 0 {
		return nil, ErrCorrupt
	}
	return s, nil
}

// Summary is the readiness picture from a record's header alone.
type Summary struct {
	Started, Draining, Ready bool
	Reason                   string
	Aggregate                Aggregate
}

// ReadRefreshedAt reads when a record last took a result, allocating nothing.
func ReadRefreshedAt(c *Config, b []byte) (int64, bool) {
	if !validHeader(c, b) {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(b[6:])), true
}

// Summary computes the readiness picture of a decoded state.
func (s *State) Summary(c *Config) Summary {
	ready, why := s.Ready(c)
	return Summary{Started: s.Started, Draining: s.Draining || s.Teardown, Ready: ready, Reason: why, Aggregate: s.Aggregate(c)}
}

// Readiness is what a probe answers from shared data: the summary mirror
// if this build can read it (16 bytes, nothing decoded), else the whole
// record, which load reads. The mirror is a copy of the record's header
// as every write leaves it (see mirrorSummary): from the next write after
// any corruption on, the two agree.
func Readiness(c *Config, mirror []byte, load func() *State) Summary {
	if s, ok := ReadSummary(c, mirror); ok {
		return s
	}
	return load().Summary(c)
}

// ReadSummary reads the header of a record written for c, allocating nothing.
func ReadSummary(c *Config, b []byte) (Summary, bool) {
	if !validHeader(c, b) || int(b[3]) >= len(reasonCodes) || b[2] > byte(AggUnknown) ||
		b[1]&flagReady == 0 && b[3] == 0 { // not ready needs a reason
		return Summary{}, false
	}
	return Summary{Started: b[1]&flagStarted != 0, Draining: b[1]&(flagDraining|flagTeardown) != 0, Ready: b[1]&flagReady != 0,
		Reason: reasonCodes[b[3]], Aggregate: Aggregate(b[2])}, true
}
