package checks

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

type fakePeer struct {
	addr, auth string
	principals []string
	asked      []string
}

func (p *fakePeer) SourceAddress() string { p.asked = append(p.asked, "addr"); return p.addr }
func (p *fakePeer) Authorization() string { p.asked = append(p.asked, "auth"); return p.auth }
func (p *fakePeer) Principals() []string  { p.asked = append(p.asked, "principal"); return p.principals }

func TestDetailsAllows(t *testing.T) {
	sum := sha256.Sum256([]byte("tok"))
	cfg := mustParse(t, `{"details":{"allow_cidrs":["10.0.0.0/8","fd00::/8"],"token_sha256":["`+hex.EncodeToString(sum[:])+`"],"allow_principals":["spiffe://a"]}}`)
	cases := []struct {
		name string
		peer fakePeer
		want bool
	}{
		{"v4 in range", fakePeer{addr: "10.1.2.3:80"}, true},
		{"bare v4", fakePeer{addr: "10.1.2.3"}, true},
		{"v6 in range", fakePeer{addr: "[fd00::1]:443"}, true},
		{"v4 out of range", fakePeer{addr: "11.0.0.1:80"}, false},
		{"garbage address", fakePeer{addr: "not-an-ip"}, false},
		{"token", fakePeer{auth: "Bearer tok"}, true},
		{"token with spaces", fakePeer{auth: "BEARER  tok "}, true},
		{"scheme only", fakePeer{auth: "Bearer "}, false},
		{"principal", fakePeer{principals: []string{"", "spiffe://a"}}, true},
		{"empty principal", fakePeer{principals: []string{""}}, false},
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
		`{}`:                                                   0,
	} {
		p := &fakePeer{}
		mustParse(t, cfgText).Details.Allows(p)
		if len(p.asked) != want {
			t.Errorf("%s asked %v; want %d lookups", cfgText, p.asked, want)
		}
	}
}
