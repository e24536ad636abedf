package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// allowedDeps is every package the plugin may link (for wasip1/wasm), and
// why. A change that pulls in another one fails TestDependencies: weigh it
// with `make size` first, and add it here with its reason.
var allowedDeps = map[string]string{
	// meshprobe and what the product design names.
	"github.com/meshprobe/meshprobe":                             "the plugin's entry point (main.go)",
	"github.com/meshprobe/meshprobe/plugin":                      "the proxy-wasm side",
	"github.com/meshprobe/meshprobe/checks":                      "configuration, state and answers, free of the SDK",
	"github.com/tidwall/gjson":                                   "reads the configuration and checks' JSON answers (the design names it)",
	"github.com/tidwall/match":                                   "gjson's wildcard matching",
	"github.com/tidwall/pretty":                                  "gjson's @pretty and @ugly modifiers, registered at gjson's init; go.mod replaces it with internal/pretty, which links no encoding/json",
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm":          "the proxy-wasm Go SDK",
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types":    "the SDK's context interfaces",
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/internal": "the SDK's ABI exports and host calls",

	// The standard library.
	"runtime":         "the Go runtime",
	"runtime/debug":   "main.go sets GOGC to 50 unless the VM's environment sets it",
	"unsafe":          "runtime, SDK and plugin/localreply_wasip1.go (the raw local reply)",
	"structs":         "runtime and syscall (HostLayout)",
	"errors":          "error values throughout",
	"sync":            "runtime support of io, os, time, reflect and others",
	"sync/atomic":     "sync and os",
	"io":              "interfaces of fmt, bytes, strings and os",
	"io/fs":           "os",
	"os":              "main.go reads GOGC; fmt writes to files",
	"path":            "io/fs",
	"syscall":         "os and time on wasip1",
	"time":            "durations and the clock (checks, plugin), gjson, the SDK",
	"math":            "float bits, NaN and infinity tests in checks; limits in the SDK",
	"math/bits":       "checks' SHA-256 rotations, runtime, strconv",
	"math/rand/v2":    "plugin: scheduling jitter and the lease identity",
	"strconv":         "number formatting and parsing throughout",
	"strings":         "string handling in checks and gjson",
	"bytes":           "checks (JSON scans, the status page) and others",
	"unicode":         "checks/redact.go (case folding, printable runes), strings, bytes",
	"unicode/utf8":    "checks' UTF-8 validation, strconv, gjson",
	"unicode/utf16":   "gjson decodes \\u surrogate pairs",
	"slices":          "Contains/DeleteFunc in checks and plugin; reflect",
	"cmp":             "slices",
	"iter":            "reflect, slices, bytes, strings",
	"reflect":         "fmt (and encoding/binary's generic paths)",
	"fmt":             "the SDK imports it; errors in checks and plugin",
	"encoding/binary": "the shared-state codec (checks), the SDK's ABI, reply headers",
}

// allowedDepPrefixes admit whole trees of packages.
var allowedDepPrefixes = map[string]string{
	"internal/": "the standard library's own internals (runtime, maps, poll, godebug, strconv)",
}

// TestDependencies lists the packages the plugin links for wasip1/wasm and
// fails on any not allowed above, and on any allowed that it no longer
// links, so that every reason stays true.
func TestDependencies(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", ".")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	linked := map[string]bool{}
	for _, pkg := range strings.Fields(string(out)) {
		linked[pkg] = true
		if _, ok := allowedDeps[pkg]; ok {
			continue
		}
		allowed := false
		for prefix := range allowedDepPrefixes {
			if strings.HasPrefix(pkg, prefix) {
				allowed, linked[prefix] = true, true
			}
		}
		if !allowed {
			t.Errorf("the plugin links %s, which allowedDeps does not list: drop the import, or weigh it (make size) and list it with a reason", pkg)
		}
	}
	for _, allowed := range []map[string]string{allowedDeps, allowedDepPrefixes} {
		for pkg := range allowed {
			if !linked[pkg] {
				t.Errorf("the allow-list names %s, which the plugin no longer links: remove it", pkg)
			}
		}
	}
}
