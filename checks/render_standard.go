package checks

import (
	"math"
	"strconv"
)

var (
	replyUp       = jsonReply(200, `{"status":"up"}`)
	replyStarting = jsonReply(503, `{"status":"down","reason":"starting"}`)
)

// The standard dialect's endpoints, by their row in its declaration.
const (
	stdLiveness = iota
	stdReadiness
	stdStartup
	stdUp
	stdMetrics
	stdDependencies
	stdInfo
	stdStatus
	stdDrain
)

// The standard dialect, under base_path (README.md).
var standard = dialect{
	name:      "standard",
	underBase: true,
	endpoints: []endpoint{
		stdLiveness: {path: "/probes/liveness", label: "liveness", probe: probeLiveness, fixed: true,
			render: func(*Answers, *Route, string, Source) Reply { return replyUp }},
		stdReadiness: {path: "/probes/readiness", label: "readiness", reads: readsSummary, healthJSON: true, probe: probeReadiness,
			render: (*Answers).readiness},
		stdStartup: {path: "/probes/startup", label: "startup", reads: readsSummary, probe: probeStartup, render: (*Answers).startup},
		stdUp:      {path: "/up", label: "up", reads: readsClock, render: (*Answers).up},
		stdMetrics: {path: "/metrics", label: "metrics", reads: readsState | readsCounters, details: true, noRefresh: true, // latencies and check names are details
			render: func(a *Answers, _ *Route, _ string, src Source) Reply {
				return Metrics(&View{Cfg: a.cfg, State: src.State(), ShowDetails: true}, a.svc, src.ProbeCounts())
			}},
		stdDependencies: {path: "/dependencies", label: "dependencies", reads: readsState, healthJSON: true,
			render: func(a *Answers, _ *Route, _ string, src Source) Reply {
				return a.dependencies(src.State(), src.Details())
			}},
		stdInfo: {path: "/info", label: "info", details: true, fixed: true, render: (*Answers).info},
		stdStatus: {path: "/status", label: "status", reads: readsState | readsClock,
			render: func(a *Answers, _ *Route, q string, src Source) Reply {
				return statusPage(a.view(q, src), a.svc, src.Now())
			}},
		stdDrain: {path: "/drain", label: "drain", drain: true}, // plugin/ serves it (drain.go)
	},
}

var _ = declare(&standard)

// NewAnswers prepares the answers of configuration c for identity svc.
func NewAnswers(c *Config, svc Service) *Answers {
	s := &Answers{cfg: c, svc: svc, empty: NewState(c), fixed: make([]Reply, len(c.Routes)), notReady: map[string]Reply{}}
	for i := range c.Routes {
		r := &c.Routes[i]
		if e := endpoints[r.Endpoint]; e.fixed {
			s.fixed[i] = e.render(s, r, "", nil)
		}
	}
	for _, r := range []string{ReasonStarting, ReasonDraining, ReasonDependencies} {
		s.notReady[r] = jsonReply(503, `{"status":"down","reason":"`+r+`"}`)
	}
	b := []byte(`{"status":"up"`)
	for _, f := range svc.fields() {
		b = appendField(b, false, f[0], f[1])
	}
	s.upPrefix = append(b, `,"server_timestamp":`...)
	for i := range c.Checks {
		ch := &c.Checks[i]
		n := appendKey(nil, true, ch.Name)
		n = append(n, `{"name":`...)
		n = appendJSONString(n, ch.Name)
		n = append(n, `,"type":"`+ch.Type()+`","status":`...)
		s.depsNames = append(s.depsNames, n)
		s.depsSize += len(n) + len(`"unknown"},`)
	}
	return s
}

// info is /info's answer: the configuration snapshot (a fixed row's).
func (s *Answers) info(*Route, string, Source) Reply {
	return Reply{Status: 200, ContentType: ContentJSON, Body: infoBody(s.cfg, s.svc)}
}

// Readiness is 200 when ready, else 503 with the reason.
func (s *Answers) readiness(_ *Route, _ string, src Source) Reply {
	if sum := src.Summary(); !sum.Ready {
		return s.notReady[sum.Reason]
	}
	return replyUp
}

// Startup is 200 once every startup-gating check was up once.
func (s *Answers) startup(_ *Route, _ string, src Source) Reply {
	if src.Summary().Started {
		return replyUp
	}
	return replyStarting
}

// Up reports identity and the proxy's clock.
func (s *Answers) up(_ *Route, _ string, src Source) Reply {
	b := make([]byte, 0, len(s.upPrefix)+40)
	b = append(b, s.upPrefix...)
	b = append(b, '"')
	b = appendUTC(b, src.Now(), 'T')
	b = append(b, '"', '}')
	return Reply{Status: 200, ContentType: ContentJSON, Body: b}
}

// Dependencies lists every check's status. It is 200 whatever the status:
// the ADR that defines it keeps it out of health checking. With details, each
// check adds kind, latency, time of the last result, our message and the
// observed value.
func (s *Answers) dependencies(st *State, details bool) Reply {
	size := 32 + s.depsSize
	if details {
		size += len(s.depsNames) * (len(`,"kind":"http","latency_ms":12345,"checked_at":"2026-01-02T03:04:05.678Z","message":""`) + 64)
	}
	b := make([]byte, 0, size)
	b = append(b, `{"status":"`...)
	b = append(b, st.Aggregate(s.cfg).String()...)
	b = append(b, `","dependencies":{`...)
	for i, n := range s.depsNames {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, n...)
		cs := &st.Checks[i]
		b = append(b, '"')
		b = append(b, cs.Status.String()...)
		b = append(b, '"')
		if details {
			b = appendCheckDetails(b, &s.cfg.Checks[i], cs)
		}
		b = append(b, '}')
	}
	b = append(b, '}', '}')
	return Reply{Status: 200, ContentType: ContentJSON, Body: b}
}

func appendCheckDetails(b []byte, ch *Check, cs *CheckState) []byte {
	b = appendField(b, false, "kind", ch.Kind.String())
	if cs.CheckedAt == 0 {
		return b
	}
	b = append(b, `,"latency_ms":`...)
	b = appendInt(b, int64(cs.LatencyMs))
	b = appendField(b, false, "checked_at", formatUTC(cs.CheckedAt))
	b = appendField(b, false, "message", cs.Message)
	if cs.HasObserved && !math.IsNaN(cs.Observed) && !math.IsInf(cs.Observed, 0) { // JSON has no NaN
		b = append(b, `,"observed":`...)
		b = strconv.AppendFloat(b, cs.Observed, 'g', -1, 64)
	}
	return appendHistoryJSON(b, cs.History)
}

// appendHistoryJSON appends `,"history":[…]`, the check's transitions,
// the newest first, as an operator paged for a flapping check reads them.
func appendHistoryJSON(b []byte, h []Transition) []byte {
	b = append(b, `,"history":[`...)
	for i := len(h) - 1; i >= 0; i-- {
		t := &h[i]
		if i < len(h)-1 {
			b = append(b, ',')
		}
		b = appendUTC(append(b, `{"at":"`...), t.At, 'T')
		b = appendField(append(b, '"'), false, "from", t.From.String())
		b = appendField(b, false, "to", t.To.String())
		b = append(b, `,"latency_ms":`...)
		b = appendInt(b, int64(t.LatencyMs))
		b = append(appendField(b, false, "message", t.Message), '}')
	}
	return append(b, ']')
}
