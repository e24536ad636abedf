package e2e

import (
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/meshprobe/meshprobe/checks"
	"github.com/meshprobe/meshprobe/internal/envoyroutes"
	"github.com/meshprobe/meshprobe/internal/testing/envoyrun"
)

// faultListener adds a listener "faults" whose wasm filter runs the
// misbehave plugin (wasm) under meshprobe's vm_id, on every request: Envoy
// keeps shared data per vm_id, so its /shared endpoint reads and writes
// meshprobe's.
func faultListener(wasm string) func(*bootstrapv3.Bootstrap) error {
	return func(b *bootstrapv3.Bootstrap) error {
		l := proto.Clone(b.GetStaticResources().GetListeners()[0]).(*listenerv3.Listener)
		l.Name = "faults"
		l.Address = &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
			Address: "127.0.0.1", PortSpecifier: &corev3.SocketAddress_PortValue{}}}}
		err := envoyrun.EachHTTPFilter(l, func(f *hcmv3.HttpFilter) error {
			var w wasmv3.Wasm
			if f.GetTypedConfig().UnmarshalTo(&w) != nil {
				return nil
			}
			f.Disabled = false
			w.GetConfig().Name, w.GetConfig().RootId = "faults", "faults"
			w.GetConfig().GetVmConfig().GetCode().GetLocal().Specifier = &corev3.DataSource_Filename{Filename: wasm}
			a, err := anypb.New(&w)
			f.ConfigType = &hcmv3.HttpFilter_TypedConfig{TypedConfig: a}
			return err
		})
		if err == nil {
			err = envoyrun.EachConnectionManager(l, func(hcm *hcmv3.HttpConnectionManager) error {
				envoyroutes.Unscope(hcm)
				return nil
			})
		}
		b.StaticResources.Listeners = append(b.StaticResources.Listeners, l)
		return err
	}
}

// The fault table of plugin/sharedfaults_test.go in Envoy, with faults
// written into Envoy's own shared data by a second plugin: whatever the
// fault, the check keeps running, and within an interval of the dependency
// failing readiness says 503 as /dependencies says down.
func TestEnvoySharedStateFaults(t *testing.T) {
	injector := buildMisbehave(t, "")
	const (
		interval = 500 * time.Millisecond
		config   = `{"refresh":{"interval":"500ms","jitter":0},"details":{"allow_cidrs":["127.0.0.0/8"]},
			"checks":[{"name":"dep","kind":"http","cluster":"dep","timeout":"200ms","failure_threshold":1}]}`
	)
	cfg, err := checks.Parse([]byte(config))
	if err != nil {
		t.Fatal(err)
	}
	k := checks.SharedKeys("meshprobe", cfg, []byte(config))
	check, proxy, summary, snapshot, lease := k.Checks[0], k.Proxy, k.Summary, k.Snapshot, k.Lease
	hourAhead := func() uint64 { return uint64(time.Now().Add(time.Hour).UnixMilli()) }
	eachEnvoy(t, func(t *testing.T, rt runtimeCase) {
		p := newHTTPPeer(t, "ok", "")
		px := rt.envoy(t, config, map[string]upstream{"dep": {Addr: p.addr()}}, envoyOptions{edit: faultListener(injector)})
		addr, err := px.e.Listener("faults")
		if err != nil {
			t.Fatal(err)
		}
		faults := "http://" + addr + "/shared"
		read := func(key string) []byte {
			r := request(t, nil, "GET", faults, [2]string{"x-key", key})
			v, err := hex.DecodeString(r.body)
			if r.status != 200 || err != nil {
				t.Fatalf("reading %s: %d %s", key, r.status, r.body)
			}
			return v
		}
		write := func(key string, v []byte, pad int) {
			r := request(t, nil, "PUT", faults, [2]string{"x-key", key}, [2]string{"x-value", hex.EncodeToString(v)},
				[2]string{"x-pad", strconv.Itoa(pad)})
			if r.status != http.StatusOK {
				t.Fatalf("writing %s: %d %s", key, r.status, r.body)
			}
		}
		cases := []struct {
			name  string
			fault func()
		}{
			{"check record garbage", func() { write(check, []byte("garbage"), 0) }},
			{"check record truncated", func() { write(check, read(check)[:7], 0) }},
			{"check record empty", func() { write(check, nil, 0) }},
			{"check record of another layout", func() { r := read(check); r[0]--; write(check, r, 0) }},
			{"check record of several megabytes", func() { write(check, read(check), 4<<20) }},
			{"check record reset to blank", func() { write(check, checks.EncodeCheck(&checks.CheckState{}), 0) }},
			{"proxy record garbage", func() { write(proxy, []byte("garbage"), 0) }},
			{"summary garbage", func() { write(summary, []byte("garbage"), 0) }},
			{"summary truncated", func() { write(summary, read(summary)[:9], 0) }},
			{"summary empty", func() { write(summary, nil, 0) }},
			{"summary of another version", func() { m := read(summary); m[0]++; write(summary, m, 0) }},
			{"summary from a build before the snapshot", func() { m := read(summary); m[14], m[15] = 0, 0; write(summary, m, 0) }},
			{"snapshot garbage", func() { write(snapshot, []byte("garbage"), 0) }},
			{"snapshot truncated", func() { write(snapshot, read(snapshot)[:9], 0) }},
			{"snapshot of several megabytes", func() { write(snapshot, read(snapshot), 4<<20) }},
			{"next run an hour in the future", func() {
				cs, err := checks.DecodeCheck(read(check))
				if err != nil {
					t.Fatal(err)
				}
				cs.NextDue = int64(hourAhead())
				write(check, checks.EncodeCheck(&cs), 0)
			}},
			{"lease held an hour into the future", func() {
				l := make([]byte, 16)
				binary.BigEndian.PutUint64(l, 42)
				binary.BigEndian.PutUint64(l[8:], hourAhead())
				write(lease, l, 0)
			}},
			{"lease of the wrong size", func() { write(lease, []byte{1, 2, 3, 4, 5}, 0) }},
		}
		for _, c := range cases {
			p.set(modeUp)
			waitStatus(t, px.base+"/health/probes/readiness", 200, 5*time.Second)
			c.fault()
			// A summary or snapshot readers cannot trust sends them to the records.
			if strings.HasPrefix(c.name, "summary") || strings.HasPrefix(c.name, "snapshot") {
				if agg, st, _ := dependencies(t, px.base); agg != "up" || st != "up" {
					t.Errorf("%s: /dependencies right after the fault says %s, dep %s; want up", c.name, agg, st)
				}
			}
			before := p.count()
			p.set(modeDown)
			// The check runs again and /dependencies says down...
			for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
				if _, st, _ := dependencies(t, px.base); st == "down" && p.count() > before {
					break
				}
				if time.Since(start) > 2*interval+scheduleSlack {
					agg, st, msg := dependencies(t, px.base)
					t.Fatalf("%s: %d checks since the fault; /dependencies still says %s, dep %s %q", c.name, p.count()-before, agg, st, msg)
				}
			}
			// ...and readiness says so too (the summary follows the record
			// right after the write).
			waitStatus(t, px.base+"/health/probes/readiness", 503, 300*time.Millisecond)
		}
	})
}
