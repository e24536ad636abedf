package plugin

import (
	"strings"
	"testing"
)

// Oversized and malformed requests: the plugin stays up, answers what is
// its own and passes the rest through untouched, and logs nothing (a line
// per bad request would let any client fill the proxy's log).
func TestBadRequestsAnsweredWithoutLogs(t *testing.T) {
	big := strings.Repeat("a", 64<<10)
	manyHeaders := make([][2]string, 100)
	for i := range manyHeaders {
		manyHeaders[i] = [2]string{"x-big-" + strings.Repeat("h", i%20), strings.Repeat("v", 8<<10)}
	}
	cases := []struct {
		name, path string
		extra      [][2]string
		status     int // 0: passes through
	}{
		{"64 KiB path", "/" + big, nil, 0},
		{"64 KiB health-like path", "/health/probes/" + big, nil, 0},
		{"liveness with a 64 KiB query", "/health/probes/liveness?" + big, nil, 200},
		{"readiness with 800 KiB of headers", "/health/probes/readiness", manyHeaders, 200},
		{"invalid UTF-8 path", "/health/probes/liveness\xff\xfe", nil, 0},
		{"invalid UTF-8 in the query", "/health/probes/liveness?\xff\xfe", nil, 200},
		{"NUL in the path", "/health/probes/liveness\x00", nil, 0},
		{"invalid UTF-8 bearer token on details", "/health/info", [][2]string{{"authorization", "Bearer \xff\xfe\x00" + big}}, 403},
		{"empty path", "", nil, 0},
	}
	bothRuntimes(t, func(t *testing.T, rt runtime) {
		px := rt.mustStart(t, `{"details":{"token_sha256":["`+strings.Repeat("ab", 32)+`"]}}`, nil)
		before := len(px.logs())
		for _, c := range cases {
			for range 3 {
				r := px.do("GET", c.path, c.extra...)
				switch {
				case c.status == 0 && !r.passed:
					t.Errorf("%s: answered %d, want pass-through", c.name, r.status)
				case c.status != 0 && r.status != c.status:
					t.Errorf("%s: %d (passed %v), want %d", c.name, r.status, r.passed, c.status)
				case r.passed && len(r.reqHeaders) < 4+len(c.extra):
					t.Errorf("%s: request headers lost on pass-through", c.name)
				}
			}
		}
		if r := px.do("GET", "/health/probes/liveness"); r.status != 200 {
			t.Errorf("liveness after the bad requests: %d", r.status)
		}
		if logs := px.logs()[before:]; len(logs) != 0 {
			t.Errorf("bad requests were logged: %q", logs)
		}
	})
}
