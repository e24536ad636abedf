package plugin

import (
	"slices"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/meshprobe/meshprobe/checks"
)

// on_request refresh: a probe that finds the state older than refresh.ttl
// starts a refresh run and pauses; probes arriving on the same VM meanwhile join
// it instead of starting another. The refresh run's callouts go out from the
// root context, on a tick asked for at once: Envoy makes every call the
// root context's anyway, and the SDK drops the answer to a call made from a
// stream that has ended, so a probe client that gives up before a slow
// dependency answers would otherwise leave the state stale for good. When
// the last callout returns (Envoy enforces each timeout), every probe still
// waiting is answered from the fresh state.

type refreshRun struct {
	dispatched bool
	pending    int
	waiters    []waiter
}

// kickTick is the tick period that starts a refresh run's callouts.
const kickTick = 1 // ms

type waiter struct {
	ctx   uint32
	route *checks.Route
	query string
}

// refreshOnRequest reports whether the probe must wait for a refresh run (it then
// has been added to it and the caller pauses).
func (p *pluginContext) refreshOnRequest(w waiter) bool {
	if f := p.refreshing; f != nil {
		f.waiters = append(f.waiters, w)
		return true
	}
	if len(p.cfg.Checks) == 0 || p.cfg.Fresh(p.shared.RefreshedAt(), now().UnixMilli()) {
		return false
	}
	p.refreshing = &refreshRun{waiters: []waiter{w}}
	if err := proxywasm.SetTickPeriodMilliSeconds(kickTick); err != nil {
		proxywasm.LogErrorf("meshprobe: on_request: asking for a tick: %v", err)
		p.refreshing = nil
		return false // answered now, from the state as it is
	}
	return true
}

// sendRefresh sends a refresh run's callouts (from OnTick, on the root context) and
// puts the tick period back.
func (p *pluginContext) sendRefresh(f *refreshRun) {
	f.dispatched = true
	if err := proxywasm.SetTickPeriodMilliSeconds(uint32(p.cfg.TickPeriod().Milliseconds())); err != nil {
		proxywasm.LogErrorf("meshprobe: on_request: restoring the tick period: %v", err)
	}
	f.pending = len(p.cfg.Checks)
	for i := range p.cfg.Checks {
		p.dispatch(i, func(o checks.Outcome) {
			p.record(i, o)
			if f.pending--; f.pending == 0 && p.refreshing == f {
				p.replyWaiters(f)
			}
		})
	}
}

// replyWaiters answers every probe waiting on the refresh run. Each reply goes to its own
// stream: proxy_set_effective_context makes it the target, as Envoy does.
func (p *pluginContext) replyWaiters(f *refreshRun) {
	p.refreshing = nil
	p.landed(p.shared.Flush()...) // a result that lost its CAS race still counts for these answers
	for _, w := range f.waiters {
		if err := proxywasm.SetEffectiveContext(w.ctx); err != nil {
			continue // the stream is gone
		}
		p.reply(w.route, p.render(w.route, w.query), "")
	}
}

// streamDone drops a finished stream from the refresh run; the refresh run goes on,
// and its results are recorded whoever still waits.
func (p *pluginContext) streamDone(ctx uint32) {
	if f := p.refreshing; f != nil {
		f.waiters = slices.DeleteFunc(f.waiters, func(w waiter) bool { return w.ctx == ctx })
	}
}
