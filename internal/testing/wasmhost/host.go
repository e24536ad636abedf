// Package wasmhost runs a compiled proxy-wasm plugin on wazero the way Envoy
// does: several worker VMs that share one shared-data store, a root context
// per VM, HTTP streams, callouts, host properties, metrics and a clock.
// Tests drive it by hand (ticks, requests, answering callouts, a fake
// clock), or it does real I/O: an HTTP listener (Listen), callouts sent to
// Upstreams, and real timers (StartTimers), as `make run` uses it.
//
// It exists because the SDK's proxytest wasm wrapper never forwards
// proxy_on_http_call_response into the guest, so callout-driven behaviour
// cannot be tested on the compiled .wasm through it.
//
// Hostcalls follow Envoy (source/extensions/common/wasm/context.cc) and
// proxy-wasm-cpp-host (src/exports.cc); each says which behaviour it
// mirrors. Each VM runs one guest call at a time, as an Envoy worker thread
// does, so a Host may be driven from several goroutines.
//
// Failures never hang and never pass silently: a guest trap, a guest call
// over its time limit or a misuse of the host (answering a callout that is
// not pending) is recorded in Err and passed to Options.OnError.
package wasmhost

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// Options configure a Host.
type Options struct {
	Wasm         []byte // the compiled plugin
	PluginConfig []byte
	VMConfig     []byte
	// Workers is the number of worker VMs (default 2, Envoy's smallest
	// multi-worker case): each its own module instance, as Envoy runs one
	// per worker thread; all share one shared-data store and one metric
	// store, and the compiled module through the compilation cache. As in
	// Envoy, a configuration canary is started and dropped first, and one
	// more VM runs on the "main thread" (Main): it ticks, never serves.
	// Log lines and errors name the canary -1 and the main VM Workers.
	Workers int
	// Properties maps a dotted property path ("source.address",
	// "xds.node.metadata.LABELS.app", "plugin_name") to its raw value,
	// returned as is: encode non-string properties as Envoy does
	// (source.port is an 8-byte little-endian integer). Request-scoped
	// properties (source.*, request.*, connection.*, ...) are, as in Envoy,
	// not found from a root context. Envoy (since 1.33) has no top-level
	// "node" property: New refuses one.
	Properties map[string]string
	// Clusters are the known cluster names; nil means every cluster is
	// known. proxy_http_call to an unknown one returns BadArgument, as Envoy.
	// Callouts to these wait for the test's Respond or Fail.
	Clusters []string
	// Upstreams are clusters reached over real sockets (also known
	// clusters): their callouts are sent and answered by themselves.
	Upstreams map[string]Upstream
	// Clock, if set, is the guest's wall and monotonic clock; nil is real time.
	Clock *Clock
	// BeforeSharedSet, if set, runs just before a guest's proxy_set_shared_data
	// (vm is the writer's index). A test may drive another VM from it, so that
	// VM writes between this one's read and write: the race Envoy's worker
	// threads have. It must not drive the writing VM itself.
	BeforeSharedSet func(vm int, key string)
	// OnLog, if set, receives every proxy_log line as it is logged, with
	// the VM's index. It runs with that VM locked: it must not call back
	// into the Host.
	OnLog func(vm int, l LogLine)
	// OnError, if set, receives every error as it happens (see Err), for
	// example t.Error. It runs on the goroutine that drives the Host, while
	// a VM may be locked: it must not call back into the Host.
	OnError func(error)
	// OldEnvoy answers wasi_snapshot_preview1.poll_oneoff as Envoy before
	// 1.39 does (proxy-wasm-cpp-host before PR #533): ENOSYS, nevents left
	// as it was. Go's wasip1 runtime aborts on that at a garbage
	// collection unless the module provides poll_oneoff itself.
	OldEnvoy bool
	// Unbounded runs guest calls without guestCallLimit, as Envoy does (it
	// bounds no guest call). wazero enforces the bound with a goroutine and
	// a channel per call, the guest allocator's nested calls included: on a
	// probe that is most of the host's own cost, which would swamp what the
	// benchmarks compare. Tests leave it false, so a guest that loops
	// forever fails the test instead of hanging it.
	Unbounded bool
}

