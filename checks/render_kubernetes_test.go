package checks

import (
	"strings"
	"testing"
)

// FuzzKubernetesQuery: any query gives a well-formed answer: "ok", or lines
// each ending in a newline with the verdict last, and 200 exactly when the
// verdict is "passed".
func FuzzKubernetesQuery(f *testing.F) {
	cfg := mustParse(f, `{"dialects":["kubernetes"],"checks":[{"name":"a","kind":"http","cluster":"c"},{"name":"b","kind":"http","cluster":"c"}]}`)
	st := NewState(cfg)
	st.Checks[0].Status = StatusUp
	for _, q := range []string{"", "verbose", "exclude=a&exclude=b&verbose=0", "exclude=%zz", "exclude=a;b", "&&=&", "exclude=" + strings.Repeat("x", 300)} {
		f.Add(q, false)
	}
	f.Fuzz(func(t *testing.T, q string, details bool) {
		for _, e := range []Endpoint{K8sLivez, K8sReadyz, K8sHealthz} {
			r := Kubernetes(e, &View{Cfg: cfg, State: st, Details: details, Query: q})
			body := string(r.Body)
			if body == "ok" {
				if r.Status != 200 {
					t.Fatalf("ok with %d", r.Status)
				}
				continue
			}
			if !strings.HasSuffix(body, "\n") || strings.HasSuffix(body, "check passed\n") != (r.Status == 200) ||
				!strings.HasSuffix(body, "check passed\n") && !strings.HasSuffix(body, "check failed\n") {
				t.Fatalf("%v %q: %d %q", e, q, r.Status, body)
			}
		}
	})
}
