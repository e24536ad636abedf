package plugin

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/meshprobe/meshprobe/checks"
)

// OnTick runs on every worker VM: it retries the merges that lost their
// races, and the protocol's tick (checks.Shared.Tick) joins, keeps the
// summary current on the lease holder and claims the due checks, which
// this VM then runs. A dependency sees one check per interval per proxy
// whatever the worker count and probe rate.
func (p *pluginContext) OnTick() {
	p.landed(p.shared.Flush()...)
	if f := p.refreshing; f != nil && !f.dispatched {
		p.sendRefresh(f) // on_request: a probe asked for this tick
	}
	t := now().UnixMilli()
	for _, i := range p.shared.Tick(t, func(i int) bool { return p.inflight[i] > t }) {
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

// record merges one outcome into the check's shared record; if it lost
// its races it lands at a later tick.
func (p *pluginContext) record(i int, o checks.Outcome) {
	p.landed(p.shared.Record(i, o, now().UnixMilli())...)
}

// landed counts merged results and logs status changes.
func (p *pluginContext) landed(results ...checks.Landed) {
	for _, l := range results {
		p.stats.result(l.Check, l.OK, l.Before, l.After)
		if l.Before != l.After {
			// Our own message, redacted by checks (Config.Evaluate, Refused):
			// never a header value of any check; of a dependency's body at most
			// the one JSON value an expectation looked at, cut to 32 printable
			// runes.
			proxywasm.LogInfof("meshprobe: check %s is %s: %s", p.cfg.Checks[l.Check].Name, l.After, l.Message)
		}
	}
}
