package plugin

import (
	"errors"
	mrand "math/rand/v2"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/meshprobe/meshprobe/checks"
)

// pluginContext holds one plugin configuration on one worker VM, prepared at
// configure time so that a request only looks its path up and answers.
type pluginContext struct {
	types.DefaultPluginContext
	cfg      *checks.Config
	router   *checks.Router
	answers  *checks.Answers
	svc      checks.Service
	stats    *stats
	callouts []calloutRequest

	shared     *checks.Shared // this configuration's side of the shared-state protocol
	inflight   []int64        // per check: unix ms until which this VM awaits its answer
	refreshing *refreshRun    // on_request: the fan-out in progress on this VM
	// idle holds the contexts of finished streams for reuse: a fresh one
	// per request would be the only allocation on the pass-through path.
	idle []*httpContext
}

// maxIdleContexts bounds the reuse list (past a burst of this many
// concurrent streams, extra contexts are left to the collector).
const maxIdleContexts = 1024

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	if err := p.configure(); err != nil {
		// One line that names the field and the problem; the proxy then
		// refuses the configuration, so nothing half-configured serves.
		proxywasm.LogErrorf("meshprobe: %v", err)
		return types.OnPluginStartStatusFailed
	}
	return types.OnPluginStartStatusOK
}

// failed is what configure returns when a step fails: a line to log.
// Not fmt.Errorf, whose wrapping (never unwrapped here) links in a sort.
//
//go:noinline
func failed(step string, err error) error { return errors.New(step + ": " + err.Error()) }

func (p *pluginContext) configure() error {
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		return failed("reading plugin configuration", err)
	}
	cfg, err := checks.Parse(data)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		proxywasm.LogWarnf("meshprobe: %s", w)
	}
	p.cfg = cfg
	p.router = checks.NewRouter(cfg.Routes)
	svc := cfg.Service.WithNode(readNodeMeta())
	p.answers = checks.NewAnswers(cfg, svc)
	p.svc = svc
	p.stats = defineStats(cfg)
	p.callouts = make([]calloutRequest, len(cfg.Checks))
	for i := range cfg.Checks {
		p.callouts[i] = buildCallout(&cfg.Checks[i])
	}
	p.inflight = make([]int64, len(cfg.Checks))
	// The runtime seeds math/rand/v2 from the host's random_get, the source
	// crypto/rand reads too; a lease identity must differ between VMs, not
	// be secret, and crypto/rand would link the FIPS DRBG and AES.
	rnd := mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64()))
	p.shared = checks.NewShared(sharedData{}, property("plugin_name"), cfg, data, mrand.Uint64()|1, rnd.Int64N)
	p.shared.Report = reportShared

	// Create the shared records now, before any VM has a result to merge:
	// proxy-wasm has no create-if-absent (see checks.Shared.Start). Records a
	// running proxy already has (this configuration's on another worker,
	// checks kept across a change, the drain) are left as they are.
	if err := p.shared.Start(now().UnixMilli()); err != nil {
		return failed("creating shared state", err)
	}

	// Ticks join the instance, keep the summary current, run background
	// checks and retry merges that lost their races.
	if err := proxywasm.SetTickPeriodMilliSeconds(uint32(cfg.TickPeriod().Milliseconds())); err != nil {
		return failed("setting tick period", err)
	}
	return nil
}

func (p *pluginContext) NewHttpContext(id uint32) types.HttpContext {
	if n := len(p.idle); n > 0 {
		h := p.idle[n-1]
		p.idle = p.idle[:n-1]
		*h = httpContext{p: p, id: id}
		return h
	}
	return &httpContext{p: p, id: id}
}

// OnPluginDone: the plugin is being torn down (configuration removed or
// changed, or the proxy shutting down); see checks.Shared.Stop. After a
// newer build of the same configuration has started, the old build's
// teardown leaves it serving.
func (p *pluginContext) OnPluginDone() bool {
	if p.cfg == nil {
		return true
	}
	landed, left, live := p.shared.Stop()
	p.landed(landed...)
	if left {
		proxywasm.LogInfof("meshprobe: plugin instance stopped; %d of this configuration still serve", live)
	}
	return true
}
