package checks

// JSON conventions of existing systems (docs/dialects.md): privacyIDEA,
// Aurora, AMSDAL and Liberty. Each is a pure function of the view.

func okFail(up bool) string {
	if up {
		return "OK"
	}
	return "fail"
}

func statusCode(ok bool) int {
	if ok {
		return 200
	}
	return 503
}

// PrivacyIDEA renders the /healthz family.
func PrivacyIDEA(e Endpoint, v *View) Reply {
	switch e {
	case PiLivez:
		return jsonReply(200, `{"status":"OK"}`)
	case PiStartupz:
		if v.State.Started {
			return jsonReply(200, `{"status":"started"}`)
		}
		return jsonReply(503, `{"status":"not started"}`)
	}
	ok := v.ready()
	b := []byte(`{"status":"not ready"`)
	if ok {
		b = []byte(`{"status":"ready"`)
	}
	switch e {
	case PiHealthz, PiReadyz:
		if up, any := v.hsmUp(); any {
			b = appendField(b, false, "hsm", okFail(up))
		}
	case PiResolversz:
		for _, g := range v.Cfg.groups() {
			b = appendKey(b, false, g)
			b = append(b, '{')
			first := true
			for i := range v.Cfg.Checks {
				if v.Cfg.Checks[i].Group == g {
					b = appendField(b, first, v.Cfg.Checks[i].Name, okFail(v.up(i)))
					first = false
				}
			}
			b = append(b, '}')
		}
	}
	return Reply{Status: statusCode(ok), ContentType: ContentJSON, Body: append(b, '}')}
}

// groups lists the check groups in order of first appearance.
func (c *Config) groups() []string {
	var gs []string
	seen := map[string]bool{}
	for i := range c.Checks {
		if g := c.Checks[i].Group; g != "" && !seen[g] {
			seen[g] = true
			gs = append(gs, g)
		}
	}
	return gs
}

// Aurora renders /health/liveness and /health/readiness.
func Aurora(e Endpoint, v *View) Reply {
	if e == AuroraLiveness {
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

// Amsdal renders /api/probes/liveness/ and /api/probes/readiness/. Its
// liveness fails when a hard check is down: that convention's own rule.
func Amsdal(e Endpoint, v *View) Reply {
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

// libertyHealthReply is Liberty's /health: the filter answered, with the version.
func libertyHealthReply(svc Service) Reply {
	b := []byte(`{"status":"ok"`)
	if svc.Version != "" {
		b = appendField(b, false, "version", svc.Version)
	}
	return Reply{Status: 200, ContentType: ContentJSON, Body: append(b, '}')}
}
