package checks

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
)

// The shared-state protocol: how the worker VMs of one proxy, and every
// configuration of the plugin in it, share check results (docs/design.md,
// "Shared state"). Shared (shared.go) is a VM's side of it, and the only
// way in; this file holds the records' operations it composes, and
// snapshot.go the snapshot. Each record has its own key:
//
//   - the proxy record: the started latch, an operator's drain; shared by
//     every configuration, so it survives a change;
//   - one record per check, named by the check's identity (Check.Identity):
//     a check kept across a configuration change keeps its result, and an
//     old and a new configuration overlapping in the proxy share it;
//   - per configuration, its live instances (teardown), its readiness
//     summary (16 bytes, what a probe reads), the snapshot of its records
//     written with the summary (what a document reads) and its lease
//     (which VM looks for due checks).
//
// Every write is a compare-and-swap merge (update): read, apply, write back
// if nobody wrote in between, else again on the newer value. A merge that
// loses maxCASAttempts races returns ErrContended; a result is then queued
// and replayed each tick, in order, a check's later merges behind its
// earlier ones (Shared.Record, Shared.Flush). After a write the writer
// recomputes its configuration's summary (Summarize); the lease holder
// also does so every tick when the records changed, which carries a write
// made under another configuration into this one's summary.
//
// A check runs when a VM claims it (claim): a CAS write on its record that
// moves its next due time on, so one check per interval per proxy holds
// whatever the worker count, and across two configurations overlapping.
// The lease (acquire) only saves work: one VM per configuration reads the
// records each tick instead of every VM. Its record is owner id (u64) and
// expiry (unix ms, i64).

// Store is the proxy's shared data as the protocol needs it. The plugin
// adapts proxy-wasm shared data to it; tests use fakes that inject races.
type Store interface {
	// Get returns the value and its CAS token, or ErrNotFound.
	Get(key string) ([]byte, uint32, error)
	// Set writes if cas is still current (0: unconditionally), else ErrCASMismatch.
	Set(key string, value []byte, cas uint32) error
}

var (
	ErrNotFound    = errors.New("not found")
	ErrCASMismatch = errors.New("cas mismatch")
	// ErrContended: every attempt lost its race and nothing was written; the
	// caller still holds the update and must retry it later.
	ErrContended = errors.New("shared state update kept losing CAS races")
)

// maxCASAttempts bounds a merge loop: under Envoy's per-key lock a retry
// only loses to a writer that finished in between, so a handful suffices.
const maxCASAttempts = 16

// Keys are one plugin configuration's records in shared data.
type Keys struct {
	Proxy     string
	Checks    []string // aligned with Config.Checks
	Instances string
	Summary   string
	Snapshot  string
	Lease     string
}

// SharedKeys names the records of configuration c (whose raw bytes are
// config) of the plugin named pluginName. The protocol's major version is
// in every key, so a build with an incompatible layout never reads
// another's records. The configuration holds secrets: it is named by a
// sha256, and no key is ever logged or served.
func SharedKeys(pluginName string, c *Config, config []byte) Keys {
	base := "meshprobe/" + pluginName + "/v" + strconv.Itoa(protocolVersion) + "/"
	sum := sha256sum(config)
	own := base + "config/" + hexEncode(sum[:16]) + "/"
	k := Keys{Proxy: base + "proxy", Instances: own + "instances", Summary: own + "summary",
		Snapshot: own + "snapshot", Lease: own + "lease", Checks: make([]string, len(c.Checks))}
	seen := make(map[string]int, len(c.Checks))
	for i := range c.Checks {
		// Two checks of one configuration that ask the same of the same
		// dependency get a record each: one record under two sets of rules
		// (intervals, thresholds) would serve neither.
		id := c.Checks[i].Identity()
		if n := seen[id]; n > 0 {
			id += "." + strconv.Itoa(n)
		}
		seen[c.Checks[i].Identity()]++
		k.Checks[i] = base + "check/" + id
	}
	return k
}

// createRecords creates the records of configuration c that do not exist yet,
// at plugin start at unix ms now, before any VM has a result to merge
// (proxy-wasm has no create-if-absent: see createIfAbsent). A check new to a proxy
// that has already been ready starts in grace: it gates nothing until its
// status is decided, so adding a check never fails readiness on a running
// proxy. A record no configuration has run for two intervals (a check
// removed and added back, a secret rotated back) is stale: it starts anew
// the same way rather than serve an old result (see CheckState.stale). The check records are
// created before the proxy record, so a VM that finds the proxy record
// knows that every check of the first configuration exists.
func createRecords(st Store, k Keys, c *Config, now int64) error {
	p, _, err := read(st, k.Proxy, DecodeProxy)
	if err != nil {
		return err
	}
	fresh := CheckState{Grace: p.ReadyOnce}
	for i, key := range k.Checks {
		if err := createIfAbsent(st, key, EncodeCheck(&fresh)); err != nil {
			return err
		}
		interval := c.Checks[i].Interval.Milliseconds()
		if _, err := update(st, key, DecodeCheck, EncodeCheck, func(cs *CheckState) bool {
			if !cs.stale(interval, now) {
				return false
			}
			*cs = fresh
			return true
		}); err != nil {
			return err
		}
	}
	if err := createIfAbsent(st, k.Proxy, EncodeProxy(Proxy{})); err != nil {
		return err
	}
	// A configuration starting again (rolled back to, re-added) is no
	// longer torn down, even before its instances join at their first tick.
	if _, err := update(st, k.Instances, DecodeInstances, encodeInstances,
		func(in *Instances) bool {
			was := in.Teardown
			in.Teardown = false
			return was
		}); err != nil {
		return err
	}
	for _, key := range []string{k.Summary, k.Snapshot} { // none yet: readers read the records
		if err := createIfAbsent(st, key, nil); err != nil {
			return err
		}
	}
	return createIfAbsent(st, k.Lease, make([]byte, 16))
}

