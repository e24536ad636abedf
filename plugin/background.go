package plugin

import (
	"errors"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/meshprobe/meshprobe/checks"
)

// OnTick runs on every worker VM. One VM holds the lease and runs the due
// checks; the others only retry their pending merges, so a dependency sees
// one check per interval per proxy whatever the worker count and probe rate.
func (p *pluginContext) OnTick() {
	p.flushPending()
	if f := p.flight; f != nil && !f.dispatched {
		p.launch(f) // on_request: a probe asked for this tick
	}
	if p.cfg.Refresh.Mode != checks.RefreshBackground || len(p.cfg.Checks) == 0 {
		return
	}
	t := now().UnixMilli()
	lead, err := checks.Acquire(sharedData{}, p.leaseKey, p.owner, t, p.cfg.LeaseTTL().Milliseconds())
	if err != nil {
		proxywasm.LogErrorf("meshprobe: lease: %v", err)
		return
	}
	if !lead {
		return
	}
	// Most ticks find nothing due: read, and write only when there is work.
	if len(p.claimable(p.state(), t, nil)) == 0 {
		return
	}
	// Claim the due checks in the shared record first (their next due time
	// moves on), so a VM that takes the lease over does not run them again.
	// An unwritten claim dispatches nothing; the next tick tries again.
	var due []int
	if p.update(func(s *checks.State) {
		due = p.claimable(s, t, due[:0])
		for _, i := range due {
			s.Checks[i].NextDue = p.cfg.NextDue(i, s.Checks[i].NextDue, t, p.rnd.Int64N)
		}
	}) != nil {
		return
	}
	for _, i := range due {
		// A callback Envoy never delivers must not freeze the check: after
		// its timeout and a grace period it may be claimed again.
		p.inflight[i] = t + p.cfg.Checks[i].Timeout.Milliseconds() + inflightGrace
		p.dispatch(i, func(o checks.Outcome) {
			p.inflight[i] = 0
			p.record(i, o)
		})
	}
}

// inflightGrace is how long past its timeout a callout may still answer.
const inflightGrace = 1000 // ms

// claimable appends the checks due at t that this VM is not still awaiting.
func (p *pluginContext) claimable(s *checks.State, t int64, dst []int) []int {
	due := s.Due(p.cfg, t, dst)
	n := 0
	for _, i := range due {
		if p.inflight[i] <= t {
			due[n] = i
			n++
		}
	}
	return due[:n]
}

// record merges one outcome into the shared state and logs status changes.
func (p *pluginContext) record(i int, o checks.Outcome) {
	ch := &p.cfg.Checks[i]
	t := now().UnixMilli()
	var before, after checks.Status
	merge := func(s *checks.State) {
		before = s.Checks[i].Status
		s.Checks[i].Record(ch, o, t)
		s.RefreshedAt = t
		after = s.Checks[i].Status
	}
	if errors.Is(p.update(merge), checks.ErrContended) {
		p.pending = append(p.pending, merge) // a result is never dropped
		return
	}
	p.stats.result(i, o.OK, before, after)
	if before != after {
		// Our own message, redacted by checks (Config.Evaluate, Refused):
		// never a header value of any check; of a dependency's body at most
		// the one JSON value an expectation looked at, cut to 32 printable
		// runes.
		proxywasm.LogInfof("meshprobe: check %s is %s: %s", ch.Name, after, o.Message)
	}
}
