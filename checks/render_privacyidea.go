package checks

// privacyIDEA's /healthz family (docs/dialects.md): JSON, hsm reported apart.

func okFail(up bool) string {
	if up {
		return "OK"
	}
	return "fail"
}

// PrivacyIDEA renders the /healthz family.
func PrivacyIDEA(r *Route, v *View) Reply {
	e := r.Endpoint
	switch e {
	case PrivacyIDEALivez:
		return jsonReply(200, `{"status":"OK"}`)
	case PrivacyIDEAStartupz:
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
	case PrivacyIDEAHealthz, PrivacyIDEAReadyz:
		if up, any := v.hsmUp(); any {
			b = appendField(b, false, "hsm", okFail(up))
		}
	case PrivacyIDEAResolversz:
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
