package wasmhost

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// hostFunc is one `env` import of the proxy-wasm 0.2.1 ABI. Parameters are
// i32 unless listed otherwise; the result is always an i32 status.
type hostFunc struct {
	params []api.ValueType
	fn     func(c *call, a []uint64) status
}

// hostFuncs are the hostcalls this host implements. Any other `env` import
// of the module gets a stub returning Unimplemented (see instantiateEnv).
var hostFuncs = map[string]hostFunc{
	"proxy_log":                          {i32s(3), proxyLog},
	"proxy_get_property":                 {i32s(4), proxyGetProperty},
	"proxy_set_property":                 {i32s(4), proxySetProperty},
	"proxy_send_local_response":          {i32s(8), proxySendLocalResponse},
	"proxy_get_shared_data":              {i32s(5), proxyGetSharedData},
	"proxy_set_shared_data":              {i32s(5), proxySetSharedData},
	"proxy_get_header_map_pairs":         {i32s(3), proxyGetHeaderMapPairs},
	"proxy_set_header_map_pairs":         {i32s(3), proxySetHeaderMapPairs},
	"proxy_get_header_map_value":         {i32s(5), proxyGetHeaderMapValue},
	"proxy_add_header_map_value":         {i32s(5), proxyAddHeaderMapValue},
	"proxy_replace_header_map_value":     {i32s(5), proxyReplaceHeaderMapValue},
	"proxy_remove_header_map_value":      {i32s(3), proxyRemoveHeaderMapValue},
	"proxy_get_buffer_bytes":             {i32s(5), proxyGetBufferBytes},
	"proxy_continue_stream":              {i32s(1), proxyContinueStream},
	"proxy_http_call":                    {i32s(10), proxyHTTPCall},
	"proxy_set_tick_period_milliseconds": {i32s(1), proxySetTickPeriod},
	"proxy_set_effective_context":        {i32s(1), proxySetEffectiveContext},
	"proxy_done":                         {nil, proxyDone},
	"proxy_define_metric":                {i32s(4), proxyDefineMetric},
	"proxy_increment_metric":             {[]api.ValueType{api.ValueTypeI32, api.ValueTypeI64}, proxyIncrementMetric},
	"proxy_record_metric":                {[]api.ValueType{api.ValueTypeI32, api.ValueTypeI64}, proxyRecordMetric},
	"proxy_get_metric":                   {i32s(2), proxyGetMetric},
}

func i32s(n int) []api.ValueType {
	t := make([]api.ValueType, n)
	for i := range t {
		t[i] = api.ValueTypeI32
	}
	return t
}

// instantiateEnv provides the `env` module: hostFuncs, plus a stub for
// every other `env` function the module imports, so that a plugin using a
// hostcall this host lacks gets Unimplemented instead of failing to load.
func (h *Host) instantiateEnv(compiled wazero.CompiledModule) error {
	b := h.runtime.NewHostModuleBuilder("env")
	status := []api.ValueType{api.ValueTypeI32}
	for name, f := range hostFuncs {
		b.NewFunctionBuilder().WithGoModuleFunction(bind(name, f), f.params, status).Export(name)
	}
	stubbed := map[string]bool{}
	for _, imp := range compiled.ImportedFunctions() {
		module, name, _ := imp.Import()
		if _, ok := hostFuncs[name]; module != "env" || ok || stubbed[name] {
			continue
		}
		stubbed[name] = true
		b.NewFunctionBuilder().WithGoModuleFunction(unimplemented(imp.ResultTypes()), imp.ParamTypes(), imp.ResultTypes()).Export(name)
	}
	_, err := b.Instantiate(h.ctx)
	return err
}

// call is one hostcall in progress.
type call struct {
	guest
	vm *VM
}

// bind adapts a hostcall to wazero. An i32 argument arrives in a uint64
// whose upper half is undefined: it is cleared before the hostcall reads it.
// While the VM runs _initialize or its allocator, only proxy_log may be
// called, as in proxy-wasm-cpp-host (WasmBase::startVm, allocMemory): any
// other hostcall traps with "restricted_callback" and the VM is dead.
func bind(name string, f hostFunc) api.GoModuleFunc {
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		v := vmOf(ctx)
		if v == nil { // not called through VM.call: no context to act on
			stack[0] = uint64(statusInternalFailure)
			return
		}
		if v.restricted != "" && name != "proxy_log" {
			panic(fmt.Errorf("restricted_callback: %s called during %s", name, v.restricted))
		}
		for i, t := range f.params {
			if t == api.ValueTypeI32 {
				stack[i] = uint64(uint32(stack[i]))
			}
		}
		stack[0] = uint64(f.fn(&call{guest{ctx, mod}, v}, stack))
	}
}

func unimplemented(results []api.ValueType) api.GoModuleFunc {
	return func(_ context.Context, _ api.Module, stack []uint64) {
		clear(stack[:len(results)])
		if len(results) > 0 {
			stack[0] = uint64(statusUnimplemented)
		}
	}
}

// contextID is the context hostcalls act on: the effective context if one
// is set and still exists, else the one the callback was invoked on
// (proxy-wasm-cpp-host ContextOrEffectiveContext).
func (c *call) contextID() uint32 {
	v := c.vm
	if e := v.effective; e != 0 && (e == v.root || v.streams[e] != nil) {
		return e
	}
	return v.current
}

// stream is the HTTP stream hostcalls act on; nil in the root context.
func (c *call) stream() *Stream { return c.vm.streams[c.contextID()] }

func (c *call) readString(ptr, size uint64) (string, bool) {
	b, ok := c.read(uint32(ptr), uint32(size))
	return string(b), ok
}

// maxLogLines bounds the lines a VM keeps.
const maxLogLines = 10000

