package checks

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// The snapshot: every record a document lists, in one shared-data value,
// so that /dependencies, /metrics and the status page read three values
// (summary, snapshot, proxy record) instead of one per check. Summarize
// writes it right after the summary it was computed with, and the summary
// names it by a digest of its bytes (summary bytes 14–15; never 0). A
// reader trusts a snapshot only when its digest is the one the summary
// names: one whose content differs (a build from before the snapshot wrote
// the summary, two writers crossed, the value is corrupt) sends it to the
// records, as it always could. A snapshot with the same content as the one
// named is as good as it, whoever wrote it.
//
//	snapshot   version, flags (teardown), check count (u16),
//	           then per check: record length (u16), the check record
//
// The proxy record is read fresh beside it: it is shared by every
// configuration, and a drain set under one must show in the others'
// documents at once.
const (
	snapshotVersion = 1
	snapshotFixed   = 4
	snapTeardown    = 1
)

// digest names a snapshot in 16 bits, never 0 (builds before the snapshot
// leave 0 in the summary). Only a reader relies on it: a writer, which has
// the snapshot in hand, compares bytes. So a stale snapshot passes for the
// current one only when two writers crossed and their snapshots' digests
// collide (about once in 65,535 crossings), and only until the next write.
func digest(b []byte) uint16 {
	h := uint64(14695981039346656037) // FNV-1a's offset, eight bytes a round
	for ; len(b) >= 8; b = b[8:] {
		h = (h ^ binary.LittleEndian.Uint64(b)) * 1099511628211
	}
	for _, c := range b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	h ^= h >> 32
	if d := uint16(h ^ h>>16); d != 0 {
		return d
	}
	return 1
}

// named is the snapshot digest a summary written for c names; 0 when it
// names none or is not a summary this build reads.
func named(c *Config, summary []byte) uint16 {
	if !validSummary(c, summary) {
		return 0
	}
	return binary.BigEndian.Uint16(summary[14:])
}

// encodeSnapshot writes the checks and teardown of s.
func encodeSnapshot(s *State) []byte {
	b := make([]byte, snapshotFixed, snapshotFixed+len(s.Checks)*(2+checkFixed))
	b[0] = snapshotVersion
	b[1] = flags(s.Teardown, snapTeardown)
	binary.BigEndian.PutUint16(b[2:], uint16(len(s.Checks)))
	for i := range s.Checks {
		rec := EncodeCheck(&s.Checks[i])
		b = binary.BigEndian.AppendUint16(b, uint16(len(rec)))
		b = append(b, rec...)
	}
	return b
}

// decodeSnapshot reads a snapshot written for c's checks.
func decodeSnapshot(c *Config, b []byte) (s *State, ok bool) {
	if len(b) < snapshotFixed || b[0] != snapshotVersion || int(binary.BigEndian.Uint16(b[2:])) != len(c.Checks) {
		return nil, false
	}
	s = &State{Teardown: b[1]&snapTeardown != 0, Checks: make([]CheckState, len(c.Checks))}
	rest := b[snapshotFixed:]
	for i := range s.Checks {
		if len(rest) < 2 {
			return nil, false
		}
		n := int(binary.BigEndian.Uint16(rest))
		if len(rest) < 2+n {
			return nil, false
		}
		if decodeCheck(rest[2:2+n], &s.Checks[i], true) != nil { // b is the reader's own copy
			return nil, false
		}
		rest = rest[2+n:]
	}
	return s, len(rest) == 0
}

// writeSnapshot stores snap, whose digest the summary just written names,
// by CAS: not when the stored one already holds these bytes, and not at
// all once another summary has landed, whose writer stores its own.
// Readers check the digest, so a snapshot that loses here costs them only
// the records' read until the next write or tick.
func writeSnapshot(st Store, k Keys, c *Config, snap []byte, d uint16) error {
	for range maxCASAttempts {
		b, cas, err := st.Get(k.Snapshot)
		switch {
		case errors.Is(err, ErrNotFound):
			// As in update: never write with token 0 over a rival's write.
			if err := createIfAbsent(st, k.Snapshot, nil); err != nil {
				return err
			}
			continue
		case err != nil:
			return err
		case bytes.Equal(b, snap):
			return nil
		}
		sum, _, err := st.Get(k.Summary)
		if err != nil || named(c, sum) != d {
			return err
		}
		if err := st.Set(k.Snapshot, snap, cas); !errors.Is(err, ErrCASMismatch) {
			return err
		}
	}
	return ErrContended
}

// snapshotHolds reports whether the stored snapshot is snap, byte for byte.
func snapshotHolds(st Store, k Keys, snap []byte) bool {
	b, _, err := st.Get(k.Snapshot)
	return err == nil && bytes.Equal(b, snap)
}

// readState is the state a document shows: from the snapshot the
// configuration's summary names and the proxy record, or, when there is no
// such snapshot, from the records (Load).
func readState(st Store, k Keys, c *Config) (s *State, corrupt bool, err error) {
	sum, _, err := st.Get(k.Summary)
	if d := named(c, sum); err == nil && d != 0 {
		if b, _, err := st.Get(k.Snapshot); err == nil && digest(b) == d {
			if s, ok := decodeSnapshot(c, b); ok {
				s.Proxy, corrupt, err = read(st, k.Proxy, DecodeProxy)
				s.Latch(c)
				return s, corrupt, err
			}
		}
	}
	return Load(st, k, c)
}
