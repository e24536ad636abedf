package checks

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// Past net/url's 10,000 parameters, exclude and verbose are still read.
func TestKubernetesQueryWithoutParameterCap(t *testing.T) {
	cfg := mustParse(t, `{"dialects":["kubernetes"],"checks":[{"name":"a","kind":"http","cluster":"c"}]}`)
	st := NewState(cfg)
	st.Started = true
	q := "verbose&" + strings.Repeat("p=1&", 20000) + "exclude=a&exclude=%7A%20z"
	if _, err := url.ParseQuery(q); err == nil {
		t.Skip("net/url no longer caps the parameters")
	}
	r := renderKubernetes(&Route{row: k8sReadyz}, &View{Cfg: cfg, State: st, Query: q})
	want := "[+]ping ok\n[+]started ok\n[+]a excluded: ok\n[+]shutdown ok\nwarn: some health checks cannot be excluded: no matches for \"z z\"\nreadyz check passed\n"
	if r.Status != 200 || string(r.Body) != want {
		t.Errorf("%d %q\nwant 200 %q", r.Status, r.Body, want)
	}
}

// FuzzKubernetesQuery: any query gives a well-formed answer: "ok", or lines
// each ending in a newline with the verdict last, and 200 exactly when the
// verdict is "passed".
func FuzzKubernetesQuery(f *testing.F) {
	cfg := mustParse(f, `{"dialects":["kubernetes"],"checks":[{"name":"a","kind":"http","cluster":"c"},{"name":"b","kind":"http","cluster":"c"}]}`)
	st := NewState(cfg)
	st.Checks[0].Status = StatusUp
	for _, q := range []string{"", "verbose", "exclude=a&exclude=b&verbose=0", "exclude=%zz", "exclude=a;b", "&&=&", "exclude=" + strings.Repeat("x", 300),
		"exclude=a+b&exclude=%61", "%65xclude=a&v%65rbose", "verbose=%zz&exclude=a%zz", "exclude&exclude=", "verbose;x&exclude=a"} {
		f.Add(q, false)
	}
	f.Fuzz(func(t *testing.T, q string, details bool) {
		// Up to net/url's cap, k8sQuery reads what url.ParseQuery reads.
		if vals, err := url.ParseQuery(q); strings.Count(q, "&") < 10000 {
			_, wantVerbose := vals["verbose"]
			verbose, excluded := k8sQuery(q)
			if verbose != wantVerbose || len(excluded) != len(slices.Compact(slices.Sorted(slices.Values(vals["exclude"])))) {
				t.Fatalf("k8sQuery(%q) = %v %v; net/url: %v (%v)", q, verbose, excluded, vals, err)
			}
			for _, n := range vals["exclude"] {
				if !excluded[n] {
					t.Fatalf("k8sQuery(%q) misses exclude %q", q, n)
				}
			}
		}
		for _, e := range []uint8{k8sLivez, k8sReadyz, k8sHealthz} {
			r := renderKubernetes(&Route{row: e}, &View{Cfg: cfg, State: st, ShowDetails: details, Query: q})
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
