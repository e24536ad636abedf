package checks

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

type fakePeer struct {
	addr, auth, principal string
	asked                 []string
}

func (p *fakePeer) SourceAddress() string { p.asked = append(p.asked, "addr"); return p.addr }
func (p *fakePeer) Authorization() string { p.asked = append(p.asked, "auth"); return p.auth }
func (p *fakePeer) Principal() string     { p.asked = append(p.asked, "principal"); return p.principal }

func TestDetailsAllows(t *testing.T) {
	sum := sha256.Sum256([]byte("tok"))
	cfg := mustParse(t, `{"details":{"allow_cidrs":["10.0.0.0/8","fd00::/8"],"token_sha256":["`+hex.EncodeToString(sum[:])+`"],"allow_principals":["spiffe://a"]}}`)
	cases := []struct {
		name string
		peer fakePeer
		want bool
	}{
		{"v4 in range", fakePeer{addr: "10.1.2.3:80"}, true},
		{"v6 in range", fakePeer{addr: "[fd00::1]:443"}, true},
		{"v4-mapped v6 peer", fakePeer{addr: "[::ffff:10.1.2.3]:80"}, true},
		{"highest port", fakePeer{addr: "10.1.2.3:65535"}, true},
		{"v4 out of range", fakePeer{addr: "11.0.0.1:80"}, false},
		// Port 0: Envoy took the address from x-forwarded-for (or another
		// header), so the client chose it.
		{"v4 from a header", fakePeer{addr: "10.1.2.3:0"}, false},
		{"v6 from a header", fakePeer{addr: "[fd00::1]:0"}, false},
		{"v4-mapped from a header", fakePeer{addr: "[::ffff:10.1.2.3]:0"}, false},
		{"bare v4", fakePeer{addr: "10.1.2.3"}, false},
		{"bare v6", fakePeer{addr: "fd00::1"}, false},
		{"zoned v6", fakePeer{addr: "[fd00::1%eth0]:443"}, false},
		{"pipe", fakePeer{addr: "/var/run/envoy.sock"}, false},
		{"garbage address", fakePeer{addr: "not-an-ip"}, false},
		{"port out of range", fakePeer{addr: "10.1.2.3:70000"}, false},
		{"token", fakePeer{auth: "Bearer tok"}, true},
		{"token with spaces", fakePeer{auth: "BEARER  tok "}, true},
		{"scheme only", fakePeer{auth: "Bearer "}, false},
		{"principal", fakePeer{principal: "spiffe://a"}, true},
		{"other principal", fakePeer{principal: "spiffe://b"}, false},
		{"principal prefix", fakePeer{principal: "spiffe://a/x"}, false},
		{"empty principal", fakePeer{principal: ""}, false},
		{"header address with the right principal", fakePeer{addr: "10.1.2.3:0", principal: "spiffe://a"}, true},
		{"nothing", fakePeer{}, false},
	}
	for _, c := range cases {
		if got := cfg.Details.Allows(&c.peer); got != c.want {
			t.Errorf("%s: %v; want %v", c.name, got, c.want)
		}
	}
}

// Each mode asks the proxy only for what it needs.
func TestDetailsAsksOnlyWhatItNeeds(t *testing.T) {
	for cfgText, want := range map[string]int{
		`{"details":{"expose":"always"}}`:                      0,
		`{"details":{"expose":"never","allow_cidrs":["::1"]}}`: 0,
		`{"details":{"allow_cidrs":["::1"]}}`:                  1,
		`{"details":{"allow_principals":["spiffe://a"]}}`:      1,
		`{}`: 0,
	} {
		p := &fakePeer{}
		mustParse(t, cfgText).Details.Allows(p)
		if len(p.asked) != want {
			t.Errorf("%s asked %v; want %d lookups", cfgText, p.asked, want)
		}
	}
}
