package e2e

import (
	"strings"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

// Host semantics that only Envoy can prove: each test here failed, or
// would fail, against a plugin written from internal/testing/wasmhost's old assumptions.

// /up takes the identity Istio puts in the proxy's node metadata. Envoy
// serves it under xds.node (a top-level "node" property is gone since 1.33).
func TestEnvoyIdentityFromNodeMetadata(t *testing.T) {
	meta, err := structpb.NewStruct(map[string]any{
		"WORKLOAD_NAME": "checkout-v1", "NAMESPACE": "shop", "CLUSTER_ID": "east-1",
		"LABELS": map[string]any{"app": "checkout", "version": "v1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	eachEnvoy(t, func(t *testing.T, rt runtimeCase) {
		px := rt.envoy(t, `{"service":{"env":"prod"},"checks":[]}`, nil, envoyOptions{edit: func(b *bootstrapv3.Bootstrap) error {
			b.Node = &corev3.Node{Id: "sidecar~10.0.0.1~checkout-v1-abc.shop~shop.svc.cluster.local", Cluster: "checkout.shop", Metadata: meta}
			return nil
		}})
		code, body := get(t, px.base+"/health/up")
		want := `{"status":"up","service_name":"checkout","version":"v1","env":"prod","namespace":"shop","cluster":"east-1","server_timestamp":"`
		if code != 200 || len(body) < len(want) || body[:len(want)] != want {
			t.Errorf("/health/up = %d %s\nwant a body starting %s", code, body, want)
		}
	})
}

// Envoy names a plugin's metrics "wasmcustom.<name>"; the shipped
// stats_tags must match that whole name, so /stats/prometheus carries real
// labels, not names with the labels folded in.
func TestEnvoyStatsWithLabels(t *testing.T) {
	eachEnvoy(t, func(t *testing.T, rt runtimeCase) {
		app := newHTTPPeer(t, "ok", "")
		px := rt.envoy(t, `{"refresh":{"interval":"300ms","jitter":0},"checks":[{"name":"app","kind":"http","cluster":"app"}]}`,
			map[string]upstream{"app": {Addr: app.addr()}}, envoyOptions{})
		waitStatus(t, px.base+"/health/probes/readiness", 200, 5*time.Second)
		for range 3 {
			get(t, px.base+"/health/probes/liveness")
		}
		prom, err := px.e.AdminGet("/stats/prometheus")
		if err != nil {
			t.Fatal(err)
		}
		samples := map[string]string{}
		for _, l := range strings.Split(prom, "\n") {
			if strings.HasPrefix(l, "meshprobe_") || strings.Contains(l, "meshprobe_") && !strings.HasPrefix(l, "#") {
				if name, value, ok := strings.Cut(l, " "); ok {
					samples[name] = value
				}
			}
		}
		for name, want := range map[string]string{
			`meshprobe_probe_requests_total{endpoint="standard/liveness",code="200"}`: "3",
			`meshprobe_check_up{check="app"}`:                                         "1",
		} {
			if got, ok := samples[name]; !ok || got != want {
				t.Errorf("/stats/prometheus: %s = %q (present %v); want %s\nmeshprobe samples: %v", name, got, ok, want, samples)
			}
		}
	})
}
