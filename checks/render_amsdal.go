package checks

// AMSDAL's /api/probes/ (docs/dialects.md): one entry per check.

// Amsdal renders /api/probes/liveness/ and /api/probes/readiness/. Its
// liveness fails when a hard check is down: that convention's own rule.
func Amsdal(r *Route, v *View) Reply {
	e := r.Endpoint
	ok := v.ready()
	if e == AmsdalLiveness {
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