// createIfAbsent creates key with initial if it does not exist. Two VMs may both
// write initial; it must be a value either may overwrite (an empty state,
// an expired lease).
func createIfAbsent(st Store, key string, initial []byte) error {
	if _, _, err := st.Get(key); !errors.Is(err, ErrNotFound) {
		return err
	}
	return st.Set(key, initial, 0)
}

// update is the merge loop. It applies fn to the record at key and writes
// it back with compare-and-swap; on a mismatch it re-reads and re-applies
// fn, so an update is never lost to a concurrent writer, and fn must be
// safe to run again on newer state. fn returns false when there is nothing
// to write. A record this build cannot read counts as blank (corrupt
// reports that, for the caller to log once) and is rewritten.
func update[T any](st Store, key string, decode func([]byte) (T, error), encode func(*T) []byte, fn func(*T) bool) (corrupt bool, err error) {
	for range maxCASAttempts {
		data, cas, err := st.Get(key)
		var v T
		switch {
		case errors.Is(err, ErrNotFound):
			// Never merge with CAS 0: it is unconditional and would overwrite
			// a rival's first write. Create the blank record, then merge by CAS.
			if err := createIfAbsent(st, key, encode(&v)); err != nil {
				return corrupt, err
			}
			continue
		case err != nil:
			return corrupt, err
		}
		if v, err = decode(data); err != nil {
			corrupt = true
		}
		if !fn(&v) {
			return corrupt, nil
		}
		switch err := st.Set(key, encode(&v), cas); {
		case err == nil:
			return corrupt, nil
		case !errors.Is(err, ErrCASMismatch):
			return corrupt, err
		}
	}
	return corrupt, ErrContended
}

// mergeProxy merges fn into the proxy record.
func mergeProxy(st Store, key string, fn func(*Proxy)) (corrupt bool, err error) {
	return update(st, key, DecodeProxy, func(p *Proxy) []byte { return EncodeProxy(*p) },
		func(p *Proxy) bool { fn(p); return true })
}

// mergeInstances merges fn into a configuration's instances record.
func mergeInstances(st Store, key string, fn func(*Instances)) (corrupt bool, err error) {
	return update(st, key, DecodeInstances, encodeInstances, func(in *Instances) bool { fn(in); return true })
}

// encodeInstances is EncodeInstances in the merge loop's shape.
func encodeInstances(in *Instances) []byte { return EncodeInstances(*in) }

// mergeCheck merges fn into one check's record.
func mergeCheck(st Store, key string, fn func(*CheckState)) (corrupt bool, err error) {
	return update(st, key, DecodeCheck, EncodeCheck, func(cs *CheckState) bool { fn(cs); return true })
}

// claim takes check i for this caller if it is due at unix ms now, moving
// its next due time on, and reports whether it did. Whoever claims a check
// runs it: every VM and every configuration with the check claims the same
// record, so it runs once per interval per proxy however many
// configurations (an old and a new one during a change) have it.
func claim(st Store, key string, c *Config, i int, now int64, rnd func(n int64) int64) (claimed, corrupt bool, err error) {
	corrupt, err = update(st, key, DecodeCheck, EncodeCheck, func(cs *CheckState) bool {
		claimed = c.due(i, cs, now)
		if claimed {
			cs.NextDue, cs.ClaimedAt = c.NextDue(i, c.dueAt(i, cs), now, rnd), now
		}
		return claimed
	})
	return claimed && err == nil, corrupt, err
}

// read decodes the record at key; an absent one is blank, one this build
// cannot read is blank and corrupt.
func read[T any](st Store, key string, decode func([]byte) (T, error)) (v T, corrupt bool, err error) {
	data, _, err := st.Get(key)
	switch {
	case errors.Is(err, ErrNotFound):
		return v, false, nil
	case err != nil:
		return v, false, err
	}
	if v, err = decode(data); err != nil {
		return v, true, nil
	}
	return v, false, nil
}

// Load reads what configuration c serves: the proxy record, its own
// instances record and its checks'.
func Load(st Store, k Keys, c *Config) (s *State, corrupt bool, err error) {
	s, _, corrupt, err = load(st, k, c)
	return s, corrupt, err
}

