package checks

import (
	"errors"
)

// Store is the proxy's shared data as the merge loop needs it. The plugin
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

// MaxCASAttempts bounds the merge loop: under Envoy's per-key lock a retry
// only loses to a writer that finished in between, so a handful suffices.
const MaxCASAttempts = 16

// Update applies fn to the current state and writes it back with
// compare-and-swap. On a mismatch it re-reads and re-applies fn, so an update
// is never lost to a concurrent writer; fn must therefore be safe to run
// again on newer state. A corrupt record counts as empty (corrupt reports
// that, for the caller to log once).
func Update(st Store, key string, c *Config, fn func(*State)) (corrupt bool, err error) {
	for range MaxCASAttempts {
		data, cas, err := st.Get(key)
		var s *State
		switch {
		case errors.Is(err, ErrNotFound):
			// Never merge with CAS 0: it is unconditional and would overwrite
			// a rival's first write. Create the empty record, then merge by CAS.
			if err := Ensure(st, key, Encode(c, NewState(c))); err != nil {
				return corrupt, err
			}
			continue
		case err != nil:
			return corrupt, err
		default:
			if s, err = Decode(c, data); err != nil {
				corrupt, s = true, NewState(c)
			}
		}
		fn(s)
		s.Latch(c)
		s.Seq++
		rec := Encode(c, s)
		switch err := st.Set(key, rec, cas); {
		case err == nil:
			// The update landed: a mirror that could not follow is not a
			// failed update (retrying it would apply fn twice); the next
			// write brings the mirror back, and until then a reader whose
			// mirror does not parse reads the record.
			mirrorSummary(st, key)
			return corrupt, nil
		case !errors.Is(err, ErrCASMismatch):
			return corrupt, err
		}
	}
	return corrupt, ErrContended
}

// SummaryKey is where every write of the state record at stateKey mirrors
// its header: readiness reads 16 bytes instead of the whole record.
func SummaryKey(stateKey string) string { return stateKey + "/summary" }

// mirrorSummary copies the header of the record at stateKey, as it is now,
// under the summary key. The mirror is never ordered by its own content: it
// is written by CAS after the record is read, so a writer that loses the
// mirror's race reads both again, and two writers that finish their record
// writes in one order and mirror them in the other still leave the newest.
// Whatever the mirror held (an older header, garbage, a header from another
// build, a sequence left ahead by a rebuilt or corrupted record) never
// outranks the record: the next write replaces it.
func mirrorSummary(st Store, stateKey string) error {
	key := SummaryKey(stateKey)
	for range MaxCASAttempts {
		_, cas, err := st.Get(key)
		switch {
		case errors.Is(err, ErrNotFound):
			// CAS 0 would be unconditional: create it, then write by CAS.
			if err := Ensure(st, key, nil); err != nil {
				return err
			}
			continue
		case err != nil:
			return err
		}
		rec, _, err := st.Get(stateKey)
		if err != nil {
			return err
		}
		switch err := st.Set(key, rec[:min(len(rec), HeaderSize)], cas); {
		case err == nil:
			return nil
		case !errors.Is(err, ErrCASMismatch):
			return err
		}
	}
	return ErrContended
}

// Ensure creates key with initial if it does not exist. proxy-wasm has no
// create-if-absent, so two VMs may both write initial; it must be a value
// either may overwrite (an empty state, an expired lease). The plugin calls
// it at start, well before any VM writes a real value.
func Ensure(st Store, key string, initial []byte) error {
	if _, _, err := st.Get(key); !errors.Is(err, ErrNotFound) {
		return err
	}
	return st.Set(key, initial, 0)
}

// Load reads the current state (NewState if none or corrupt).
func Load(st Store, key string, c *Config) (s *State, corrupt bool, err error) {
	data, _, err := st.Get(key)
	switch {
	case errors.Is(err, ErrNotFound):
		return NewState(c), false, nil
	case err != nil:
		return NewState(c), false, err
	}
	if s, err = Decode(c, data); err != nil {
		return NewState(c), true, nil
	}
	return s, false, nil
}
