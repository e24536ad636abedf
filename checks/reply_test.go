package checks

import "testing"

func TestAcceptsHealthJSON(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                        false,
		"*/*":                     false,
		"application/json":        false,
		"application/health+json": true,
		"Application/Health+JSON": true,
		"text/html, application/health+json;q=0.9, */*;q=0.1": true,
		"application/health+jso":                              false,
		"application/health+json\xff":                         true,
		"\xffapplication/health+json":                         true,
	} {
		if got := AcceptsHealthJSON(accept); got != want {
			t.Errorf("AcceptsHealthJSON(%q) = %v; want %v", accept, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { AcceptsHealthJSON("text/html, application/health+json") }); n != 0 {
		t.Errorf("allocates %v times", n)
	}
}
