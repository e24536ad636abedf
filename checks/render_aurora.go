package checks

// Aurora's /health/liveness and /health/readiness (docs/dialects.md).

const (
	auroraLiveness = iota
	auroraReadiness
)

var aurora = dialect{
	name: "aurora",
	endpoints: []endpoint{
		auroraLiveness:  {path: "/health/liveness", label: "liveness", probe: probeLiveness, renderView: renderAurora},
		auroraReadiness: {path: "/health/readiness", label: "readiness", reads: readsState, probe: probeReadiness, renderView: renderAurora},
	},
}

var _ = declare(&aurora)

// renderAurora renders /health/liveness and /health/readiness.
func renderAurora(r *Route, v *View) Reply {
	if r.row == auroraLiveness {
		return jsonReply(200, `{"status":"alive"}`)
	}
	if v.ready() {
		return jsonReply(200, `{"status":"ready"}`)
	}
	b := []byte(`{"status":"not_ready","checks":{`)
	first := true
	for i := range v.Cfg.Checks {
		if !v.Cfg.Checks[i].Gates.Has(GateReadiness) {
			continue
		}
		b = appendKey(b, first, v.Cfg.Checks[i].Name)
		first = false
		if v.up(i) {
			msg := "ok"
			if v.ShowDetails {
				msg = v.State.Checks[i].Message
			}
			b = appendField(append(b, `{"status":"healthy"`...), false, "message", msg)
		} else {
			b = appendField(append(b, `{"status":"unhealthy"`...), false, "error", v.reason(i))
		}
		b = append(b, '}')
	}
	return Reply{Status: 503, ContentType: ContentJSON, Body: append(b, '}', '}')}
}