// Host is a proxy-wasm host running one plugin on Options.Workers VMs.
type Host struct {
	opts      Options
	ctx       context.Context
	life      context.Context // cancelled by Close: ends real callouts and timers
	stop      context.CancelFunc
	runtime   wazero.Runtime
	gen       atomic.Pointer[generation] // the instances new requests go to
	all       []*VM                      // every VM ever started, by index (a Callout's VM indexes this); guarded by mu
	timers    bool                       // StartTimers ran: new VMs tick on real timers too; guarded by mu
	shared    *sharedData
	metrics   *metrics
	clusters  map[string]bool // nil: every cluster is known
	upstreams upstreams
	next      atomic.Uint32 // the listener's round-robin over VMs

	reloading   sync.Mutex // one Reload at a time: VM indexes are handed out in order
	mu          sync.Mutex
	nextContext uint32 // context ids are unique across the host
	nextCallout uint32
	callouts    []Callout // dispatched, not yet answered, in dispatch order
	errs        []error
}

// guestCallLimit bounds one guest call: a guest that loops forever fails the
// call (wazero closes the module) instead of hanging the test.
const guestCallLimit = 30 * time.Second

// compilationCache is shared by every Host in the process: the plugin is
// compiled once, however many Hosts a test binary creates.
var compilationCache = wazero.NewCompilationCache()

