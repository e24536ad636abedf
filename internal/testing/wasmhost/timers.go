package wasmhost

import (
	"slices"
	"time"
)

// StartTimers ticks every VM's root context on a real timer at the period
// the plugin set with proxy_set_tick_period_milliseconds, until Close. As
// Envoy's per-worker timer (Wasm::setTickPeriod), the next tick is armed
// after the previous proxy_on_tick returns, and setting a period re-arms
// the timer from that moment. Tests that drive ticks themselves (VM.Tick)
// do not call it.
func (h *Host) StartTimers() {
	h.mu.Lock()
	h.timers = true
	all := slices.Clone(h.all)
	h.mu.Unlock()
	for _, v := range all { // the main thread's VM ticks too
		go v.runTimer()
	}
}

// pollIdle is how often a VM without a tick period looks for one.
const pollIdle = 10 * time.Millisecond

func (v *VM) runTimer() {
	for {
		period := v.TickPeriod()
		wait := period
		if wait <= 0 {
			wait = pollIdle
		}
		if v.retired.Load() {
			return
		}
		select {
		case <-v.h.life.Done():
			return
		case <-v.rearm:
			continue
		case <-time.After(wait):
		}
		if period > 0 && !v.timerStopped.Load() && !v.retired.Load() {
			v.Tick()
		}
	}
}

// StopTimer stops this VM's ticks (a worker that has stalled) and
// StartTimer resumes them; only meaningful after Host.StartTimers.
func (v *VM) StopTimer()  { v.timerStopped.Store(true) }
func (v *VM) StartTimer() { v.timerStopped.Store(false) }
