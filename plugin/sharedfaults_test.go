package plugin

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/meshprobe/meshprobe/checks"
)

// rewriteState decodes the shared state record of config, changes it and
// writes it back, its header to the summary mirror too, as a write does.
func rewriteState(t *testing.T, px testProxy, config string, change func(*checks.State)) {
	t.Helper()
	cfg, err := checks.Parse([]byte(config))
	if err != nil {
		t.Fatal(err)
	}
	state, summary := sharedKeys(config)
	s, err := checks.Decode(cfg, px.shared(state))
	if err != nil {
		t.Fatal(err)
	}
	change(s)
	rec := checks.Encode(cfg, s)
	px.setShared(state, rec)
	px.setShared(summary, rec[:checks.HeaderSize])
}

// Shared state can be lost, corrupted, left by another build or written
// with a clock that stepped back. Whatever the fault, within one interval
// readiness tells the truth /dependencies tells, and the checks keep
// running. Each case breaks the state of a proxy whose check is up, then
// the dependency fails: one interval later the check must have run, and
// readiness must say 503 as /dependencies says down (a stale summary, a
// frozen schedule or a lease nobody can take would all keep saying 200).
func TestSharedStateFaults(t *testing.T) {
	const config = `{"refresh":{"interval":"2s","jitter":0},"checks":[{"name":"a","kind":"http","cluster":"a","failure_threshold":1}]}`
	cfg, err := checks.Parse([]byte(config))
	if err != nil {
		t.Fatal(err)
	}
	state, summary := sharedKeys(config)
	_, lease := checks.SharedKeys("meshprobe", []byte(config))
	hour := time.Hour.Milliseconds()
	leaseRecord := func(owner uint64, expiry int64) []byte {
		b := make([]byte, 16)
		binary.BigEndian.PutUint64(b, owner)
		binary.BigEndian.PutUint64(b[8:], uint64(expiry))
		return b
	}
	cases := []struct {
		name  string
		fault func(t *testing.T, px testProxy)
	}{
		{"record garbage", func(t *testing.T, px testProxy) { px.setShared(state, []byte("garbage")) }},
		{"record truncated", func(t *testing.T, px testProxy) { px.setShared(state, px.shared(state)[:checks.HeaderSize+7]) }},
		{"record empty", func(t *testing.T, px testProxy) { px.setShared(state, []byte{}) }},
		{"record of another codec version", func(t *testing.T, px testProxy) {
			rec := bytes.Clone(px.shared(state))
			rec[0]++
			px.setShared(state, rec)
		}},
		{"record of several megabytes", func(t *testing.T, px testProxy) {
			px.setShared(state, append(bytes.Clone(px.shared(state)), make([]byte, 4<<20)...))
		}},
		{"record rebuilt: its sequence restarts below the summary's", func(t *testing.T, px testProxy) {
			px.setShared(state, checks.Encode(cfg, checks.NewState(cfg)))
		}},
		{"summary garbage", func(t *testing.T, px testProxy) { px.setShared(summary, []byte("garbage")) }},
		{"summary truncated", func(t *testing.T, px testProxy) { px.setShared(summary, px.shared(summary)[:9]) }},
		{"summary empty", func(t *testing.T, px testProxy) { px.setShared(summary, []byte{}) }},
		{"summary of another codec version", func(t *testing.T, px testProxy) {
			m := bytes.Clone(px.shared(summary))
			m[0]++
			px.setShared(summary, m)
		}},
		{"summary with a higher sequence", func(t *testing.T, px testProxy) {
			m := bytes.Clone(px.shared(summary))
			binary.BigEndian.PutUint16(m[14:], binary.BigEndian.Uint16(m[14:])+30000)
			px.setShared(summary, m)
		}},
		{"next run an hour in the future", func(t *testing.T, px testProxy) {
			rewriteState(t, px, config, func(s *checks.State) { s.Checks[0].NextDue = now().UnixMilli() + hour })
		}},
		{"lease held an hour into the future", func(t *testing.T, px testProxy) {
			px.setShared(lease, leaseRecord(42, now().UnixMilli()+hour))
		}},
		{"lease of the wrong size", func(t *testing.T, px testProxy) { px.setShared(lease, []byte{1, 2, 3, 4, 5}) }},
	}
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				px := rt.mustStart(t, config, nil)
				px.tick()
				answerAll(t, px, map[string]reply{"a": {status: "200"}})
				if r := px.do("GET", "/health/probes/readiness"); r.status != 200 {
					t.Fatalf("readiness %d before the fault; want 200", r.status)
				}
				c.fault(t, px)
				px.advance(2 * time.Second) // one interval
				px.tick()
				if n := len(px.callouts()); n != 1 {
					t.Fatalf("%d checks ran in the interval after the fault; want 1", n)
				}
				answerAll(t, px, map[string]reply{"a": {status: "500"}})
				deps := px.do("GET", "/health/dependencies")
				if !bytes.Contains([]byte(deps.body), []byte(`"status":"down"`)) {
					t.Errorf("/health/dependencies = %s; want the check down", deps.body)
				}
				if r := px.do("GET", "/health/probes/readiness"); r.status != 503 {
					t.Errorf("readiness %d %s while /dependencies says %s; want 503", r.status, r.body, deps.body)
				}
			})
		}
	})
}
