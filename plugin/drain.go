package plugin

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/meshprobe/meshprobe/checks"
)

// serveDrain handles POST (draining) and DELETE {base}/drain, on
// every worker at once through the shared record. Only clients in the
// details allow lists may drain, whatever details.expose says.
func (p *pluginContext) serveDrain(draining bool) checks.Reply {
	if !p.cfg.Details.InAllowLists(peer{}) {
		return checks.ReplyForbidden
	}
	if p.shared.Drain(draining) != nil {
		return checks.ReplyBusy // not queued: a late replay could undo a newer request
	}
	proxywasm.LogInfof("meshprobe: draining %v by request", draining)
	return checks.DrainReply(draining)
}
