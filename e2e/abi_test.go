package e2e

// Static ABI check of the built plugin: without starting Envoy, make sure
// build/meshprobe.wasm exports what Envoy calls and imports only what Envoy's
// wasm host provides. Envoy links every import when it loads the module, so a
// single unknown import (for example a WASI call pulled in by a new std
// package) makes it reject the plugin at startup; these tests catch that in CI.

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

// requiredExports are the functions Envoy looks up in the module. Each of
// these has a //go:wasmexport in proxy-wasm-go-sdk's proxywasm/internal, so a
// missing one means the SDK was not linked in or the build mode is wrong.
var requiredExports = []string{
	// WASI reactor entry point: Envoy runs it (Go's package init) before any
	// proxy_on_* callback; -buildmode=c-shared is what produces it.
	"_initialize",
	// Envoy reads the ABI version from this export's name; without it the
	// module fails with "Missing or unknown Proxy-Wasm ABI version".
	"proxy_abi_version_0_2_0",
	// Envoy's allocator for copying data into the module (the module has no
	// malloc export, so this is the one it falls back to).
	"proxy_on_memory_allocate",
	// Callbacks the plugin depends on: VM and plugin start, per-request
	// contexts, request headers (the probe endpoints), callouts to
	// dependencies, the background tick, and drain/teardown.
	"proxy_on_vm_start",
	"proxy_on_configure",
	"proxy_on_context_create",
	"proxy_on_request_headers",
	"proxy_on_http_call_response",
	"proxy_on_tick",
	"proxy_on_done",
	"proxy_on_delete",
}

// requiredMemories: Envoy reads and writes the plugin's linear memory through
// the export named "memory".
var requiredMemories = []string{"memory"}

// Host functions proxy-wasm-cpp-host (the wasm host embedded in Envoy) links
// into a module, by import module name. Only names are listed. Source:
// github.com/proxy-wasm/proxy-wasm-cpp-host
//   - include/proxy-wasm/exports.h: FOR_ALL_HOST_FUNCTIONS,
//     FOR_ALL_HOST_FUNCTIONS_ABI_SPECIFIC and FOR_ALL_WASI_FUNCTIONS;
//   - src/wasm.cc: WasmBase::registerCallbacks, which registers the "env"
//     ones with a "proxy_" prefix and the WASI ones under both
//     "wasi_unstable" and "wasi_snapshot_preview1".
var envoyHostImports = map[string][]string{
	"env": {
		// FOR_ALL_HOST_FUNCTIONS: registered for every ABI version.
		"proxy_log",
		"proxy_get_status",
		"proxy_set_property",
		"proxy_get_property",
		"proxy_send_local_response",
		"proxy_get_shared_data",
		"proxy_set_shared_data",
		"proxy_register_shared_queue",
		"proxy_resolve_shared_queue",
		"proxy_dequeue_shared_queue",
		"proxy_enqueue_shared_queue",
		"proxy_get_header_map_value",
		"proxy_add_header_map_value",
		"proxy_replace_header_map_value",
		"proxy_remove_header_map_value",
		"proxy_get_header_map_pairs",
		"proxy_set_header_map_pairs",
		"proxy_get_header_map_size",
		"proxy_get_buffer_status",
		"proxy_get_buffer_bytes",
		"proxy_set_buffer_bytes",
		"proxy_http_call",
		"proxy_grpc_call",
		"proxy_grpc_stream",
		"proxy_grpc_close",
		"proxy_grpc_cancel",
		"proxy_grpc_send",
		"proxy_set_tick_period_milliseconds",
		"proxy_get_current_time_nanoseconds",
		"proxy_define_metric",
		"proxy_increment_metric",
		"proxy_record_metric",
		"proxy_get_metric",
		"proxy_set_effective_context",
		"proxy_done",
		"proxy_call_foreign_function",
		// Registered only when the module exports proxy_abi_version_0_2_0 (or
		// 0_2_1). proxy_get_log_level is deliberately absent: Envoy registers
		// it for ABI 0.2.1 only, and this module declares 0.2.0.
		"proxy_continue_stream",
		"proxy_close_stream",
		// Non-proxy helpers registered in "env" for C/C++ toolchains.
		"pthread_equal",
		"emscripten_notify_memory_growth",
	},
	"wasi_snapshot_preview1": {
		// FOR_ALL_WASI_FUNCTIONS before proxy-wasm-cpp-host PR #427.
		"fd_write",
		"fd_read",
		"fd_seek",
		"fd_close",
		"fd_fdstat_get",
		"environ_get",
		"environ_sizes_get",
		"args_get",
		"args_sizes_get",
		"clock_time_get",
		"random_get",
		"proc_exit",
		"path_open",
		"fd_prestat_get",
		"fd_prestat_dir_name",
		// Added by PR #427 for upstream Go's wasip1 runtime; in Envoy since
		// 1.33, the minimum proxy-wasm-go-sdk's README asks for. The rest of
		// wasip1 (PR #533, merged 2026-03) is left out on purpose: Envoy
		// releases older than that would refuse a module that needs it.
		// PR #427 added poll_oneoff too, but see unsafeImports.
		"fd_fdstat_set_flags",
		"sched_yield",
	},
}

// unsafeImports are provided by Envoy but must not be imported, with why.
var unsafeImports = map[string]string{
	// Until PR #533 (Envoy 1.39) the host answers ENOSYS, and Go's runtime
	// aborts on that when a garbage collection restarts the world
	// (golang/go#78513). `make build` defines it inside the module instead.
	"wasi_snapshot_preview1.poll_oneoff": "Envoy before 1.39 answers it with ENOSYS and Go's runtime aborts at a collection: build with `make build`, which provides it (cmd/wasmshim)",
}

