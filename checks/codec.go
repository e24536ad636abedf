package checks

import (
	"encoding/binary"
	"errors"
	"math"
	"unsafe"
)

// The shared-state records (docs/design.md, "The state codec"). Keys carry
// the protocol's major version (protocolVersion): a build that changes a
// layout incompatibly takes new keys and starts from empty state beside
// the old build. Within a major version, a newer build may only append
// fields to a record's fixed part: a reader reads the fields it knows and
// skips the rest, so an older and a newer build overlapping in one proxy
// during an upgrade share every result.
//
//	proxy record   8 bytes: fixed length, flags, reserved
//	instances      8 bytes: fixed length, flags, reserved, live instances (u32)
//	check record   fixed part (its length in byte 0: 76 bytes, then the transitions (u32) and the history,
//	               at most 255 in all),
//	               then the message (at most 255 bytes): at most 510 bytes
//	summary        16 bytes: summary version, flags, aggregate, reason, check count (u16), refreshed-at (i64),
//	               the snapshot's digest (u16; 0 from builds before the snapshot, which left it reserved)
//	snapshot       see snapshot.go
//
// A configuration's summary is computed from the proxy record and its
// checks' records at every write (Summarize): a probe answers from its 16
// bytes of shared data however many checks there are.
const (
	protocolVersion = 3 // in every key: 3 keyed state by check identity
	summaryVersion  = 3
	proxySize       = 8
	instancesSize   = 8
	checkFixed      = 76
	maxMessage      = 255
)

// Proxy record flags.
const (
	proxyStarted = 1 << iota
	proxyDraining
	proxyReadyOnce
)

// Summary flags.
const (
	flagStarted = 1 << iota
	flagDraining
	flagReady
)

// Check record flags.
const (
	checkEverUp = 1 << iota
	checkHasObserved
	checkGrace
)

var reasonCodes = []string{"", ReasonStarting, ReasonDraining, ReasonDependencies}

// SummarySize is the length of a configuration's summary.
const SummarySize = 16

// ErrCorrupt is a record this build cannot read.
var ErrCorrupt = errors.New("state record is corrupt")

// EncodeProxy writes the proxy-wide record.
func EncodeProxy(p Proxy) []byte {
	b := make([]byte, proxySize)
	b[0] = proxySize
	b[1] = flags(p.Started, proxyStarted) | flags(p.Draining, proxyDraining) | flags(p.ReadyOnce, proxyReadyOnce)
	return b
}

// DecodeProxy reads a proxy record of this or a newer build.
func DecodeProxy(b []byte) (Proxy, error) {
	if len(b) < proxySize || int(b[0]) < proxySize || int(b[0]) != len(b) {
		return Proxy{}, ErrCorrupt
	}
	return Proxy{Started: b[1]&proxyStarted != 0, Draining: b[1]&proxyDraining != 0, ReadyOnce: b[1]&proxyReadyOnce != 0}, nil
}

// EncodeInstances writes a configuration's instances record.
func EncodeInstances(in Instances) []byte {
	b := make([]byte, instancesSize)
	b[0] = instancesSize
	b[1] = flags(in.Teardown, 1)
	binary.BigEndian.PutUint32(b[4:], in.Live)
	return b
}

// DecodeInstances reads an instances record of this or a newer build.
func DecodeInstances(b []byte) (Instances, error) {
	if len(b) < instancesSize || int(b[0]) < instancesSize || int(b[0]) != len(b) {
		return Instances{}, ErrCorrupt
	}
	return Instances{Teardown: b[1]&1 != 0, Live: binary.BigEndian.Uint32(b[4:])}, nil
}

// EncodeCheck writes one check's record.
func EncodeCheck(cs *CheckState) []byte {
	msg := clipTo(cs.Message, maxMessage)
	b := make([]byte, checkFixed, 255+len(msg))
	b[1] = byte(cs.Status)
	b[2] = flags(cs.EverUp, checkEverUp) | flags(cs.HasObserved, checkHasObserved) | flags(cs.Grace, checkGrace)
	binary.BigEndian.PutUint16(b[3:], cs.ConsecFail)
	binary.BigEndian.PutUint16(b[5:], cs.ConsecOK)
	binary.BigEndian.PutUint32(b[7:], cs.LatencyMs)
	binary.BigEndian.PutUint64(b[11:], uint64(cs.CheckedAt))
	binary.BigEndian.PutUint64(b[19:], uint64(cs.LastOK))
	binary.BigEndian.PutUint64(b[27:], uint64(cs.ChangedAt))
	binary.BigEndian.PutUint64(b[35:], uint64(cs.NextDue))
	binary.BigEndian.PutUint64(b[43:], cs.Runs)
	binary.BigEndian.PutUint64(b[51:], cs.Fails)
	binary.BigEndian.PutUint64(b[59:], math.Float64bits(cs.Observed))
	b[67] = byte(len(msg))
	binary.BigEndian.PutUint64(b[68:], uint64(cs.ClaimedAt))
	b = binary.BigEndian.AppendUint32(b, cs.Transitions)
	b = appendHistory(b, cs.History)
	b[0] = byte(len(b)) // the fixed part, history included
	return append(b, msg...)
}

