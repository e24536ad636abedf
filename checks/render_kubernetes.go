package checks

import (
	"strconv"
	"strings"
)

// The Kubernetes API server's /livez, /readyz and /healthz conventions
// (k8s.io/apiserver healthz), answered with 503 on failure as the contract says.

const (
	k8sLivez = iota
	k8sReadyz
	k8sHealthz
	k8sLivezCheck  // /livez/<builtin>
	k8sReadyzCheck // /readyz/<builtin or check>
)

var kubernetes = dialect{
	name: "kubernetes",
	endpoints: []endpoint{
		k8sLivez:   {path: "/livez", label: "livez", probe: probeLiveness, renderView: renderKubernetes},
		k8sReadyz:  {path: "/readyz", label: "readyz", reads: readsState, probe: probeReadiness, renderView: renderKubernetes},
		k8sHealthz: {path: "/healthz", label: "healthz", reads: readsState, probe: probeReadiness, renderView: renderKubernetes},
		// One route per built-in, and per configured check under /readyz/.
		k8sLivezCheck: {path: "/livez/", builtins: []string{builtinPing}, label: "livez_check", probe: probeLiveness,
			renderView: renderKubernetesCheck},
		k8sReadyzCheck: {path: "/readyz/", builtins: []string{builtinPing, builtinStarted, builtinShutdown}, everyCheck: true,
			label: "readyz_check", reads: readsState, probe: probeReadiness, renderView: renderKubernetesCheck},
	},
}

var _ = declare(&kubernetes)

// Kubernetes built-in check names (the API server's own).
const (
	builtinPing     = "ping"
	builtinShutdown = "shutdown"
	builtinStarted  = "started" // fails until every startup-gating check was up once
)

var textNosniff = [2]string{"x-content-type-options", "nosniff"}

type k8sLine struct {
	name   string
	ok     bool
	reason string
}

// k8sLines lists the checks an endpoint runs, in order.
func k8sLines(e uint8, v *View) []k8sLine {
	lines := []k8sLine{{name: builtinPing, ok: true}}
	if e == k8sLivez {
		return lines // liveness never depends on a dependency
	}
	r := "reason withheld"
	if v.ShowDetails {
		r = "not started: a startup check has not been up yet"
	}
	lines = append(lines, k8sLine{name: builtinStarted, ok: v.State.Started, reason: r})
	for i := range v.Cfg.Checks {
		if v.Cfg.Checks[i].Gates.Has(GateReadiness) {
			// A check in grace (added to a running proxy, not decided yet)
			// holds readiness back nowhere, here neither.
			ok := v.up(i) || !v.State.Checks[i].gating()
			lines = append(lines, k8sLine{name: v.Cfg.Checks[i].Name, ok: ok, reason: v.reason(i)})
		}
	}
	if e == k8sReadyz {
		r := "reason withheld"
		if v.ShowDetails {
			r = "process is shutting down"
		}
		lines = append(lines, k8sLine{name: builtinShutdown, ok: !v.draining(), reason: r})
	}
	return lines
}

func textReply(status int, body string) Reply {
	return Reply{Status: status, ContentType: ContentText, Body: []byte(body)}
}

// k8sQuery reads ?verbose and every ?exclude= of a raw query as the API
// server's net/url does (pairs split at "&", a pair holding ";" skipped,
// "+" and %XX decoded, a pair that does not decode skipped), but with no
// cap on the number of parameters: past 10,000, url.ParseQuery returns none
// at all, and the exclusions would vanish silently. The proxy bounds the
// query's length.
func k8sQuery(query string) (verbose bool, excluded map[string]bool) {
	excluded = map[string]bool{}
	for query != "" {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		if strings.Contains(pair, ";") {
			continue
		}
		k, val, _ := strings.Cut(pair, "=")
		if k != "verbose" && k != "exclude" {
			var ok bool
			if k, ok = queryUnescape(k); !ok || k != "verbose" && k != "exclude" {
				continue
			}
		}
		val, ok := queryUnescape(val)
		if !ok {
			continue
		}
		if k == "verbose" {
			verbose = true
		} else {
			excluded[val] = true
		}
	}
	return verbose, excluded
}

// renderKubernetes renders /livez, /readyz or /healthz.
func renderKubernetes(r *Route, v *View) Reply {
	e := r.row
	verbose, excluded := k8sQuery(v.Query)
	var b strings.Builder
	failed := false
	for _, l := range k8sLines(e, v) {
		switch {
		case excluded[l.name]:
			delete(excluded, l.name)
			b.WriteString("[+]" + l.name + " excluded: ok\n")
		case l.ok:
			b.WriteString("[+]" + l.name + " ok\n")
		default:
			failed = true
			b.WriteString("[-]" + l.name + " failed: " + l.reason + "\n")
		}
	}
	if len(excluded) > 0 {
		names := make([]string, 0, len(excluded))
		for n := range excluded {
			names = append(names, strconv.Quote(n))
		}
		// Few names, sorted by insertion: sort.Strings would add a generic
		// sort instance to the plugin for this warning alone.
		for i := 1; i < len(names); i++ {
			for j := i; j > 0 && names[j] < names[j-1]; j-- {
				names[j], names[j-1] = names[j-1], names[j]
			}
		}
		b.WriteString("warn: some health checks cannot be excluded: no matches for " + strings.Join(names, ",") + "\n")
	}
	word := "healthz"
	switch e {
	case k8sLivez:
		word = "livez"
	case k8sReadyz:
		word = "readyz"
	}
	switch {
	case failed:
		return textReply(503, b.String()+word+" check failed\n")
	case verbose:
		return textReply(200, b.String()+word+" check passed\n")
	}
	return textReply(200, "ok")
}

// renderKubernetesCheck renders /livez/<check> or /readyz/<check>.
func renderKubernetesCheck(r *Route, v *View) Reply {
	list := uint8(k8sReadyz)
	if r.row == k8sLivezCheck {
		list = k8sLivez
	}
	name := r.Check
	for _, l := range k8sLines(list, v) {
		if l.name == name {
			if l.ok {
				return textReply(200, "ok")
			}
			return textReply(503, "internal server error: "+l.reason+"\n")
		}
	}
	// A configured check that does not gate readiness: its own health.
	for i := range v.Cfg.Checks {
		if v.Cfg.Checks[i].Name == name {
			if v.up(i) {
				return textReply(200, "ok")
			}
			return textReply(503, "internal server error: "+v.reason(i)+"\n")
		}
	}
	return replyNotFound
}
