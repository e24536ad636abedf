package plugin

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/meshprobe/meshprobe/checks"
)

// OnTick runs on every worker VM. One VM holds the lease and runs the due
// checks; the others only retry their pending merges, so a dependency sees
// one check per interval per proxy whatever the worker count and probe rate.
func (p *pluginContext) OnTick() {
	p.flushPending()
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
	// Claim the due checks in the shared record first (their next due time
	// moves on), so a VM that takes the lease over does not run them again.
	var due []int
	p.update(func(s *checks.State) {
		due = due[:0]
		for _, i := range s.Due(t, nil) {
			if !p.inflight[i] {
				due = append(due, i)
				s.Checks[i].NextDue = p.cfg.NextDue(i, t, p.rnd.Int64N)
			}
		}
	})
	for _, i := range due {
		p.inflight[i] = true
		p.dispatch(i, func(o checks.Outcome) {
			p.inflight[i] = false
			p.record(i, o)
		})
	}
}

// record merges one outcome into the shared state and logs status changes.
func (p *pluginContext) record(i int, o checks.Outcome) {
	ch := &p.cfg.Checks[i]
	t := now().UnixMilli()
	var before, after checks.Status
	p.update(func(s *checks.State) {
		before = s.Checks[i].Status
		s.Checks[i].Record(ch, o, t)
		s.RefreshedAt = t
		after = s.Checks[i].Status
	})
	if before != after {
		// Our own message only: never a header value or a dependency's body.
		proxywasm.LogInfof("meshprobe: check %s is %s: %s", ch.Name, after, o.Message)
	}
}