// New compiles the plugin, instantiates Options.Workers VMs with a real
// random source (so VMs draw different identities) and starts each as Envoy
// does: _initialize, proxy_on_context_create(root, 0), proxy_on_vm_start,
// proxy_on_configure. A plugin that refuses its configuration is not an
// error: the Host is returned with VM.Configured false. A guest trap is.
func New(ctx context.Context, o Options) (*Host, error) {
	if len(o.Wasm) == 0 {
		return nil, errors.New("host: Options.Wasm is empty")
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	for k := range o.Properties {
		if strings.HasPrefix(k, "node.") {
			return nil, fmt.Errorf("host: property %q: Envoy serves the node only under xds.node", k)
		}
	}
	h := &Host{opts: o, ctx: ctx, shared: newSharedData(), metrics: newMetrics()}
	h.life, h.stop = context.WithCancel(ctx)
	if o.Clusters != nil || o.Upstreams != nil {
		h.clusters = map[string]bool{}
		for _, c := range o.Clusters {
			h.clusters[c] = true
		}
		for c := range o.Upstreams {
			h.clusters[c] = true
		}
	}
	h.runtime = wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithCompilationCache(compilationCache).
		WithCloseOnContextDone(!o.Unbounded))
	if err := h.start(); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// instantiateWASI registers wazero's wasip1, with Envoy's older poll_oneoff
// in place of its own under OldEnvoy.
func (h *Host) instantiateWASI() error {
	b := h.runtime.NewHostModuleBuilder(wasi_snapshot_preview1.ModuleName)
	wasi_snapshot_preview1.NewFunctionExporter().ExportFunctions(b)
	if h.opts.OldEnvoy {
		const enosys = 52
		b.NewFunctionBuilder().
			WithFunc(func(_ context.Context, in, out, nsubscriptions, nevents uint32) uint32 { return enosys }).
			Export("poll_oneoff")
	}
	_, err := b.Instantiate(h.ctx)
	return err
}

// generation is the VMs of one plugin instance: the workers, which serve,
// and the main thread's.
type generation struct {
	vms          []*VM
	main         *VM
	wasm, config []byte
}

func (h *Host) start() error {
	g, _, err := h.startGeneration(h.opts.Wasm, h.opts.PluginConfig)
	if err != nil {
		return err
	}
	h.gen.Store(g)
	return nil
}

// startGeneration compiles wasm (once per build: the compilation cache) and
// starts its canary, workers and main-thread VM configured with config.
// On a reload, a configuration the canary refuses starts nothing (refused).
func (h *Host) startGeneration(wasm, config []byte) (g *generation, refused bool, err error) {
	compiled, err := h.runtime.CompileModule(h.ctx, wasm)
	if err != nil {
		return nil, false, fmt.Errorf("host: compiling the plugin: %w", err)
	}
	exports := compiled.ExportedFunctions()
	if exports["proxy_abi_version_0_2_0"] == nil && exports["proxy_abi_version_0_2_1"] == nil {
		return nil, false, errors.New("host: the module exports no proxy_abi_version_0_2_{0,1}: not a proxy-wasm 0.2 plugin")
	}
	if exports["proxy_on_memory_allocate"] == nil {
		return nil, false, errors.New("host: the module does not export proxy_on_memory_allocate")
	}
	if h.runtime.Module(wasi_snapshot_preview1.ModuleName) == nil {
		if err := h.instantiateWASI(); err != nil {
			return nil, false, fmt.Errorf("host: wasi: %w", err)
		}
		if err := h.instantiateEnv(compiled); err != nil {
			return nil, false, fmt.Errorf("host: env module: %w", err)
		}
	}
	// As Envoy: a configuration canary (a throwaway clone that is started
	// and configured, then dropped without proxy_on_done), then one VM per
	// worker thread, then one on the main thread, which ticks and may call
	// out but never sees a request (Envoy's thread-local slot also runs on
	// the main thread).
	canary, err := h.newVM(compiled, -1, "canary", config)
	if err != nil {
		return nil, false, err
	}
	err = canary.start()
	canary.mod.Close(h.ctx)
	if err != nil {
		return nil, false, fmt.Errorf("host: configuration canary: %w", err)
	}
	if !canary.configured && h.gen.Load() != nil {
		return nil, true, fmt.Errorf("host: the plugin refused the configuration: %v", canary.logs)
	}
	g = &generation{wasm: wasm, config: config}
	for i := range h.opts.Workers + 1 {
		h.mu.Lock()
		index := len(h.all)
		h.mu.Unlock()
		v, err := h.newVM(compiled, index, fmt.Sprintf("vm%d", index), config)
		if err != nil {
			return nil, false, err
		}
		h.mu.Lock()
		h.all = append(h.all, v)
		timers := h.timers
		h.mu.Unlock()
		if err := v.start(); err != nil {
			return nil, false, err
		}
		if timers {
			go v.runTimer()
		}
		if i < h.opts.Workers {
			g.vms = append(g.vms, v)
		} else {
			g.main = v
		}
	}
	return g, false, nil
}

func (h *Host) newVM(compiled wazero.CompiledModule, i int, name string, config []byte) (*VM, error) {
	v := &VM{h: h, index: i, root: h.newContextID(), config: config, streams: map[uint32]*Stream{}, fns: map[string]api.Function{}, rearm: make(chan struct{}, 1)}
	v.ctx = context.WithValue(h.ctx, vmKey{}, v)
	cfg := wazero.NewModuleConfig().
		WithName(name).
		WithStartFunctions(). // _initialize runs through VM.call, with the VM in its context
		WithRandSource(rand.Reader).
		WithStdout(&v.output).
		WithStderr(&v.output)
	if c := h.opts.Clock; c != nil {
		cfg = cfg.WithWalltime(c.walltime, sys.ClockResolution(1)).WithNanotime(c.nanotime, sys.ClockResolution(1))
	} else {
		cfg = cfg.WithSysWalltime().WithSysNanotime()
	}
	var err error
	if v.mod, err = h.runtime.InstantiateModule(h.ctx, compiled, cfg); err != nil {
		return nil, fmt.Errorf("host: instantiating %s: %w", name, err)
	}
	return v, nil
}

// Close stops timers and real callouts and releases every VM. It does not
// run plugin teardown: call VM.Done first for that.
func (h *Host) Close() error {
	h.stop()
	for _, v := range h.VMs() {
		// A barrier: waits for a guest call in progress; later ones do not run.
		v.mu.Lock()
		//lint:ignore SA2001 the empty critical section is the barrier
		v.mu.Unlock()
	}
	h.upstreams.close()
	return h.runtime.Close(h.ctx)
}

// VM returns worker VM i (0-based) of the current instance; it panics if
// there is no such VM.
func (h *Host) VM(i int) *VM {
	vms := h.gen.Load().vms
	if i < 0 || i >= len(vms) {
		panic(fmt.Sprintf("host: VM(%d): the host has %d VMs", i, len(vms)))
	}
	return vms[i]
}

// Workers is the number of worker VMs.
func (h *Host) Workers() int { return len(h.gen.Load().vms) }

// Main is the current instance's VM on Envoy's main thread: it ticks (on
// real timers) and may call out, but no request reaches it.
func (h *Host) Main() *VM { return h.gen.Load().main }

// VMs are every VM started so far, retired ones included: the first
// instance's workers and main thread's, then each reload's.
func (h *Host) VMs() []*VM {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.all)
}

