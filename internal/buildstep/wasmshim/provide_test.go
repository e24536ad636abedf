package wasmshim

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// testModule builds a small module around a poll_oneoff import placed
// between two other imports, so that renumbering shows in every place that
// names a function: direct calls, the table, exports. pollBody is the body
// of the function exported as "poll"; extra sections are appended at the end.
func testModule(pollBody []byte, extra ...[]byte) []byte {
	vec := func(items ...[]byte) []byte {
		out := appendU32(nil, uint32(len(items)))
		for _, it := range items {
			out = append(out, it...)
		}
		return out
	}
	sec := func(id byte, body []byte) []byte {
		return append(appendU32([]byte{id}, uint32(len(body))), body...)
	}
	imp := func(module, name string, typ byte) []byte {
		return append(appendName(appendName(nil, module), name), 0x00, typ)
	}
	export := func(name string, kind, idx byte) []byte { return append(appendName(nil, name), kind, idx) }
	fn := func(code ...byte) []byte {
		return append(appendU32(nil, uint32(len(code)+1)), append([]byte{0x00}, code...)...)
	}
	i32 := byte(0x7f)

	mod := append([]byte(nil), magic...)
	mod = append(mod, sec(1, vec(
		[]byte{0x60, 0x00, 0x01, i32},                     // type 0: () -> i32
		[]byte{0x60, 0x04, i32, i32, i32, i32, 0x01, i32}, // type 1: poll_oneoff
	))...)
	mod = append(mod, sec(2, vec(
		imp("env", "seven", 0),                          // func 0
		imp("wasi_snapshot_preview1", "poll_oneoff", 1), // func 1
		imp("env", "eleven", 0),                         // func 2
	))...)
	mod = append(mod, sec(3, vec([]byte{0}, []byte{0}, []byte{0}))...)        // funcs 3, 4, 5
	mod = append(mod, sec(4, vec([]byte{0x70, 0x00, 0x03}))...)               // table: 3 funcrefs
	mod = append(mod, sec(5, vec([]byte{0x00, 0x01}))...)                     // memory: 1 page
	mod = append(mod, sec(7, vec(export("seven", 0, 3), export("poll", 0, 4), // exports
		export("mix", 0, 5), export("memory", 2, 0)))...)
	mod = append(mod, sec(9, vec(append([]byte{0x00, 0x41, 0x00, 0x0b}, vec([]byte{3}, []byte{4}, []byte{2})...)))...) // table = f3, f4, eleven
	mod = append(mod, sec(10, vec(
		fn(0x10, 0x00, 0x0b), // seven: call 0
		append(appendU32(nil, uint32(len(pollBody))), pollBody...),
		fn( // mix: a block left by br_table, then table[2]() + seven()
			0x02, 0x40, 0x41, 0x00, 0x0e, 0x01, 0x00, 0x00, 0x0b,
			0x41, 0x02, 0x11, 0x00, 0x00, // call_indirect type 0, table 0
			0x10, 0x03, 0x6a, 0x0b), // call seven, i32.add
	))...)
	for _, e := range extra {
		mod = append(mod, e...)
	}
	return mod
}

// pollCaller stores 77 at address 100, calls poll_oneoff with nevents=100
// and returns errno*1000 + the value left at 100.
var pollCaller = []byte{0x00,
	0x41, 0xe4, 0x00, 0x41, 0xcd, 0x00, 0x36, 0x02, 0x00, // i32.store(100, 77)
	0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0x41, 0xe4, 0x00, 0x10, 0x01, // call poll_oneoff(0, 0, 0, 100)
	0x41, 0xe8, 0x07, 0x6c, // i32.const 1000, i32.mul
	0x41, 0xe4, 0x00, 0x28, 0x02, 0x00, 0x6a, // + i32.load(100)
	0x0b,
}

func instantiate(t *testing.T, mod []byte) api.Module {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	t.Cleanup(func() { r.Close(ctx) })
	env := r.NewHostModuleBuilder("env")
	for name, v := range map[string]int32{"seven": 7, "eleven": 11} {
		env.NewFunctionBuilder().WithFunc(func() int32 { return v }).Export(name)
	}
	if _, err := env.Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	// The host of Envoy before 1.39: ENOSYS, nevents untouched.
	_, err := r.NewHostModuleBuilder("wasi_snapshot_preview1").NewFunctionBuilder().
		WithFunc(func(in, out, n, nevents int32) int32 { return 52 }).Export("poll_oneoff").Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.Instantiate(ctx, mod)
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	return m
}

func call(t *testing.T, m api.Module, name string) int32 {
	t.Helper()
	res, err := m.ExportedFunction(name).Call(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return int32(res[0])
}

func TestProvide(t *testing.T) {
	orig := testModule(pollCaller)
	patched, err := Provide(orig, "wasi_snapshot_preview1", "poll_oneoff", PollOneoff)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	compiled, err := r.CompileModule(ctx, patched)
	if err != nil {
		t.Fatalf("patched module does not compile: %v", err)
	}
	for _, f := range compiled.ImportedFunctions() {
		if m, n, _ := f.Import(); n == "poll_oneoff" {
			t.Errorf("patched module still imports %s.%s", m, n)
		}
	}
	for _, c := range []struct {
		mod  []byte
		fn   string
		want int32
	}{
		{orig, "poll", 52077}, // the host's ENOSYS, nevents left as it was
		{patched, "poll", 0},  // success, no event
		{orig, "seven", 7},
		{patched, "seven", 7},
		{orig, "mix", 18},
		{patched, "mix", 18},
	} {
		name := "patched"
		if &c.mod[0] == &orig[0] {
			name = "original"
		}
		if got := call(t, instantiate(t, c.mod), c.fn); got != c.want {
			t.Errorf("%s %s() = %d, want %d", name, c.fn, got, c.want)
		}
	}
}

func TestProvideRefuses(t *testing.T) {
	nameSection := append([]byte{0x00, 0x05}, appendName(nil, "name")...)
	for _, c := range []struct {
		name string
		mod  []byte
		want string
	}{
		{"not wasm", []byte("\x00asm\x02\x00\x00\x00"), "not a WebAssembly"},
		{"truncated", func() []byte { m := testModule(pollCaller); return m[:len(m)-3] }(), "past the end"},
		{"name section", testModule(pollCaller, nameSection), `"name" section`},
		{"SIMD opcode", testModule([]byte{0x00, 0xfd, 0x0c, 0x0b}), "opcode 0xfd"},
		{"unknown 0xfc opcode", testModule([]byte{0x00, 0xfc, 0x20, 0x0b}), "0xfc 32"},
		{"bytes after the end", testModule([]byte{0x00, 0x41, 0x00, 0x0b, 0x0b}), "after the final end"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Provide(c.mod, "wasi_snapshot_preview1", "poll_oneoff", PollOneoff)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
	if _, err := Provide(testModule(pollCaller), "wasi_snapshot_preview1", "sched_yield", PollOneoff); !errors.Is(err, ErrNoImport) {
		t.Errorf("absent import: err = %v, want ErrNoImport", err)
	}
}
