package wasmhost

import (
	"sync"
	"time"
)

// Clock is a test-controlled time source for the guest. Both of the guest's
// clocks read it: the wall clock returns Now, the monotonic clock the time
// elapsed since NewClock. Time moves only with Advance, so interval logic is
// driven by ticks and Advance, never by sleeps.
type Clock struct {
	mu         sync.Mutex
	start, now time.Time
}

// NewClock returns a clock that reads start until advanced.
func NewClock(start time.Time) *Clock { return &Clock{start: start, now: start} }

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d. A negative d panics: the guest's
// monotonic clock must never go back.
func (c *Clock) Advance(d time.Duration) {
	if d < 0 {
		panic("host: Clock.Advance with a negative duration")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// walltime is the guest's realtime clock (wazero sys.Walltime).
func (c *Clock) walltime() (sec int64, nsec int32) {
	t := c.Now()
	return t.Unix(), int32(t.Nanosecond())
}

// nanotime is the guest's monotonic clock (wazero sys.Nanotime). It starts at
// one second, not zero: the Go runtime refuses a monotonic clock reading 0.
func (c *Clock) nanotime() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(time.Second + c.now.Sub(c.start))
}
