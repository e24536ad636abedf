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

// reportShared logs what the protocol reports: a corrupt record once per
// configuration on this VM, and store errors other than lost races.
func reportShared(err error) {
	if errors.Is(err, checks.ErrCorrupt) {
		proxywasm.LogWarnf("meshprobe: a shared state record was corrupt; it starts from empty state")
		return
	}
	proxywasm.LogErrorf("meshprobe: %v", err)
}