// load also returns the proxy record as stored: the started latch may hold
// in s before it is written there.
func load(st Store, k Keys, c *Config) (s *State, stored Proxy, corrupt bool, err error) {
	s = NewState(c)
	stored, corrupt, err = read(st, k.Proxy, DecodeProxy)
	if err != nil {
		return s, stored, corrupt, err
	}
	in, bad, err := read(st, k.Instances, DecodeInstances)
	if err != nil {
		return s, stored, corrupt, err
	}
	s.Teardown, corrupt = in.Teardown, corrupt || bad
	for i, key := range k.Checks {
		cs, bad, err := read(st, key, DecodeCheck)
		if err != nil {
			return s, stored, corrupt, err
		}
		s.Checks[i], corrupt = cs, corrupt || bad
	}
	s.Proxy = stored
	s.Latch(c)
	return s, stored, corrupt, nil
}

// Summarize recomputes configuration c's summary from the records as they
// are now and writes it. The summary is never ordered by its own content:
// it is written by CAS after the records are read, so a writer that loses
// the race reads them again, and whichever summary lands last was computed
// from records read after every write before it. That holds only if every
// writer writes, even a summary equal to the stored one: a writer that
// skipped could let an older reading land after it. So only a caller that
// wrote nothing itself (the lease holder's tick) passes onlyIfChanged. It
// also writes the started latch and ReadyOnce into the proxy record once
// they hold, and the snapshot documents read (snapshot.go) after the
// summary. It returns the state it read.
func Summarize(st Store, k Keys, c *Config, onlyIfChanged bool) (s *State, corrupt bool, err error) {
	for range maxCASAttempts {
		old, cas, err := st.Get(k.Summary)
		if errors.Is(err, ErrNotFound) {
			if err := createIfAbsent(st, k.Summary, nil); err != nil {
				return s, corrupt, err
			}
			continue
		} else if err != nil {
			return s, corrupt, err
		}
		var stored Proxy
		if s, stored, corrupt, err = load(st, k, c); err != nil {
			return s, corrupt, err
		}
		readyOnce := s.readyOnGates(c)
		if s.Started && !stored.Started || readyOnce && !stored.ReadyOnce {
			if _, err := mergeProxy(st, k.Proxy, func(p *Proxy) { p.Started, p.ReadyOnce = true, p.ReadyOnce || readyOnce }); err != nil {
				return s, corrupt, err
			}
			s.ReadyOnce = s.ReadyOnce || readyOnce
		}
		rec, snap := EncodeSummary(c, s), encodeSnapshot(s)
		d := digest(snap)
		binary.BigEndian.PutUint16(rec[14:], d)
		if onlyIfChanged && bytes.Equal(old, rec) && snapshotHolds(st, k, snap) {
			return s, corrupt, nil
		}
		switch err := st.Set(k.Summary, rec, cas); {
		case err == nil:
			return s, corrupt, writeSnapshot(st, k, c, snap, d)
		case !errors.Is(err, ErrCASMismatch):
			return s, corrupt, err
		}
	}
	return s, corrupt, ErrContended
}

// acquire takes or renews the lease for owner at unix ms now, holding it for
// ttl ms. It reports whether owner holds it afterwards. Losing a CAS race
// means another VM just took it: that is an answer, not an error. A lease
// expiring further ahead than two ttl from now was never granted by
// acquire, even by a VM whose clock read a little later than ours (a wall
// clock stepped back, a foreign writer, corruption): it counts as expired,
// so no such value stops every check.
func acquire(st Store, key string, owner uint64, now, ttl int64) (bool, error) {
	data, cas, err := st.Get(key)
	switch {
	case errors.Is(err, ErrNotFound):
		// A write with CAS 0 is unconditional: two VMs could both "win" it.
		// Create an expired lease instead; a later tick wins it by CAS.
		return false, createIfAbsent(st, key, make([]byte, 16))
	case err != nil:
		return false, err
	case len(data) == 16:
		holder, expiry := binary.BigEndian.Uint64(data), int64(binary.BigEndian.Uint64(data[8:]))
		// Another VM's clock may run a little ahead of ours (its now was
		// read a moment later): a second TTL of slack.
		if holder != owner && now < expiry && expiry <= now+2*ttl {
			return false, nil
		}
	}
	var rec [16]byte
	binary.BigEndian.PutUint64(rec[:], owner)
	binary.BigEndian.PutUint64(rec[8:], uint64(now+ttl))
	switch err := st.Set(key, rec[:], cas); {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrCASMismatch):
		return false, nil
	default:
		return false, err
	}
}

// release gives the lease up (at teardown) if owner holds it, so another
// worker takes over at its next tick instead of after the TTL.
func release(st Store, key string, owner uint64) error {
	data, cas, err := st.Get(key)
	if err != nil || len(data) != 16 || binary.BigEndian.Uint64(data) != owner {
		return nil
	}
	var rec [16]byte // owner 0, expired
	if err := st.Set(key, rec[:], cas); err != nil && !errors.Is(err, ErrCASMismatch) {
		return err
	}
	return nil
}