// Instance is the current plugin instance's VMs: its workers, then its
// main thread's. Reload hands back the one it replaced.
func (h *Host) Instance() []*VM {
	g := h.gen.Load()
	return append(slices.Clone(g.vms), g.main)
}

// Err returns every error recorded so far (guest traps, host misuse),
// joined, or nil.
func (h *Host) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return errors.Join(h.errs...)
}

func (h *Host) fail(err error) {
	h.mu.Lock()
	h.errs = append(h.errs, err)
	h.mu.Unlock()
	if h.opts.OnError != nil {
		h.opts.OnError(err)
	}
}

// SharedData returns a shared-data entry as the guest would read it.
func (h *Host) SharedData(key string) (value []byte, cas uint32, ok bool) {
	return h.shared.get(key)
}

// SetSharedData writes a shared-data entry unconditionally, as another VM
// or another build of the plugin in the same proxy would.
func (h *Host) SetSharedData(key string, value []byte) { h.shared.set(key, value, 0) }

// Metric returns the value of the counter, else the gauge, of Envoy's stat
// name (StatPrefix and the name the plugin defined) over every VM (a
// gauge's int64 as two's complement).
func (h *Host) Metric(name string) (uint64, bool) { return h.metrics.lookup(name) }

func (h *Host) newContextID() uint32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nextContext++
	return h.nextContext
}

func (h *Host) knownCluster(name string) bool { return h.clusters == nil || h.clusters[name] }

// property looks a dotted path up in the host's properties.
func (h *Host) property(path string) (string, bool) {
	v, ok := h.opts.Properties[path]
	return v, ok
}

// Callout is an HTTP call the plugin dispatched with proxy_http_call.
type Callout struct {
	ID        uint32
	VM        int    // index of the VM that dispatched it
	ContextID uint32 // context the call was made from (root or stream)
	Cluster   string
	Headers   [][2]string
	Body      []byte
	Trailers  [][2]string
	Timeout   time.Duration // 0: none
}

// Callouts returns the callouts dispatched and not yet answered, in
// dispatch order.
func (h *Host) Callouts() []Callout {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.callouts)
}

// addCallout records a dispatched callout; one to an Upstream is sent at
// once, its answer delivered when the VM is free (as Envoy delivers it on
// the worker's event loop, after the current callback returns).
func (h *Host) addCallout(c Callout) uint32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nextCallout++
	c.ID = h.nextCallout
	if c.VM < 0 {
		return c.ID // the canary: dropped before any answer could come
	}
	h.callouts = append(h.callouts, c)
	h.all[c.VM].dispatched.Add(1)
	if up, ok := h.opts.Upstreams[c.Cluster]; ok {
		go h.send(c, up)
	}
	return c.ID
}

