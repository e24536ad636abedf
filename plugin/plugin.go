package plugin

import (
	"errors"
	"fmt"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/meshprobe/meshprobe/checks"
)

// pluginContext holds one plugin configuration, prepared at configure time so
// that a request only looks its path up and answers.
type pluginContext struct {
	types.DefaultPluginContext
	cfg    *checks.Config
	router *checks.Router
	std    *checks.Standard
	state  *checks.State
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	if err := p.configure(); err != nil {
		// One line that names the field and the problem; the proxy then
		// refuses the configuration, so nothing half-configured serves.
		proxywasm.LogErrorf("meshprobe: %v", err)
		return types.OnPluginStartStatusFailed
	}
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) configure() error {
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		return fmt.Errorf("reading plugin configuration: %w", err)
	}
	cfg, err := checks.Parse(data)
	if err != nil {
		return err
	}
	for _, d := range cfg.Dialects {
		if d != checks.DialectStandard {
			return &checks.ConfigError{Field: "dialects", Problem: "dialect " + d.String() + " is not available in this build yet"}
		}
	}
	if cfg.DrainEnabled {
		return &checks.ConfigError{Field: "drain.enabled", Problem: "draining is not available in this build yet"}
	}
	p.cfg = cfg
	p.router = checks.NewRouter(cfg.Routes)
	p.std = checks.NewStandard(cfg, cfg.Service.WithNode(readNodeMeta()))
	p.state = checks.NewState(cfg)
	return nil
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	return &httpContext{p: p}
}
