package checks

import "strconv"

// InfoDocument is /info's body for c: the effective configuration, every
// default filled in, secrets left out. The configuration command prints it
// (explain).
func InfoDocument(c *Config) []byte { return infoBody(c, c.Service) }

// infoBody renders the configuration snapshot served at {base}/info: what is
// checked, how, and by which policy. Header values and token hashes are
// secrets and never appear; header names and counts do.
func infoBody(c *Config, svc Service) []byte {
	b := []byte(`{"service":{`)
	for i, f := range svc.fields() {
		b = appendField(b, i == 0, f[0], f[1])
	}
	b = append(b, `},"base_path":`...)
	b = appendJSONString(b, displayPath(c.BasePath))
	b = append(b, `,"dialects":[`...)
	for i, d := range c.Dialects {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, d.String())
	}
	b = append(b, `],"refresh":{`...)
	b = appendField(b, true, "mode", c.Refresh.Mode.String())
	b = appendField(b, false, "interval", c.Refresh.Interval.String())
	jitter := c.Refresh.Jitter.String()
	if c.Refresh.Jitter == 0 {
		jitter = strconv.Itoa(c.Refresh.JitterPercent) + "%"
	}
	b = appendField(b, false, "jitter", jitter)
	b = appendField(b, false, "ttl", c.Refresh.TTL.String())
	hard := 0
	for i := range c.Checks {
		if !c.Checks[i].Soft {
			hard++
		}
	}
	b = append(b, `},"checks":{"count":`...)
	b = appendInt(b, int64(len(c.Checks)))
	b = append(b, `,"hard":`...)
	b = appendInt(b, int64(hard))
	b = append(b, `,"soft":`...)
	b = appendInt(b, int64(len(c.Checks)-hard))
	b = append(b, `,"items":[`...)
	for i := range c.Checks {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendCheckInfo(b, &c.Checks[i])
	}
	b = append(b, `]},"details":{`...)
	b = appendField(b, true, "expose", c.Details.Expose.String())
	b = appendKey(b, false, "allow_cidrs")
	cidrs := make([]string, len(c.Details.AllowCIDRs))
	for i, p := range c.Details.AllowCIDRs {
		cidrs[i] = p.String()
	}
	b = appendStrings(b, cidrs)
	b = append(b, `,"tokens":`...)
	b = appendInt(b, int64(len(c.Details.TokenSHA256)))
	b = appendKey(b, false, "allow_principals")
	b = appendStrings(b, c.Details.AllowPrincipals)
	b = append(b, `},"drain":{"enabled":`...)
	b = strconv.AppendBool(b, c.DrainEnabled)
	b = append(b, `},"endpoints":[`...)
	for i, r := range c.Routes {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, displayPath(r.Path))
	}
	return append(b, ']', '}')
}

func appendCheckInfo(b []byte, ch *Check) []byte {
	b = append(b, '{')
	b = appendField(b, true, "name", ch.Name)
	b = appendField(b, false, "kind", ch.Kind.String())
	b = appendField(b, false, "type", ch.Type())
	b = appendKey(b, false, "gates")
	b = appendStrings(b, ch.Gates.names())
	if ch.Group != "" {
		b = appendField(b, false, "group", ch.Group)
	}
	b = appendField(b, false, "cluster", ch.Cluster)
	b = appendField(b, false, "authority", ch.Authority)
	b = appendField(b, false, "method", ch.Method)
	b = appendField(b, false, "path", ch.Path)
	if ch.Kind == KindGRPC {
		b = appendField(b, false, "grpc_service", ch.GRPCService)
	}
	b = appendField(b, false, "timeout", ch.Timeout.String())
	b = appendField(b, false, "interval", ch.Interval.String())
	b = append(b, `,"failure_threshold":`...)
	b = appendInt(b, int64(ch.FailureThreshold))
	b = append(b, `,"success_threshold":`...)
	b = appendInt(b, int64(ch.SuccessThreshold))
	names := make([]string, len(ch.Headers))
	for i, h := range ch.Headers {
		names[i] = h[0] // the name only: values are secrets
	}
	b = appendKey(b, false, "headers")
	b = appendStrings(b, names)
	return append(b, '}')
}

func appendStrings(b []byte, list []string) []byte {
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// names are the probes a gate set holds back, in a fixed order.
func (g Gate) names() []string {
	var out []string
	if g.Has(GateReadiness) {
		out = append(out, "readiness")
	}
	if g.Has(GateStartup) {
		out = append(out, "startup")
	}
	return out
}
