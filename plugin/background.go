package plugin

import (
	"errors"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/meshprobe/meshprobe/checks"
)

// OnTick runs on every worker VM. One VM per configuration holds its
// lease: it keeps the configuration's summary current and, in background
// mode, claims and runs the due checks. The others only retry their
// pending merges, so a dependency sees one check per interval per proxy
// whatever the worker count and probe rate.
func (p *pluginContext) OnTick() {
	p.flushPending()
	if f := p.refreshing; f != nil && !f.dispatched {
		p.sendRefresh(f) // on_request: a probe asked for this tick
	}
	if !p.joined {
		// The first tick: this instance serves. Envoy's configuration
		// canary is configured but never ticks, so it never counts.
		if p.updateInstances(func(in *checks.Instances) { in.Join() }) != nil {
			return // tried again next tick
		}
		p.joined = true
	}
	t := now().UnixMilli()
	lead, err := checks.Acquire(sharedData{}, p.keys.Lease, p.owner, t, p.cfg.LeaseTTL().Milliseconds())
	if err != nil {
		proxywasm.LogErrorf("meshprobe: lease: %v", err)
		return
	}
	if !lead {
		return
	}
	// Writes made under another configuration of the plugin (the one this
	// replaces, during a change) reach this one's summary here.
	s := p.summarize(true)
	if p.cfg.Refresh.Mode != checks.RefreshBackground || s == nil {
		return
	}
	// Claim each due check in its shared record first (its next due time
	// moves on), so that no other VM or configuration runs it again. An
	// unwritten claim dispatches nothing; the next tick tries again.
	for _, i := range s.Due(p.cfg, t, nil) {
		if p.inflight[i] > t {
			continue // still awaiting this VM's last call
		}
		claimed, corrupt, err := checks.Claim(sharedData{}, p.keys.Checks[i], p.cfg, i, t, p.rnd.Int64N)
		p.noteCorrupt(corrupt)
		if err != nil && !errors.Is(err, checks.ErrContended) {
			proxywasm.LogErrorf("meshprobe: claiming a check: %v", err)
		}
		if !claimed {
			continue
		}
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

// record merges one outcome into the check's shared record and logs status
// changes.
func (p *pluginContext) record(i int, o checks.Outcome) {
	ch := &p.cfg.Checks[i]
	t := now().UnixMilli()
	var before, after checks.Status
	merge := func(s *checks.CheckState) {
		before = s.Status
		s.Record(ch, o, t)
		after = s.Status
	}
	landed := func() {
		p.stats.result(i, o.OK, before, after)
		if before != after {
			// Our own message, redacted by checks (Config.Evaluate, Refused):
			// never a header value of any check; of a dependency's body at most
			// the one JSON value an expectation looked at, cut to 32 printable
			// runes.
			proxywasm.LogInfof("meshprobe: check %s is %s: %s", ch.Name, after, o.Message)
		}
	}
	key := p.keys.Checks[i]
	// A result is never dropped, and never lands before an older one of
	// the same check that is still queued.
	if p.queued(key) || errors.Is(p.updateCheck(key, merge), checks.ErrContended) {
		p.pending = append(p.pending, pendingUpdate{key, merge, landed})
		return
	}
	landed()
}