func (h *Host) takeCallout(id uint32) (Callout, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := slices.IndexFunc(h.callouts, func(c Callout) bool { return c.ID == id })
	if i < 0 {
		return Callout{}, false
	}
	c := h.callouts[i]
	h.callouts = slices.Delete(h.callouts, i, i+1)
	return c, true
}

// Respond answers callout id: proxy_on_http_call_response(root, id,
// len(headers), len(body), len(trailers)) runs on the VM that dispatched it,
// and the response is readable (HttpCallResponseHeaders, -Body, -Trailers)
// during that call only, as in Envoy's Context::onHttpCallSuccess.
func (h *Host) Respond(id uint32, headers [][2]string, body []byte, trailers [][2]string) {
	h.answer(id, &callResponse{headers: clonePairs(headers), body: slices.Clone(body), trailers: clonePairs(trailers)})
}

// Fail answers callout id as Envoy does on a timeout or reset
// (Context::onHttpCallFailure): the callback runs with no headers, no body
// and no trailers.
func (h *Host) Fail(id uint32) { h.answer(id, nil) }

func (h *Host) answer(id uint32, r *callResponse) {
	c, ok := h.takeCallout(id)
	if !ok {
		h.fail(fmt.Errorf("host: callout %d is not pending (never dispatched, or already answered)", id))
		return
	}
	h.mu.Lock()
	v := h.all[c.VM]
	h.mu.Unlock()
	if v.retired.Load() {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.response = r
	defer func() { v.response = nil }()
	var nh, nb, nt int
	if r != nil {
		nh, nb, nt = len(r.headers), len(r.body), len(r.trailers)
	}
	v.call(v.root, "proxy_on_http_call_response", uint64(v.root), uint64(id), uint64(nh), uint64(nb), uint64(nt))
}

// callResponse is a callout's response while its callback runs.
type callResponse struct {
	headers, trailers [][2]string
	body              []byte
}

// Reload applies a change to the plugin the way Envoy applies a listener
// update that changes it (a new configuration, or a new build when wasm is
// not nil): a new instance is started and configured first (canary,
// workers, main thread), new requests go to it, and the old one keeps
// running, ticking, answering its callouts and finishing its streams,
// until Retire tears it down, as Envoy does after the listener's drain
// time. Both share the one shared-data store, as Envoy's shared data
// outlives any VM of its vm_id. Envoy runs a changed configuration of the
// same build as a new root context in the VMs it has; the host starts new
// VMs for it, which differs in nothing the plugin can see: its root
// contexts share only shared data. Reload returns the old instance's VMs.
// A listener update that keeps the plugin's build and configuration keeps
// its instance in Envoy (proxy-wasm's thread-local plugin cache finds it):
// Reload then changes nothing and returns no VMs.
func (h *Host) Reload(wasm, config []byte) ([]*VM, error) {
	h.reloading.Lock()
	defer h.reloading.Unlock()
	cur := h.gen.Load()
	if wasm == nil {
		wasm = cur.wasm
	}
	if bytes.Equal(wasm, cur.wasm) && bytes.Equal(config, cur.config) {
		return nil, nil
	}
	old := h.Instance()
	// A configuration the canary refuses is an error, as in Envoy, which
	// rejects the update: the old instance serves on.
	g, _, err := h.startGeneration(wasm, config)
	if err != nil {
		return nil, err
	}
	h.gen.Store(g)
	return old, nil
}

// Retire tears an old instance down as Envoy does once its drain time is
// over: no more ticks, proxy_on_done on each root context, and answers to
// its callouts are dropped (Envoy cancels them with the context).
func (h *Host) Retire(vms []*VM) {
	for _, v := range vms {
		v.retired.Store(true)
		v.Done()
	}
}
