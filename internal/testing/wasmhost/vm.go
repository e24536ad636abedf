package wasmhost

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// VM is one worker's instance of the plugin, with its root context.
type VM struct {
	h      *Host
	index  int
	mod    api.Module
	root   uint32
	config []byte // the plugin configuration, readable while it starts

	retired atomic.Bool // Host.Retire tore it down: its timer ends

	timerStopped atomic.Bool   // StopTimer: the real timer skips its ticks
	rearm        chan struct{} // a new tick period: the real timer restarts its wait
	restricted   string        // "_initialize" or the allocator while it runs: see bind
	dispatched   atomic.Int64
	fns          map[string]api.Function // exports by name, guarded by mu
	ctx          context.Context         // the host's, carrying this VM for hostcalls
	stack        [8]uint64               // params and result of v.call (CallWithStack; callbacks take at most 5)
	allocStack   [1]uint64               // the guest allocator's, called during a hostcall

	// mu serialises guest calls, as one Envoy worker thread runs one VM.
	// Everything below is guarded by it; hostcalls run with it held.
	mu         sync.Mutex
	configured bool
	starting   bool   // in vm_start/configure: plugin configuration readable
	current    uint32 // context the running callback was invoked on
	effective  uint32 // proxy_set_effective_context; 0: current
	streams    map[uint32]*Stream
	response   *callResponse // during proxy_on_http_call_response only
	logs       []LogLine
	tick       time.Duration
	doneWait   bool  // proxy_on_done returned false: proxy_done is allowed
	dead       error // the guest trapped: every later call fails with this
	output     tailBuffer
}

// LogLine is one proxy_log call.
type LogLine struct {
	Level int // proxy-wasm: 0 trace, 1 debug, 2 info, 3 warn, 4 error, 5 critical
	Msg   string
}

func (l LogLine) String() string {
	names := []string{"trace", "debug", "info", "warn", "error", "critical"}
	if l.Level >= 0 && l.Level < len(names) {
		return names[l.Level] + ": " + l.Msg
	}
	return fmt.Sprintf("level %d: %s", l.Level, l.Msg)
}

var errClosed = errors.New("host: closed")

type vmKey struct{}

// vmOf returns the VM whose guest call is running (nil outside one).
func vmOf(ctx context.Context) *VM {
	v, _ := ctx.Value(vmKey{}).(*VM)
	return v
}

// start runs the plugin's start-up as proxy-wasm-cpp-host's WasmBase::start
// and ContextBase::onStart/onConfigure do; the plugin configuration is
// readable during vm_start and configure only (Envoy's temp_plugin_).
func (v *VM) start() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	root := uint64(v.root)
	v.restricted = "_initialize"
	_, err := v.call(0, "_initialize")
	v.restricted = ""
	if err != nil {
		return err
	}
	if _, err := v.call(v.root, "proxy_on_context_create", root, 0); err != nil {
		return err
	}
	v.starting = true
	defer func() { v.starting = false }()
	ok, err := v.call(v.root, "proxy_on_vm_start", root, uint64(len(v.h.opts.VMConfig)))
	if err != nil || ok == 0 {
		return err
	}
	ok, err = v.call(v.root, "proxy_on_configure", root, uint64(len(v.config)))
	v.configured = err == nil && ok != 0
	return err
}

// call runs one exported callback, with v.mu held, as a new call into the
// VM: the current context is ctxID and the effective context is reset, as
// proxy-wasm-cpp-host does on every entry. A trap or a call over
// guestCallLimit is reported once and leaves the VM dead: later calls
// return that error without running.
func (v *VM) call(ctxID uint32, name string, args ...uint64) (uint64, error) {
	if v.dead != nil {
		return 0, v.dead
	}
	if v.h.life.Err() != nil {
		return 0, errClosed
	}
	f := v.fn(name)
	if f == nil {
		err := fmt.Errorf("host: VM %d: the module does not export %s", v.index, name)
		v.h.fail(err)
		return 0, err
	}
	prevCurrent, prevEffective := v.current, v.effective
	v.current, v.effective = ctxID, 0
	defer func() { v.current, v.effective = prevCurrent, prevEffective }()

	ctx := v.ctx
	if !v.h.opts.Unbounded {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, guestCallLimit)
		defer cancel()
	}
	// The stack is the VM's: wazero copies the parameters in at entry and
	// the result out at return, so a nested call cannot disturb either.
	results := len(f.Definition().ResultTypes())
	stack := v.stack[:max(len(args), results)]
	copy(stack, args)
	err := f.CallWithStack(ctx, stack)
	if err != nil {
		v.dead = fmt.Errorf("host: VM %d: %s(%v): %w%s", v.index, name, args, err, v.output.tail())
		v.h.fail(v.dead)
		return 0, v.dead
	}
	if results == 0 {
		return 0, nil
	}
	return uint64(uint32(stack[0])), nil // every proxy_on_* result is an i32
}

// fn returns the guest export name, looked up once per VM: wazero makes a
// new call engine (and stack) per lookup, a host cost Envoy does not have
// on every callback. Calls are serialised by v.mu, and a nested call (the
// guest allocator during a hostcall) is always a different export.
func (v *VM) fn(name string) api.Function {
	f, ok := v.fns[name]
	if !ok {
		f = v.mod.ExportedFunction(name)
		v.fns[name] = f
	}
	return f
}

// Configured reports whether proxy_on_vm_start and proxy_on_configure both
// succeeded; false is Envoy refusing the configuration.
func (v *VM) Configured() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.configured
}

// Dispatched is how many callouts this VM has dispatched so far.
func (v *VM) Dispatched() int64 { return v.dispatched.Load() }

// Logs returns every proxy_log line of this VM so far.
func (v *VM) Logs() []LogLine {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.logs)
}

// TickPeriod is the period last set with proxy_set_tick_period_milliseconds
// (0: no tick). The test drives ticks itself with Tick.
func (v *VM) TickPeriod() time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.tick
}

// Tick calls proxy_on_tick on the root context, unless it was retired.
func (v *VM) Tick() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.retired.Load() {
		v.call(v.root, "proxy_on_tick", uint64(v.root))
	}
}

// Done calls proxy_on_done on the root context (plugin teardown) and
// returns its answer; after false the plugin may finish with proxy_done.
func (v *VM) Done() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	done, err := v.call(v.root, "proxy_on_done", uint64(v.root))
	v.doneWait = err == nil && done == 0
	return err == nil && done != 0
}

// tailBuffer keeps the start and the end of the guest's stdout and stderr
// for error reports: a Go crash names its cause first ("fatal error: ...",
// "panic: ...") and then dumps every goroutine.
type tailBuffer struct {
	mu         sync.Mutex
	head, buf  []byte
	overflowed bool
}

const headMax, tailMax = 1024, 4096

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	written := len(p)
	if n := min(len(p), headMax-len(b.head)); n > 0 {
		b.head = append(b.head, p[:n]...)
		p = p[n:]
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) > tailMax {
		b.buf = append([]byte(nil), b.buf[len(b.buf)-tailMax:]...)
		b.overflowed = true
	}
	return written, nil
}

func (b *tailBuffer) tail() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	gap := ""
	if b.overflowed {
		gap = "\n[...]\n"
	}
	if s := strings.TrimSpace(string(b.head) + gap + string(b.buf)); s != "" {
		return "\nguest output:\n" + s
	}
	return ""
}
