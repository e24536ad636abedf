package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// wabt's wasm-objdump reads the same function names and body sizes from a
// Go-built module as functions does, so the size table is what wabt says.
// `make test` installs wabt and requires this test (MESHPROBE_REQUIRE_WABT=1).
func TestFunctionsAgreeWithObjdump(t *testing.T) {
	objdump, err := exec.LookPath("wasm-objdump")
	if err != nil {
		if os.Getenv("MESHPROBE_REQUIRE_WABT") != "" {
			t.Fatal("wasm-objdump is required here (make test installs it: Debian package wabt)")
		}
		t.Skip("SKIPPED: wasm-objdump not on PATH; run `make test` to install wabt")
	}
	wasm := filepath.Join(t.TempDir(), "floor.wasm")
	build := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", wasm, "../../e2e/testdata/floor-reply")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	mod, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	fns, err := functions(mod)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(objdump, "-x", "-j", "Code", wasm).Output()
	if err != nil {
		t.Fatalf("wasm-objdump: %v", err)
	}
	var want []function
	for _, m := range regexp.MustCompile(`(?m)^ - func\[\d+\] size=(\d+) <([^>]*)>$`).FindAllSubmatch(out, -1) {
		size, _ := strconv.Atoi(string(m[1]))
		want = append(want, function{string(m[2]), size})
	}
	if len(want) < 1000 || len(fns) != len(want) {
		t.Fatalf("functions read %d bodies, wasm-objdump lists %d", len(fns), len(want))
	}
	for i := range want {
		if fns[i] != want[i] {
			t.Fatalf("function %d: functions reads %+v, wasm-objdump %+v", i, fns[i], want[i])
		}
	}
}
