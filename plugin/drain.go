package plugin

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/meshprobe/meshprobe/checks"
)

// serveDrain handles POST (draining) and DELETE {base}/drain, on
// every worker at once through the shared record. Only clients in the
// details allow lists may drain, whatever details.expose says.
func (p *pluginContext) serveDrain(draining bool) checks.Reply {
	if !p.cfg.Details.Listed(peer{}) {
		return checks.ReplyForbidden
	}
	if p.updateProxy(func(s *checks.Proxy) { s.Draining = draining }) != nil {
		return checks.ReplyBusy // not queued: a late replay could undo a newer request
	}
	proxywasm.LogInfof("meshprobe: draining %v by request", draining)
	return checks.DrainReply(draining)
}

// OnPluginDone: the plugin is being torn down (configuration removed or
// changed, or the proxy shutting down). Results still queued get a last
// try. When the configuration's last instance goes, readiness fails at once
// on every worker while the proxy drains; liveness is unaffected. After a
// newer build of the same configuration has started, the old build's
// teardown leaves it serving. The lease is given up so no worker waits out
// its TTL.
func (p *pluginContext) OnPluginDone() bool {
	if p.cfg == nil {
		return true
	}
	p.flushPending()
	if p.joined {
		var live uint32
		p.updateInstances(func(in *checks.Instances) { in.Leave(); live = in.Live })
		proxywasm.LogInfof("meshprobe: plugin instance stopped; %d of this configuration still serve", live)
	}
	if err := checks.Release(sharedData{}, p.keys.Lease, p.owner); err != nil {
		proxywasm.LogWarnf("meshprobe: releasing lease: %v", err)
	}
	return true
}
