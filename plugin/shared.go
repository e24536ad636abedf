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

// update merges fn into the shared state. It returns checks.ErrContended
// when every attempt lost its CAS race and nothing was written; the caller
// decides whether to retry (see record) or give up.
func (p *pluginContext) update(fn func(*checks.State)) error {
	corrupt, err := checks.Update(sharedData{}, p.stateKey, p.cfg, fn)
	p.noteCorrupt(corrupt)
	if err != nil && !errors.Is(err, checks.ErrContended) {
		proxywasm.LogErrorf("meshprobe: updating shared state: %v", err)
	}
	return err
}

// flushPending retries the results that lost their races, in order.
func (p *pluginContext) flushPending() {
	pending := p.pending
	p.pending = nil
	for _, fn := range pending {
		if errors.Is(p.update(fn), checks.ErrContended) {
			p.pending = append(p.pending, fn)
		}
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

// summary reads readiness from the record's header, mirrored under its own
// key: one 16-byte shared-data read, nothing decoded, whatever the number of
// checks. A mirror this build cannot read (absent, or another codec's)
// falls back to the whole record.
func (p *pluginContext) summary() checks.Summary {
	return checks.Readiness(p.cfg, p.mirror(), p.state)
}

// mirror is the record's header as mirrored under the summary key.
func (p *pluginContext) mirror() []byte {
	b, _, _ := (sharedData{}).Get(p.summaryKey)
	return b
}

// noteCorrupt logs a corrupt record once per plugin context: it is then
// treated as empty and rewritten by the next update.
func (p *pluginContext) noteCorrupt(corrupt bool) {
	if corrupt && !p.corruptLogged {
		p.corruptLogged = true
		proxywasm.LogWarnf("meshprobe: the shared state record was corrupt; starting from empty state")
	}
}
