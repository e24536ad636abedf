package main

import "fmt"

// rung is a row's place on a table's ladder, from what Envoy does without
// wasm to meshprobe: what Envoy's wasm costs (native → runtime-free), what
// Go costs (runtime-free → Go floor) and what meshprobe adds (Go floor →
// meshprobe).
type rung int

const (
	native  rung = iota // Envoy alone: no filter, health_check, direct_response
	noRT                // a module in WebAssembly text, no language runtime (floors/*.wat)
	goFloor             // a Go floor module (e2e/testdata/floor-*)
	plugin              // meshprobe
)

// row of a table: a label, the cell it shows and its rung.
type row struct {
	label string
	cell  cell
	rung  rung
}

// table shows its rows as a ladder: each as a ratio to its row at index
// base, and to the rung above it (rungAbove).
type table struct {
	title string
	base  int
	rows  []row
}

// rungAbove is the index of the nearest row above row i on a lower rung,
// or -1 if there is none.
func (t table) rungAbove(i int) int {
	for j := i - 1; j >= 0; j-- {
		if t.rows[j].rung < t.rows[i].rung {
			return j
		}
	}
	return -1
}

const defaultHeaders = 10

// tables are the load tables, each a ladder.
func tables() []table {
	live := func(config string) cell { return cell{config, livenessPath, defaultHeaders} }
	ready := func(config string) cell { return cell{config, readinessPath, defaultHeaders} }
	api := func(config string, headers int) cell { return cell{config, apiPath, headers} }
	doc := func(config, path string) cell { return cell{config, path, defaultHeaders} }
	watReply := row{"runtime-free wasm (WAT) reply (the same reply on every path)", live("floor-reply-wat"), noRT}
	goReply := row{"Go floor-reply wasm (the same reply on every path)", live("floor-reply"), goFloor}
	return []table{
		{"liveness", 1, []row{
			{"direct_response route", live("direct_response"), native},
			{"Envoy health_check filter", live("health_check"), native},
			{"runtime-free wasm (WAT) reply", live("floor-reply-wat"), noRT},
			{"Go floor-reply wasm", live("floor-reply"), goFloor},
			{"meshprobe", live("meshprobe-10"), plugin},
		}},
		{"readiness, checks up", 0, []row{
			{"Envoy health_check filter, cluster_min_healthy_percentages over 10 clusters", ready("health_check-10"), native},
			watReply,
			goReply,
			{"meshprobe, 10 checks", ready("meshprobe-10"), plugin},
			{"meshprobe, 50 checks", ready("meshprobe-50"), plugin},
		}},
		{"pass-through `GET /api/orders?page=2` to a loopback upstream, 10 request headers", 0, []row{
			{"no filter", api("no-filter", 10), native},
			{"runtime-free wasm (WAT) continue", api("floor-continue-wat", 10), noRT},
			{"Go floor-continue wasm", api("floor-continue", 10), goFloor},
			{"meshprobe on every request", api("meshprobe-10-unscoped", 10), plugin},
			{"meshprobe as shipped (on its health routes only: no wasm on this path)", api("meshprobe-10", 10), plugin},
		}},
		{"pass-through with 100 request headers", 0, []row{
			{"no filter", api("no-filter", 100), native},
			{"meshprobe on every request", api("meshprobe-10-unscoped", 100), plugin},
		}},
		{"status documents (details allowed)", 1, []row{
			watReply,
			goReply,
			{"meshprobe `/health/dependencies`, 50 checks", doc("meshprobe-50", "/health/dependencies"), plugin},
			{"meshprobe `/health/metrics`, 50 checks", doc("meshprobe-50", "/health/metrics"), plugin},
		}},
	}
}

// printTables writes the load tables (rows left out by -match left out): requests/s as ratios to the table's
// base row and to the rung above, latencies, and Envoy's CPU per request,
// also over the rung above.
func printTables(p printf, ts []table, r map[cell]figures) {
	for _, t := range ts {
		if r[t.rows[t.base].cell].rps == 0 { // left out by -match
			continue
		}
		p("#### %s\n\n| configuration | requests/s | × %s | × rung above | p50 µs | p99 µs | p99.9 µs | Envoy CPU µs/req | CPU over rung above |\n",
			t.title, t.rows[t.base].label)
		p("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		base := r[t.rows[t.base].cell].rps
		for i, row := range t.rows {
			f := r[row.cell]
			if f.rps == 0 {
				continue
			}
			x, more := "–", "–"
			if j := t.rungAbove(i); j >= 0 && r[t.rows[j].cell].rps > 0 {
				a := r[t.rows[j].cell]
				x, more = fmt.Sprintf("%.3f", f.rps/a.rps), fmt.Sprintf("%+.1f", f.cpuPerReq-a.cpuPerReq)
			}
			p("| %s | %.0f | %.3f | %s | %.0f | %.0f | %.0f | %.1f | %s |\n", row.label, f.rps, f.rps/base, x, f.p50, f.p99, f.p999, f.cpuPerReq, more)
		}
		p("\n")
	}
}