// proxyLog records a log line (Context::log).
func proxyLog(c *call, a []uint64) status {
	msg, ok := c.readString(a[1], a[2])
	switch {
	case a[0] > 5:
		return statusBadArgument
	case !ok:
		return statusInvalidMemoryAccess
	}
	l := LogLine{Level: int(a[0]), Msg: msg}
	if len(c.vm.logs) >= maxLogLines { // a long run keeps the latest lines
		c.vm.logs = append(c.vm.logs[:0], c.vm.logs[maxLogLines/2:]...)
	}
	c.vm.logs = append(c.vm.logs, l)
	if f := c.vm.h.opts.OnLog; f != nil {
		f(c.vm.index, l)
	}
	return statusOK
}

// rootProperty reports whether Envoy resolves a property without a
// stream (Context::findValue): the plugin_* tokens and the node under
// xds.node. Every other one needs stream info (xds.route_*, xds.listener_*
// included) and is not found from a root context. Since Envoy 1.33 there is
// no top-level "node", "listener_metadata" or "listener_direction".
func rootProperty(parts []string) bool {
	switch parts[0] {
	case "plugin_name", "plugin_root_id", "plugin_vm_id":
		return true
	case "xds":
		return len(parts) > 1 && parts[1] == "node"
	}
	return false
}

// proxyGetProperty looks the NUL-separated path up, NotFound when unset
// (Context::getProperty).
func proxyGetProperty(c *call, a []uint64) status {
	raw, ok := c.readString(a[0], a[1])
	if !ok {
		return statusInvalidMemoryAccess
	}
	parts := strings.Split(raw, "\x00")
	path := strings.Join(parts, ".")
	s := c.stream()
	var value string
	found := false
	if s != nil {
		value, found = s.props[path]
	}
	if !found && (s != nil || rootProperty(parts)) {
		value, found = c.vm.h.property(path)
	}
	if !found {
		return statusNotFound
	}
	if !copyOut(c.guest, value, uint32(a[2]), uint32(a[3])) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// proxySetProperty sets a request-scoped property (Envoy keeps it in the
// stream's filter state); there is none in a root context
// (Context::setProperty).
func proxySetProperty(c *call, a []uint64) status {
	path, ok1 := c.readString(a[0], a[1])
	value, ok2 := c.readString(a[2], a[3])
	if !ok1 || !ok2 {
		return statusInvalidMemoryAccess
	}
	s := c.stream()
	if s == nil {
		return statusNotFound
	}
	if s.props == nil {
		s.props = map[string]string{}
	}
	s.props[strings.ReplaceAll(path, "\x00", ".")] = value
	return statusOK
}

// proxyGetSharedData: NotFound for an absent key, else the value and its
// CAS token (exports.cc get_shared_data).
func proxyGetSharedData(c *call, a []uint64) status {
	key, ok := c.readString(a[0], a[1])
	if !ok {
		return statusInvalidMemoryAccess
	}
	value, cas, found := c.vm.h.shared.get(key)
	if !found {
		return statusNotFound
	}
	if !copyOut(c.guest, value, uint32(a[2]), uint32(a[3])) || !c.putU32(uint32(a[4]), cas) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// proxySetSharedData: see sharedData.set.
func proxySetSharedData(c *call, a []uint64) status {
	key, ok1 := c.readString(a[0], a[1])
	value, ok2 := c.read(uint32(a[2]), uint32(a[3]))
	if !ok1 || !ok2 {
		return statusInvalidMemoryAccess
	}
	if hook := c.vm.h.opts.BeforeSharedSet; hook != nil {
		hook(c.vm.index, key)
	}
	return c.vm.h.shared.set(key, value, uint32(a[4]))
}

// proxySetTickPeriod records the root context's tick period (Context::setTimerPeriod).
func proxySetTickPeriod(c *call, a []uint64) status {
	c.vm.tick = time.Duration(uint32(a[0])) * time.Millisecond
	select { // the real timer, if running, re-arms from now
	case c.vm.rearm <- struct{}{}:
	default:
	}
	return statusOK
}

// proxySetEffectiveContext switches the context later hostcalls of this
// callback act on; BadArgument for a context that does not exist on this VM
// (exports.cc set_effective_context).
func proxySetEffectiveContext(c *call, a []uint64) status {
	id, v := uint32(a[0]), c.vm
	if id != v.root && v.streams[id] == nil {
		return statusBadArgument
	}
	v.effective = id
	return statusOK
}

// proxyDone completes a teardown the plugin deferred by returning false from
// proxy_on_done; NotFound otherwise (WasmBase::done).
func proxyDone(c *call, _ []uint64) status {
	if !c.vm.doneWait {
		return statusNotFound
	}
	c.vm.doneWait = false
	return statusOK
}

func proxyDefineMetric(c *call, a []uint64) status {
	name, ok := c.readString(a[1], a[2])
	if !ok {
		return statusInvalidMemoryAccess
	}
	id, st := c.vm.h.metrics.define(uint32(a[0]), name)
	if st == statusOK && !c.putU32(uint32(a[3]), id) {
		return statusInvalidMemoryAccess
	}
	return st
}

func proxyIncrementMetric(c *call, a []uint64) status {
	return c.vm.h.metrics.increment(uint32(a[0]), int64(a[1]))
}

func proxyRecordMetric(c *call, a []uint64) status {
	return c.vm.h.metrics.record(uint32(a[0]), a[1])
}

func proxyGetMetric(c *call, a []uint64) status {
	v, st := c.vm.h.metrics.get(uint32(a[0]))
	if st == statusOK && !c.putU64(uint32(a[1]), v) {
		return statusInvalidMemoryAccess
	}
	return st
}
