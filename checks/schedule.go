package checks

import "time"

// TickPeriod is how often each worker's root context wakes: a fifth of the
// shortest interval, between 100ms and 1s, so a check runs within a tick of
// being due and a stalled leader is replaced quickly.
func (c *Config) TickPeriod() time.Duration {
	shortest := c.Refresh.Interval
	for i := range c.Checks {
		shortest = min(shortest, c.Checks[i].Interval)
	}
	return min(max(shortest/5, 100*time.Millisecond), time.Second)
}

// LeaseTTL: a leader that misses three ticks loses the lease.
func (c *Config) LeaseTTL() time.Duration { return 3 * c.TickPeriod() }

// jitter is the configured spread for one check's interval.
func (c *Config) jitter(ch *Check) time.Duration {
	if c.Refresh.Jitter > 0 {
		return min(c.Refresh.Jitter, ch.Interval/2)
	}
	return ch.Interval * time.Duration(c.Refresh.JitterPercent) / 100
}

// NextDue is when check i, due at unix ms due and started at now, should
// run again: one interval after it was due when it started within a tick of
// that (ticks come a period apart, so starting late by less is routine and
// must not stretch the period), else one interval after now (the first run,
// a lease handover, a stall: no burst to catch up). Either is moved by up to
// half the jitter either way so that a fleet of proxies spreads out; the
// mean period stays the interval. rnd(n) returns a uniform value in [0, n).
func (c *Config) NextDue(i int, due, now int64, rnd func(n int64) int64) int64 {
	ch := &c.Checks[i]
	base := now
	if late := now - due; late >= 0 && late < c.TickPeriod().Milliseconds() {
		base = due
	}
	next := base + ch.Interval.Milliseconds()
	if j := c.jitter(ch).Milliseconds(); j > 0 {
		next += rnd(j+1) - j/2
	}
	return next
}

// Due appends the indexes of the checks due at unix ms now.
func (s *State) Due(c *Config, now int64, dst []int) []int {
	for i := range s.Checks {
		if c.due(i, &s.Checks[i], now) {
			dst = append(dst, i)
		}
	}
	return dst
}

// dueAt is when check i, as its record cs has it, is next due for c: the
// next due time its last claimer set, but no later than one of c's own
// intervals (and half its jitter) after that claim. Two configurations
// with different intervals share the record during a change: the check
// then runs at the shorter interval, once, instead of the longer one
// looking like a stall to the shorter.
func (c *Config) dueAt(i int, cs *CheckState) int64 {
	if cs.ClaimedAt == 0 {
		return cs.NextDue
	}
	ch := &c.Checks[i]
	return min(cs.NextDue, cs.ClaimedAt+ch.Interval.Milliseconds()+c.jitter(ch).Milliseconds()/2)
}

// due reports whether check i is due at now. A due time further ahead than
// any schedule sets it (an interval and the jitter from now, and a tick
// for a VM whose clock read a little later than ours) did not come from
// NextDue: a wall clock stepped back, a foreign writer or corruption. It
// counts as due, so no such value freezes a check.
func (c *Config) due(i int, cs *CheckState, now int64) bool {
	next := c.dueAt(i, cs)
	return next <= now || next > now+c.maxAhead(i)
}

// maxAhead is the furthest ahead of now (ms) NextDue puts check i, with a
// tick of slack for clocks read moments apart.
func (c *Config) maxAhead(i int) int64 {
	ch := &c.Checks[i]
	return (ch.Interval + c.jitter(ch) + c.TickPeriod()).Milliseconds()
}

// Fresh reports whether state last refreshed at unix ms refreshedAt is
// younger than refresh.ttl at now (on_request). A time in the future is
// not fresh: it cannot be a refresh this proxy made.
func (c *Config) Fresh(refreshedAt, now int64) bool {
	age := now - refreshedAt
	return age >= 0 && age < c.Refresh.TTL.Milliseconds()
}