// DecodeCheck reads a check record of this or a newer build (whose fixed
// part may be longer: the fields this build does not know are skipped).
func DecodeCheck(b []byte) (cs CheckState, err error) {
	return cs, decodeCheck(b, &cs, false)
}

// decodeCheck is DecodeCheck into cs, which it leaves as it was on error.
// With alias, the message shares b's bytes instead of copying them: only
// for a b that is never changed afterwards (a value just read from shared
// data), which spares a document one allocation per check.
func decodeCheck(b []byte, cs *CheckState, alias bool) error {
	if len(b) < checkFixed || int(b[0]) < checkFixed || int(b[0]) > len(b) || b[1] > byte(StatusDown) {
		return ErrCorrupt
	}
	if fixed := int(b[0]); len(b) != fixed+int(b[67]) {
		return ErrCorrupt
	}
	*cs = CheckState{
		Status:      Status(b[1]),
		EverUp:      b[2]&checkEverUp != 0,
		HasObserved: b[2]&checkHasObserved != 0,
		Grace:       b[2]&checkGrace != 0,
		ConsecFail:  binary.BigEndian.Uint16(b[3:]),
		ConsecOK:    binary.BigEndian.Uint16(b[5:]),
		LatencyMs:   binary.BigEndian.Uint32(b[7:]),
		CheckedAt:   int64(binary.BigEndian.Uint64(b[11:])),
		LastOK:      int64(binary.BigEndian.Uint64(b[19:])),
		ChangedAt:   int64(binary.BigEndian.Uint64(b[27:])),
		NextDue:     int64(binary.BigEndian.Uint64(b[35:])),
		Runs:        binary.BigEndian.Uint64(b[43:]),
		Fails:       binary.BigEndian.Uint64(b[51:]),
		Observed:    math.Float64frombits(binary.BigEndian.Uint64(b[59:])),
		ClaimedAt:   int64(binary.BigEndian.Uint64(b[68:])),
		Message:     message(b[int(b[0]):], alias),
	}
	if fixed := int(b[0]); fixed >= checkFixed+4 { // a build from before the history wrote neither
		cs.Transitions = binary.BigEndian.Uint32(b[checkFixed:])
		h, err := decodeHistory(b[checkFixed+4 : fixed])
		cs.History = h
		return err
	}
	return nil
}

// message is m as a string, sharing m's bytes if alias.
func message(m []byte, alias bool) string {
	if alias && len(m) > 0 {
		return unsafe.String(&m[0], len(m))
	}
	return string(m)
}

// flags is bit if on, else 0.
func flags(on bool, bit byte) byte {
	if on {
		return bit
	}
	return 0
}

// EncodeSummary writes the readiness summary of s for c.
func EncodeSummary(c *Config, s *State) []byte {
	b := make([]byte, SummarySize)
	b[0] = summaryVersion
	sum := s.Summary(c)
	b[1] = flags(sum.Started, flagStarted) | flags(sum.Draining, flagDraining) | flags(sum.Ready, flagReady)
	b[2] = byte(sum.Aggregate)
	for i, r := range reasonCodes {
		if r == sum.Reason {
			b[3] = byte(i)
		}
	}
	binary.BigEndian.PutUint16(b[4:], uint16(len(c.Checks)))
	binary.BigEndian.PutUint64(b[6:], uint64(s.RefreshedAt()))
	return b
}

// validSummary: a summary of this version for c's number of checks.
func validSummary(c *Config, b []byte) bool {
	return len(b) == SummarySize && b[0] == summaryVersion && int(binary.BigEndian.Uint16(b[4:])) == len(c.Checks)
}

// Summary is the readiness picture from a configuration's summary alone.
type Summary struct {
	Started, Draining, Ready bool
	Reason                   string
	Aggregate                Aggregate
}

// readRefreshedAt reads when a configuration's checks last took a result,
// allocating nothing.
func readRefreshedAt(c *Config, b []byte) (int64, bool) {
	if !validSummary(c, b) {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(b[6:])), true
}

// Summary computes the readiness picture of a state.
func (s *State) Summary(c *Config) Summary {
	ready, why := s.Ready(c)
	return Summary{Started: s.Started, Draining: s.Draining || s.Teardown, Ready: ready, Reason: why, Aggregate: s.Aggregate(c)}
}

// readiness is what a probe answers from shared data: the summary if this
// build can read it (16 bytes, nothing decoded), else the state itself,
// which load reads.
func readiness(c *Config, summary []byte, load func() *State) Summary {
	if s, ok := readSummary(c, summary); ok {
		return s
	}
	return load().Summary(c)
}

// readSummary reads a summary written for c, allocating nothing.
func readSummary(c *Config, b []byte) (Summary, bool) {
	if !validSummary(c, b) || int(b[3]) >= len(reasonCodes) || b[2] > byte(AggUnknown) ||
		b[1]&flagReady == 0 && b[3] == 0 { // not ready needs a reason
		return Summary{}, false
	}
	return Summary{Started: b[1]&flagStarted != 0, Draining: b[1]&flagDraining != 0, Ready: b[1]&flagReady != 0,
		Reason: reasonCodes[b[3]], Aggregate: Aggregate(b[2])}, true
}
