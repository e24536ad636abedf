package plugin

import (
	"errors"
	"slices"

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

// pendingUpdate is a merge that lost its CAS races, kept to retry.
type pendingUpdate struct {
	key string
	fn  func(*checks.CheckState)
	// after runs once the merge has landed (stats and a status-change line).
	after func()
}

// updateCheck merges fn into check record key, then brings this
// configuration's summary up to date. It returns checks.ErrContended when
// every attempt lost its CAS race and nothing was written; the caller
// decides whether to retry (see record) or give up.
func (p *pluginContext) updateCheck(key string, fn func(*checks.CheckState)) error {
	corrupt, err := checks.UpdateCheck(sharedData{}, key, fn)
	return p.wrote(corrupt, err)
}

// updateProxy merges fn into the proxy-wide record, then brings this
// configuration's summary up to date.
func (p *pluginContext) updateProxy(fn func(*checks.Proxy)) error {
	corrupt, err := checks.UpdateProxy(sharedData{}, p.keys.Proxy, fn)
	return p.wrote(corrupt, err)
}

// updateInstances merges fn into this configuration's instances record,
// then brings its summary up to date.
func (p *pluginContext) updateInstances(fn func(*checks.Instances)) error {
	corrupt, err := checks.UpdateInstances(sharedData{}, p.keys.Instances, fn)
	return p.wrote(corrupt, err)
}

// wrote follows a merge: the summary is recomputed after a landed one.
func (p *pluginContext) wrote(corrupt bool, err error) error {
	p.noteCorrupt(corrupt)
	if err != nil {
		if !errors.Is(err, checks.ErrContended) {
			proxywasm.LogErrorf("meshprobe: updating shared state: %v", err)
		}
		return err
	}
	p.summarize(false)
	return nil
}

// summarize recomputes this configuration's summary from the records and
// returns the state it read; onlyIfChanged only from a caller that wrote
// nothing (see checks.Summarize). A summary that could not be written is
// not a failed update: the next write or the lease holder's next tick
// writes it, and until then a reader that cannot read it reads the records.
func (p *pluginContext) summarize(onlyIfChanged bool) *checks.State {
	s, corrupt, err := checks.Summarize(sharedData{}, p.keys, p.cfg, onlyIfChanged)
	p.noteCorrupt(corrupt)
	if err != nil && !errors.Is(err, checks.ErrContended) {
		proxywasm.LogErrorf("meshprobe: writing the readiness summary: %v", err)
	}
	return s
}

// flushPending retries the results that lost their races, in order: once
// one check's merge loses again, its later ones wait behind it, so an
// older result never lands after a newer one.
func (p *pluginContext) flushPending() {
	pending := p.pending
	p.pending = nil
	for _, u := range pending {
		if p.queued(u.key) || errors.Is(p.updateCheck(u.key, u.fn), checks.ErrContended) {
			p.pending = append(p.pending, u)
		} else if u.after != nil {
			u.after()
		}
	}
}

// queued reports whether a merge into record key is waiting to be retried.
func (p *pluginContext) queued(key string) bool {
	return slices.ContainsFunc(p.pending, func(q pendingUpdate) bool { return q.key == key })
}

// state is what documents that list checks show (checks.ReadState).
func (p *pluginContext) state() *checks.State {
	s, corrupt, err := checks.ReadState(sharedData{}, p.keys, p.cfg)
	p.noteCorrupt(corrupt)
	if err != nil {
		proxywasm.LogErrorf("meshprobe: reading shared state: %v", err)
	}
	return s
}

// summary reads readiness from the configuration's summary: one 16-byte
// shared-data read, nothing decoded, whatever the number of checks. A
// summary this build cannot read (absent, or another build's) falls back
// to the records.
func (p *pluginContext) summary() checks.Summary {
	return checks.Readiness(p.cfg, p.summaryBytes(), p.state)
}

// summaryBytes is the configuration's summary as stored.
func (p *pluginContext) summaryBytes() []byte {
	b, _, _ := (sharedData{}).Get(p.keys.Summary)
	return b
}

// noteCorrupt logs a corrupt record once per plugin context: it is then
// treated as blank and rewritten by the next update.
func (p *pluginContext) noteCorrupt(corrupt bool) {
	if corrupt && !p.corruptLogged {
		p.corruptLogged = true
		proxywasm.LogWarnf("meshprobe: a shared state record was corrupt; it starts from empty state")
	}
}