// abiModule holds what checkABI looks at, as plain names, so that a test can
// feed it a doctored copy.
type abiModule struct {
	exports  []string // exported function names
	memories []string // exported memory names
	imports  []string // imported functions as "module.name"
}

// checkABI returns one message per problem; an empty result means Envoy
// should be able to link the module and find every callback it needs.
func checkABI(exports, memories, imports []string) []string {
	var problems []string
	for _, name := range requiredExports {
		if !slices.Contains(exports, name) {
			problems = append(problems, "missing export "+name+": Envoy needs this function in the module")
		}
	}
	for _, name := range requiredMemories {
		if !slices.Contains(memories, name) {
			problems = append(problems, "missing memory export "+name+": Envoy cannot exchange data with the module")
		}
	}
	for _, imp := range imports {
		if why, bad := unsafeImports[imp]; bad {
			problems = append(problems, "import "+imp+": "+why)
			continue
		}
		module, name, ok := strings.Cut(imp, ".")
		if !ok || !slices.Contains(envoyHostImports[module], name) {
			problems = append(problems, "import "+imp+" is not provided by Envoy's wasm host (proxy-wasm-cpp-host): Envoy would refuse to load the module")
		}
	}
	return problems
}

// loadABI reads the built plugin and lists its exports and imports. A missing
// file fails the test rather than skipping it, so a CI run without `make
// build` cannot pass by silently checking nothing.
func loadABI(t *testing.T) abiModule {
	t.Helper()
	bin := pluginWasm(t)

	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	compiled, err := r.CompileModule(ctx, bin)
	if err != nil {
		t.Fatalf("the plugin is not a valid wasm module: %v", err)
	}
	defer compiled.Close(ctx)

	var m abiModule
	for name := range compiled.ExportedFunctions() {
		m.exports = append(m.exports, name)
	}
	for name := range compiled.ExportedMemories() {
		m.memories = append(m.memories, name)
	}
	for _, def := range compiled.ImportedFunctions() {
		module, name, _ := def.Import()
		m.imports = append(m.imports, module+"."+name)
	}
	slices.Sort(m.exports)
	slices.Sort(m.memories)
	// Go's standard library imports some WASI functions (fd_write,
	// random_get) from more than one package, so a name can appear twice.
	m.imports = slices.Compact(slices.Sorted(slices.Values(m.imports)))
	return m
}

func TestABIMatchesEnvoy(t *testing.T) {
	m := loadABI(t)
	t.Logf("imports (%d): %s", len(m.imports), strings.Join(m.imports, " "))
	for _, p := range checkABI(m.exports, m.memories, m.imports) {
		t.Error(p)
	}
}

// TestCheckABIDetectsProblems proves the checker can fail: each case breaks a
// copy of the real module's lists in one way and expects exactly that problem.
func TestCheckABIDetectsProblems(t *testing.T) {
	m := loadABI(t)
	without := func(list []string, drop string) []string {
		return slices.DeleteFunc(slices.Clone(list), func(s string) bool { return s == drop })
	}
	tests := []struct {
		name                       string
		exports, memories, imports []string
		want                       string
	}{
		{
			name:     "import Envoy does not provide",
			exports:  m.exports,
			memories: m.memories,
			imports:  append(slices.Clone(m.imports), "env.proxy_does_not_exist"),
			want:     "import env.proxy_does_not_exist is not provided",
		},
		{
			name:     "WASI import outside Envoy's subset",
			exports:  m.exports,
			memories: m.memories,
			imports:  append(slices.Clone(m.imports), "wasi_snapshot_preview1.sock_accept"),
			want:     "import wasi_snapshot_preview1.sock_accept is not provided",
		},
		{
			name:     "poll_oneoff left to the host (the Go toolchain's output)",
			exports:  m.exports,
			memories: m.memories,
			imports:  append(slices.Clone(m.imports), "wasi_snapshot_preview1.poll_oneoff"),
			want:     "import wasi_snapshot_preview1.poll_oneoff: Envoy before 1.39 answers it with ENOSYS",
		},
		{
			name:     "ABI 0.2.1-only host call under ABI 0.2.0",
			exports:  m.exports,
			memories: m.memories,
			imports:  append(slices.Clone(m.imports), "env.proxy_get_log_level"),
			want:     "import env.proxy_get_log_level is not provided",
		},
		{
			name:     "missing ABI version export",
			exports:  without(m.exports, "proxy_abi_version_0_2_0"),
			memories: m.memories,
			imports:  m.imports,
			want:     "missing export proxy_abi_version_0_2_0",
		},
		{
			name:     "missing callback",
			exports:  without(m.exports, "proxy_on_tick"),
			memories: m.memories,
			imports:  m.imports,
			want:     "missing export proxy_on_tick",
		},
		{
			name:     "missing memory",
			exports:  m.exports,
			memories: nil,
			imports:  m.imports,
			want:     "missing memory export memory",
		},
	}
	// Compare against the real module's own result, so this test checks the
	// checker even when TestABIMatchesEnvoy is already failing.
	baseline := checkABI(m.exports, m.memories, m.imports)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			added := slices.DeleteFunc(checkABI(tc.exports, tc.memories, tc.imports),
				func(p string) bool { return slices.Contains(baseline, p) })
			if len(added) != 1 || !strings.HasPrefix(added[0], tc.want) {
				t.Fatalf("checkABI reported %q beyond the real module's problems, want exactly one starting with %q", added, tc.want)
			}
		})
	}
}
