// Package benchdata holds the inputs both benchmark suites use (native Go in
// plugin/, the compiled .wasm in e2e/), so their figures compare like with like.
package benchdata

import (
	"fmt"
	"slices"
	"strings"
)

// Config has n http checks (none if n is 0), with details allowed to
// loopback sources (for /metrics and details on /dependencies).
func Config(n int) string {
	var cs []string
	for i := range n {
		cs = append(cs, fmt.Sprintf(`{"name":"dep%02d","kind":"http","cluster":"outbound|8080||dep%02d.shop.svc.cluster.local","path":"/healthz","expect":{"json":{"status":"UP"}}}`, i, i))
	}
	return `{"service":{"name":"checkout","version":"1.4.2","commit":"a1b2c3d4","region":"us-west","env":"prod"},
 "details":{"allow_cidrs":["127.0.0.0/8"]},
 "checks":[` + strings.Join(cs, ",") + `]}`
}

// APIHeaders are an API call's request headers as Envoy hands them to the
// filter.
var APIHeaders = [][2]string{
	{":method", "GET"}, {":path", "/api/orders?page=2&limit=50"}, {":authority", "checkout.shop.svc.cluster.local"},
	{":scheme", "http"}, {"user-agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
	{"accept", "application/json"}, {"accept-encoding", "gzip, deflate, br"},
	{"x-request-id", "5f0c6b7e-1c1d-4f4e-9a57-0d6c2d1c8b1e"}, {"x-forwarded-proto", "https"},
	{"x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"},
}

// ProbeHeaders are a kubelet probe's request headers for path.
func ProbeHeaders(path string) [][2]string {
	return [][2]string{{":method", "GET"}, {":path", path}, {":authority", "10.12.3.4:15021"}, {":scheme", "http"},
		{"user-agent", "kube-probe/1.31"}, {"accept", "*/*"}, {"connection", "close"}}
}

// Median of v (v is not modified); 0 for none.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}
