package plugin

import (
	"errors"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/meshprobe/meshprobe/checks"
)

// sharedData is the proxy's shared data (one store for all worker VMs) as
// checks.Store.
type sharedData struct{}

func (sharedData) Get(key string) ([]byte, uint32, error) {
	v, cas, err := proxywasm.GetSharedData(key)
	if errors.Is(err, types.ErrorStatusNotFound) {
		return nil, 0, checks.ErrNotFound
	}
	return v, cas, err
}

func (sharedData) Set(key string, v []byte, cas uint32) error {
	err := proxywasm.SetSharedData(key, v, cas)
	if errors.Is(err, types.ErrorStatusCasMismatch) {
		return checks.ErrCASMismatch
	}
	return err
}

// update merges fn into the shared state. An update that kept losing CAS
// races is kept and retried on the next tick, so no result is lost.
func (p *pluginContext) update(fn func(*checks.State)) {
	corrupt, err := checks.Update(sharedData{}, p.stateKey, p.cfg, fn)
	p.noteCorrupt(corrupt)
	switch {
	case errors.Is(err, checks.ErrContended):
		p.pending = append(p.pending, fn)
	case err != nil:
		proxywasm.LogErrorf("meshprobe: updating shared state: %v", err)
	}
}

// flushPending retries the updates that lost their races.
func (p *pluginContext) flushPending() {
	pending := p.pending
	p.pending = nil
	for _, fn := range pending {
		p.update(fn)
	}
}

// state reads the whole shared state (for renderers that list checks).
func (p *pluginContext) state() *checks.State {
	s, corrupt, err := checks.Load(sharedData{}, p.stateKey, p.cfg)
	p.noteCorrupt(corrupt)
	if err != nil {
		proxywasm.LogErrorf("meshprobe: reading shared state: %v", err)
	}
	return s
}

// summary reads readiness from the record's header: one shared-data read,
// nothing decoded.
func (p *pluginContext) summary() checks.Summary {
	b, _, err := proxywasm.GetSharedData(p.stateKey)
	if err == nil {
		if s, ok := checks.ReadSummary(p.cfg, b); ok {
			return s
		}
	}
	return p.state().Summary(p.cfg)
}

// noteCorrupt logs a corrupt record once per plugin context: it is then
// treated as empty and rewritten by the next update.
func (p *pluginContext) noteCorrupt(corrupt bool) {
	if corrupt && !p.corruptLogged {
		p.corruptLogged = true
		proxywasm.LogWarnf("meshprobe: shared state record %s was corrupt; starting from empty state", p.stateKey)
	}
}
