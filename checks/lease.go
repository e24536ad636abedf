package checks

import (
	"encoding/binary"
	"errors"
)

// The lease elects the one worker VM of a proxy that runs due checks, so a
// dependency sees one check per interval per proxy whatever the worker count.
// Its record is owner id (u64) and expiry (unix ms, i64).

// Acquire takes or renews the lease for owner at unix ms now, holding it for
// ttl ms. It reports whether owner holds it afterwards. Losing a CAS race
// means another VM just took it: that is an answer, not an error. A lease
// expiring further ahead than two ttl from now was never granted by
// Acquire, even by a VM whose clock read a little later than ours (a wall
// clock stepped back, a foreign writer, corruption): it counts as expired,
// so no such value stops every check.
func Acquire(st Store, key string, owner uint64, now, ttl int64) (bool, error) {
	data, cas, err := st.Get(key)
	switch {
	case errors.Is(err, ErrNotFound):
		// A write with CAS 0 is unconditional: two VMs could both "win" it.
		// Create an expired lease instead; a later tick wins it by CAS.
		return false, Ensure(st, key, make([]byte, 16))
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

// Release gives the lease up (at teardown) if owner holds it, so another
// worker takes over at its next tick instead of after the TTL.
func Release(st Store, key string, owner uint64) error {
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
