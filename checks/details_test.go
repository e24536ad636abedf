package checks

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
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
		{"token, upper-case scheme", fakePeer{auth: "BEARER tok"}, true},
		// RFC 6750 §2.1, strictly: one space, then a token68.
		{"token with two spaces", fakePeer{auth: "BEARER  tok"}, false},
		{"token with a trailing space", fakePeer{auth: "Bearer tok "}, false},
		{"token after a tab", fakePeer{auth: "Bearer\ttok"}, false},
		{"token after a no-break space", fakePeer{auth: "Bearer \u00a0tok"}, false},
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

// Whatever hash is configured (Parse refuses the empty string's, but a
// Details could be built without Parse), no spelling of an empty or blank
// token is a credential: nothing is trimmed, so nothing reaches the hash.
func TestEmptyTokenNeverMatches(t *testing.T) {
	var hashes [][32]byte
	for _, s := range []string{"", " ", "\t", "\u00a0", "\u3000", "\n", "="} {
		hashes = append(hashes, sha256.Sum256([]byte(s)))
	}
	d := Details{TokenSHA256: hashes}
	for _, auth := range []string{"Bearer", "Bearer ", "Bearer  ", "Bearer \u00a0", "Bearer\u00a0", "Bearer \t", "bearer \u3000",
		"Bearer \n", "Bearer =", "Bearer ==", "Bearer \x00", "Bearer \xff"} {
		if d.Allows(&fakePeer{auth: auth}) {
			t.Errorf("%q matched", auth)
		}
	}
}

func TestBearerToken(t *testing.T) {
	for auth, want := range map[string]string{
		"Bearer abc": "abc", "bEaReR abc": "abc", "Bearer a-._~+/Z9": "a-._~+/Z9", "Bearer abc==": "abc==", "Bearer a=": "a=",
		"Bearer": "", "Bearer ": "", "Bearer  abc": "", "Bearer abc ": "", "Bearer\tabc": "", "Bearer =": "", "Bearer a=b": "",
		"Bearer a,b": "", "Bearer a b": "", "Bearer \"abc\"": "", "Bearerabc": "", "Basic abc": "", "B\u00e9arer abc": "",
		"Bearer ab\u00e9": "", "Bearer ab\x00": "", "": "",
	} {
		got, ok := bearerToken(auth)
		if ok != (want != "") || got != want && ok {
			t.Errorf("bearerToken(%q) = %q, %v; want %q", auth, got, ok, want)
		}
	}
}

// FuzzBearerToken: bearerToken accepts exactly RFC 6750's credentials.
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer a+/==", "Bearer  a", "Bearer \u00a0", "Bearer a=b", "BEARER ~"} {
		f.Add(s)
	}
	re := regexp.MustCompile(`^[Bb][Ee][Aa][Rr][Ee][Rr] ([A-Za-z0-9._~+/-]+=*)$`)
	f.Fuzz(func(t *testing.T, auth string) {
		tok, ok := bearerToken(auth)
		m := re.FindStringSubmatch(auth)
		if ok != (m != nil) || ok && tok != m[1] {
			t.Fatalf("bearerToken(%q) = %q, %v; the grammar says %q", auth, tok, ok, m)
		}
	})
}

func TestEveryAddress(t *testing.T) {
	for cidrs, want := range map[string]string{
		`"0.0.0.0/0"`:                            "IPv4",
		`"::/0"`:                                 "IPv6",
		`"::ffff:0:0/96"`:                        "IPv4",
		`"::ffff:0.0.0.0/96"`:                    "IPv4",
		`"0.0.0.0/1","128.0.0.0/1"`:              "IPv4",
		`"128.0.0.0/1","10.0.0.0/8","0.0.0.0/1"`: "IPv4",
		`"0.0.0.0/0","::/0"`:                     "IPv4 and IPv6",
		`"::/1","8000::/1","0.0.0.0/2","64.0.0.0/2","128.0.0.0/1"`: "IPv4 and IPv6",
		`"0.0.0.0/1","128.0.0.0/2","192.0.0.0/2"`:                  "IPv4",
		`"0.0.0.0/1"`:               "",
		`"0.0.0.0/1","128.0.0.0/2"`: "",
		`"0.0.0.0/1","192.0.0.0/2"`: "",
		`"0.0.0.0/1","128.0.0.0/2","192.0.0.0/2","255.255.255.255"`:                                                                   "IPv4",
		`"0.0.0.0/1","128.0.0.0/2","192.0.0.0/3","224.0.0.0/4","240.0.0.0/5","248.0.0.0/6","252.0.0.0/7","254.0.0.0/8","255.0.0.0/9"`: "",
		`"::ffff:0:0/97","128.0.0.0/1"`: "IPv4", `"::/1","0.0.0.0/0"`: "IPv4", `"::/1"`: "",
		`"::ffff:0:0/95"`:   "",
		`"127.0.0.1","::1"`: "",
	} {
		cfg, err := Parse([]byte(`{"details":{"allow_cidrs":[` + cidrs + `]}}`))
		if err != nil {
			t.Fatalf("%s: %v", cidrs, err)
		}
		if got := everyAddress(cfg.Details.AllowCIDRs); got != want {
			t.Errorf("%s: %q; want %q", cidrs, got, want)
		}
		if w := cfg.Warnings; (want == "") != (len(w) == 0) || len(w) > 1 {
			t.Errorf("%s: warnings %q", cidrs, w)
		}
		_, err = Parse([]byte(`{"drain":{"enabled":true},"details":{"allow_cidrs":[` + cidrs + `]}}`))
		if (err == nil) != (want == "") {
			t.Errorf("%s with drain: %v", cidrs, err)
		}
	}
}

// An IPv4-mapped prefix means its IPv4 prefix, as the peer is unmapped.
func TestMappedPrefix(t *testing.T) {
	cfg := mustParse(t, `{"details":{"allow_cidrs":["::ffff:10.0.0.0/104","::ffff:127.0.0.1","::ffff:0:0/95"]}}`)
	var got []string
	for _, p := range cfg.Details.AllowCIDRs {
		got = append(got, p.String())
	}
	if strings.Join(got, " ") != "10.0.0.0/8 127.0.0.1/32 ::fffe:0:0/95" {
		t.Errorf("prefixes %v", got)
	}
	for addr, want := range map[string]bool{"10.1.2.3:80": true, "[::ffff:10.1.2.3]:80": true, "127.0.0.1:80": true, "11.0.0.1:80": false} {
		if cfg.Details.Allows(&fakePeer{addr: addr}) != want {
			t.Errorf("%s: want %v", addr, want)
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
