package checks

import "fmt"

// privacyIDEA's /healthz family (docs/dialects.md): JSON, hsm reported apart.

const (
	piHealthz = iota
	piLivez
	piReadyz
	piStartupz
	piResolversz
)

var privacyIDEA = dialect{
	name: "privacyidea",
	endpoints: []endpoint{
		piHealthz:    {path: "/healthz", label: "healthz", reads: readsState, probe: probeReadiness, renderView: renderPrivacyIDEA},
		piLivez:      {path: "/healthz/livez", label: "livez", probe: probeLiveness, renderView: renderPrivacyIDEA},
		piReadyz:     {path: "/healthz/readyz", label: "readyz", reads: readsState, probe: probeReadiness, renderView: renderPrivacyIDEA},
		piStartupz:   {path: "/healthz/startupz", label: "startupz", reads: readsState, probe: probeStartup, renderView: renderPrivacyIDEA},
		piResolversz: {path: "/healthz/resolversz", label: "resolversz", reads: readsState, renderView: renderPrivacyIDEA},
	},
	refuse: func(c *Config) *ConfigError {
		for i := range c.Checks {
			if c.Checks[i].Group == "status" {
				return errf(fmt.Sprintf("checks[%d].group", i), "\"status\" is the privacyidea resolversz status field: choose another group name")
			}
		}
		return nil
	},
}

var _ = declare(&privacyIDEA)

func okFail(up bool) string {
	if up {
		return "OK"
	}
	return "fail"
}

// renderPrivacyIDEA renders the /healthz family.
func renderPrivacyIDEA(r *Route, v *View) Reply {
	e := r.row
	switch e {
	case piLivez:
		return jsonReply(200, `{"status":"OK"}`)
	case piStartupz:
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
	case piHealthz, piReadyz:
		if up, any := v.hsmUp(); any {
			b = appendField(b, false, "hsm", okFail(up))
		}
	case piResolversz:
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
