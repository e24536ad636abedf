package plugin

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/meshprobe/meshprobe/checks"
)

// pxStore is a test proxy's shared data as checks.Store (writes ignore CAS).
type pxStore struct{ px testProxy }

func (s pxStore) Get(key string) ([]byte, uint32, error) {
	if v := s.px.shared(key); v != nil {
		return v, 1, nil
	}
	return nil, 0, checks.ErrNotFound
}

func (s pxStore) Set(key string, v []byte, _ uint32) error { s.px.setShared(key, v); return nil }

// rewriteCheck changes check i's shared record of config and brings the
// configuration's summary up to date, as a write does.
func rewriteCheck(t *testing.T, px testProxy, config string, i int, change func(*checks.CheckState)) {
	t.Helper()
	cfg, k := sharedKeys(t, config)
	cs, err := checks.DecodeCheck(px.shared(k.Checks[i]))
	if err != nil {
		t.Fatal(err)
	}
	change(&cs)
	px.setShared(k.Checks[i], checks.EncodeCheck(&cs))
	if _, _, err := checks.Summarize(pxStore{px}, k, cfg, false); err != nil {
		t.Fatal(err)
	}
}

// sharedKeys are the shared-data keys of a configuration.
func sharedKeys(t testing.TB, config string) (*checks.Config, checks.Keys) {
	cfg, err := checks.Parse([]byte(config))
	if err != nil {
		t.Fatal(err)
	}
	return cfg, checks.SharedKeys("meshprobe", cfg, []byte(config))
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
	_, k := sharedKeys(t, config)
	check, proxy, summary, snapshot, lease := k.Checks[0], k.Proxy, k.Summary, k.Snapshot, k.Lease
	hour := time.Hour.Milliseconds()
	leaseRecord := func(owner uint64, expiry int64) []byte {
		b := make([]byte, 16)
		binary.BigEndian.PutUint64(b, owner)
		binary.BigEndian.PutUint64(b[8:], uint64(expiry))
		return b
	}
	var earlier []byte // the snapshot before the check's first result
	cases := []struct {
		name  string
		fault func(t *testing.T, px testProxy)
	}{
		{"check record garbage", func(t *testing.T, px testProxy) { px.setShared(check, []byte("garbage")) }},
		{"check record truncated", func(t *testing.T, px testProxy) { px.setShared(check, px.shared(check)[:7]) }},
		{"check record empty", func(t *testing.T, px testProxy) { px.setShared(check, []byte{}) }},
		{"check record of another layout", func(t *testing.T, px testProxy) {
			rec := bytes.Clone(px.shared(check))
			rec[0]--
			px.setShared(check, rec)
		}},
		{"check record of several megabytes", func(t *testing.T, px testProxy) {
			px.setShared(check, append(bytes.Clone(px.shared(check)), make([]byte, 4<<20)...))
		}},
		{"check record reset to blank", func(t *testing.T, px testProxy) {
			px.setShared(check, checks.EncodeCheck(&checks.CheckState{}))
		}},
		{"proxy record garbage", func(t *testing.T, px testProxy) { px.setShared(proxy, []byte("garbage")) }},
		{"proxy record empty", func(t *testing.T, px testProxy) { px.setShared(proxy, []byte{}) }},
		{"summary garbage", func(t *testing.T, px testProxy) { px.setShared(summary, []byte("garbage")) }},
		{"summary truncated", func(t *testing.T, px testProxy) { px.setShared(summary, px.shared(summary)[:9]) }},
		{"summary empty", func(t *testing.T, px testProxy) { px.setShared(summary, []byte{}) }},
		{"summary of another version", func(t *testing.T, px testProxy) {
			m := bytes.Clone(px.shared(summary))
			m[0]++
			px.setShared(summary, m)
		}},
		{"summary from a build before the snapshot", func(t *testing.T, px testProxy) {
			m := bytes.Clone(px.shared(summary))
			m[14], m[15] = 0, 0
			px.setShared(summary, m)
		}},
		{"snapshot garbage", func(t *testing.T, px testProxy) { px.setShared(snapshot, []byte("garbage")) }},
		{"snapshot truncated", func(t *testing.T, px testProxy) { px.setShared(snapshot, px.shared(snapshot)[:9]) }},
		{"snapshot of another version", func(t *testing.T, px testProxy) {
			b := bytes.Clone(px.shared(snapshot))
			b[0]++
			px.setShared(snapshot, b)
		}},
		{"snapshot of an earlier state, intact", func(t *testing.T, px testProxy) { px.setShared(snapshot, earlier) }},
		{"snapshot of several megabytes", func(t *testing.T, px testProxy) {
			px.setShared(snapshot, append(bytes.Clone(px.shared(snapshot)), make([]byte, 4<<20)...))
		}},
		{"next run an hour in the future", func(t *testing.T, px testProxy) {
			rewriteCheck(t, px, config, 0, func(s *checks.CheckState) { s.NextDue = now().UnixMilli() + hour })
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
				earlier = bytes.Clone(px.shared(snapshot))
				px.tick()
				answerAll(t, px, map[string]reply{"a": {status: "200"}})
				if r := px.do("GET", "/health/probes/readiness"); r.status != 200 {
					t.Fatalf("readiness %d before the fault; want 200", r.status)
				}
				before := px.do("GET", "/health/dependencies").body
				c.fault(t, px)
				// A summary or snapshot readers cannot trust sends them to the
				// records: the document does not change.
				if strings.HasPrefix(c.name, "summary") || strings.HasPrefix(c.name, "snapshot") {
					if after := px.do("GET", "/health/dependencies").body; after != before {
						t.Errorf("/health/dependencies right after the fault = %s; before it %s", after, before)
					}
				}
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
