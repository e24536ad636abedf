// Command meshprobe-config checks meshprobe configurations before they are
// pushed, with the plugin's own parser (checks.Parse), and prints the
// effective configuration.
//
//	go run ./cmd/meshprobe-config check FILE...    # exit 1 on any problem
//	go run ./cmd/meshprobe-config explain FILE...  # the effective configuration, as /info serves it
//	go run ./cmd/meshprobe-config routes [-cluster NAME] [-filter NAME] FILE...
//	    # Envoy routes that enable the filter on exactly the paths it answers
//	    # (for a bootstrap: its filter's name and its catch-all's action)
//	go run ./cmd/meshprobe-config envoyfilter -port PORT FILE...
//	    # the same for one workload's WasmPlugins under Istio, as an EnvoyFilter
//
// A FILE is a plugin configuration (JSON, what the wasm filter's
// configuration holds), Kubernetes manifests (each meshprobe WasmPlugin's
// pluginConfig: one whose name, url or pluginName names meshprobe; other
// documents are passed over) or an Envoy bootstrap or listener (every
// meshprobe wasm filter in it: one whose name, root_id, vm_id or code names
// meshprobe). A problem is reported as the plugin logs it:
//
//	FILE[: where]: meshprobe: invalid configuration: FIELD: PROBLEM
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/meshprobe/meshprobe/checks"
	"github.com/meshprobe/meshprobe/internal/envoyboot"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = "usage: meshprobe-config check|explain FILE...\n       meshprobe-config routes [-cluster NAME] [-filter NAME] FILE...\n       meshprobe-config envoyfilter -port PORT WASMPLUGIN-FILE..."

// run returns the exit status: 0 when every configuration is valid, 1 when
// any is not, 2 for a usage error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) >= 2 && args[0] == "envoyfilter" {
		return runEnvoyFilter(args[1:], stdout, stderr)
	}
	if len(args) < 2 || (args[0] != "check" && args[0] != "explain" && args[0] != "routes") {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	cmd, files := args[0], args[1:]
	var r routesFlags
	if cmd == "routes" {
		if files = r.parse(files, stderr); files == nil {
			fmt.Fprintln(stderr, usage)
			return 2
		}
	}
	status := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			status = 1
			continue
		}
		if b, _, err := envoyboot.LoadBootstrap(data); err == nil && isBootstrap(data) {
			// A bootstrap Envoy takes: its routes can be checked and made.
			switch cmd {
			case "routes":
				if err := r.printBootstrap(stdout, file, b); err != nil {
					fmt.Fprintf(stderr, "%s: %v\n", file, err)
					status = 1
				}
				continue
			case "check":
				for _, p := range unreached(b) {
					fmt.Fprintf(stderr, "%s: %s\n", file, p)
					status = 1
				}
			}
		}
		found, err := configurations(data)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", file, err)
			status = 1
			continue
		}
		if len(found) == 0 {
			fmt.Fprintf(stdout, "%s: no meshprobe configuration\n", file)
		}
		for _, f := range found {
			where := file
			if f.where != "" {
				where += ": " + f.where
			}
			cfg, err := checks.Parse(f.raw)
			if err != nil {
				// The line the plugin logs when it refuses a configuration.
				fmt.Fprintf(stderr, "%s: meshprobe: %v\n", where, err)
				status = 1
				continue
			}
			for _, w := range cfg.Warnings {
				fmt.Fprintf(stderr, "%s: warning: meshprobe: %s\n", where, w)
			}
			switch cmd {
			case "check":
				fmt.Fprintf(stdout, "%s: ok (%d checks, %d routes)\n", where, len(cfg.Checks), len(cfg.Routes))
				continue
			case "routes":
				if err := r.print(stdout, where, cfg); err != nil {
					fmt.Fprintf(stderr, "%s: %v\n", where, err)
					status = 1
				}
				continue
			}
			info := checks.InfoDocument(cfg)
			var doc bytes.Buffer
			if json.Indent(&doc, info, "", "  ") != nil {
				doc.Reset()
				doc.Write(info) // still the document, on one line
			}
			fmt.Fprintf(stdout, "# %s\n%s\n", where, doc.String())
		}
	}
	return status
}
