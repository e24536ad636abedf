package checks

import (
	"math"
	"strconv"
)

// The IETF health check response format (draft-inadarei-api-health-check),
// served on the standard readiness and dependencies endpoints to clients that
// send Accept: application/health+json.

// componentType: the draft's common values, by kind unless configured.
func (c *Check) componentType() string {
	if c.ComponentType != "" {
		return c.ComponentType
	}
	if c.Kind == KindHSM {
		return "system"
	}
	return "component"
}

// healthJSON renders the draft's format for a standard row that says
// healthJSON. For readiness the verdict is the probe's (fail when not
// ready, warn when ready but degraded); for dependencies it is the
// aggregate (down fails, degraded or unknown warns).
func healthJSON(r *Route, v *View, svc Service) Reply {
	readiness := r.row == stdReadiness
	agg := v.State.Aggregate(v.Cfg)
	status := "pass"
	switch {
	case readiness && !v.ready(), !readiness && agg == AggDown:
		status = "fail"
	case agg != AggUp:
		status = "warn"
	}
	b := []byte(`{"status":"` + status + `"`)
	if svc.Version != "" {
		b = appendField(b, false, "version", svc.Version)
	}
	if svc.Name != "" {
		b = appendField(b, false, "serviceId", svc.Name)
	}
	if readiness && !v.ready() {
		_, why := v.State.Ready(v.Cfg)
		b = appendField(b, false, "output", "not ready: "+why)
	}
	b = append(b, `,"checks":{`...)
	first := true
	for i := range v.Cfg.Checks {
		if readiness && !v.Cfg.Checks[i].Gates.Has(GateReadiness) {
			continue
		}
		b = v.appendHealthCheck(b, first, i, "responseTime")
		first = false
		if cs := &v.State.Checks[i]; v.Cfg.Checks[i].Observe != "" && cs.HasObserved && v.ShowDetails {
			b = v.appendHealthCheck(b, false, i, v.Cfg.Checks[i].Observe)
		}
	}
	b = append(b, '}', '}')
	code := 200
	if status == "fail" {
		code = 503
	}
	return Reply{Status: code, ContentType: ContentHealthJSON, Body: b}
}

// appendHealthCheck appends `"name:measurement":[{...}]`. The observed value
// and output are details; status, type and time are public.
func (v *View) appendHealthCheck(b []byte, first bool, i int, measurement string) []byte {
	ch, cs := &v.Cfg.Checks[i], &v.State.Checks[i]
	b = appendKey(b, first, ch.Name+":"+measurement)
	b = append(b, '[', '{')
	b = appendField(b, true, "componentId", ch.Name)
	b = appendField(b, false, "componentType", ch.componentType())
	st := "warn" // unknown, or a soft check down
	switch {
	case cs.Status == StatusUp:
		st = "pass"
	case cs.Status == StatusDown && !ch.Soft:
		st = "fail"
	}
	b = appendField(b, false, "status", st)
	if cs.CheckedAt != 0 {
		b = appendField(b, false, "time", formatUTC(cs.CheckedAt))
	}
	if v.ShowDetails && cs.CheckedAt != 0 {
		if measurement == "responseTime" {
			b = append(b, `,"observedValue":`...)
			b = appendInt(b, int64(cs.LatencyMs))
			b = appendField(b, false, "observedUnit", "ms")
		} else if !math.IsNaN(cs.Observed) && !math.IsInf(cs.Observed, 0) {
			b = append(b, `,"observedValue":`...)
			b = strconv.AppendFloat(b, cs.Observed, 'g', -1, 64)
		}
		if cs.Status != StatusUp {
			b = appendField(b, false, "output", cs.Message)
		}
	}
	return append(b, '}', ']')
}
