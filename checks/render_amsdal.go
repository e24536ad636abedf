package checks

// AMSDAL's /api/probes/ (docs/dialects.md): one entry per check.

const (
	amsdalLiveness = iota
	amsdalReadiness
)

var amsdal = dialect{
	name: "amsdal",
	endpoints: []endpoint{
		// No kubelet probe: it fails when a hard dependency is down, and a
		// liveness probe that does so restarts healthy pods during someone
		// else's outage.
		amsdalLiveness:  {path: "/api/probes/liveness/", label: "liveness", reads: readsState, renderView: renderAmsdal},
		amsdalReadiness: {path: "/api/probes/readiness/", label: "readiness", reads: readsState, probe: probeReadiness, renderView: renderAmsdal},
	},
}

var _ = declare(&amsdal)

// renderAmsdal renders /api/probes/liveness/ and /api/probes/readiness/. Its
// liveness fails when a hard check is down: that convention's own rule.
func renderAmsdal(r *Route, v *View) Reply {
	ok := v.ready()
	if r.row == amsdalLiveness {
		ok = v.State.Aggregate(v.Cfg) != AggDown
	}
	b := []byte(`{"status":`)
	b = appendJSONString(b, successError(ok))
	b = append(b, `,"details":[`...)
	for i := range v.Cfg.Checks {
		if i > 0 {
			b = append(b, ',')
		}
		msg := "ok"
		if !v.up(i) || v.ShowDetails {
			msg = v.reason(i)
		}
		b = append(b, '{')
		b = appendField(b, true, "status", successError(v.up(i)))
		b = appendField(b, false, "service", v.Cfg.Checks[i].Name)
		b = appendField(b, false, "message", msg)
		b = append(b, '}')
	}
	return Reply{Status: statusCode(ok), ContentType: ContentJSON, Body: append(b, ']', '}')}
}

func successError(ok bool) string {
	if ok {
		return "success"
	}
	return "error"
}
