package plugin

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/meshprobe/meshprobe/checks"
)

// on_request refresh: a probe that finds the state older than refresh.ttl
// fans every check out at once from its own HTTP context and pauses; probes
// arriving on the same VM meanwhile join that flight instead of starting
// another. When the last callout returns (Envoy enforces each timeout), every
// waiting probe is answered from the fresh state.

type flight struct {
	owner   uint32 // the HTTP context that dispatched: Envoy cancels its callouts if it goes away
	pending int
	waiters []waiter
}

type waiter struct {
	ctx   uint32
	route *checks.Route
	query string
	head  bool
}

// needsState: the routes whose answer depends on check results.
func needsState(e checks.Endpoint) bool {
	switch e {
	case checks.StdReadiness, checks.StdStartup, checks.StdDependencies,
		checks.K8sReadyz, checks.K8sHealthz, checks.K8sReadyzCheck,
		checks.PiHealthz, checks.PiReadyz, checks.PiStartupz, checks.PiResolversz,
		checks.AuroraReadiness, checks.AmsdalLiveness, checks.AmsdalReadiness:
		return true
	}
	return false
}

// refreshOnRequest reports whether the probe must wait for a flight (it then
// has been added to it and the caller pauses).
func (p *pluginContext) refreshOnRequest(w waiter) bool {
	if f := p.flight; f != nil {
		f.waiters = append(f.waiters, w)
		return true
	}
	if len(p.cfg.Checks) == 0 || now().UnixMilli()-p.refreshedAt() < p.cfg.Refresh.TTL.Milliseconds() {
		return false
	}
	f := &flight{owner: w.ctx, pending: len(p.cfg.Checks), waiters: []waiter{w}}
	p.flight = f
	for i := range p.cfg.Checks {
		p.dispatch(i, func(o checks.Outcome) {
			p.record(i, o)
			if f.pending--; f.pending == 0 && p.flight == f {
				p.land(f)
			}
		})
	}
	return true
}

// refreshedAt is when the shared state last took a result (unix ms): from
// the mirrored header, else from the whole record.
func (p *pluginContext) refreshedAt() int64 {
	if t, ok := checks.ReadRefreshedAt(p.cfg, p.mirror()); ok {
		return t
	}
	return p.state().RefreshedAt
}

// land answers every probe waiting on the flight. Each reply goes to its own
// stream: proxy_set_effective_context makes it the target, as Envoy does.
func (p *pluginContext) land(f *flight) {
	p.flight = nil
	for _, w := range f.waiters {
		if err := proxywasm.SetEffectiveContext(w.ctx); err != nil {
			continue // the stream is gone
		}
		p.respond(w.route, p.answer(w.route, w.query), w.head, "")
	}
}

// streamDone drops a finished stream from the flight. If it was the owner,
// Envoy has cancelled its callouts: answer the others from what is known.
func (p *pluginContext) streamDone(ctx uint32) {
	f := p.flight
	if f == nil {
		return
	}
	for i, w := range f.waiters {
		if w.ctx == ctx {
			f.waiters = append(f.waiters[:i], f.waiters[i+1:]...)
			break
		}
	}
	if ctx == f.owner {
		p.land(f)
	}
}
