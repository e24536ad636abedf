package checks

// Source is what an answer may read about one request; plugin/ supplies
// it. Each endpoint reads only what its row in the endpoint table says:
// TestEndpointReads holds every renderer to its row.
type Source interface {
	Summary() Summary          // the readiness summary: one shared-data read, no decode
	State() *State             // every check's record
	Details() bool             // this client may see details (the details policy)
	HealthJSON() bool          // this client asked for application/health+json
	ProbeCounts() []ProbeCount // the proxy's probe counters
	Now() int64                // unix ms (a time.Time here would keep all its methods in the .wasm)
}

// Reads is what an endpoint's answer reads of its Source.
type Reads uint8

const (
	ReadsSummary Reads = 1 << iota
	ReadsState
	ReadsCounters
	ReadsClock
)

// endpoint is one row of the endpoint table: everything the plugin needs
// to know to serve an endpoint, beside how to render it.
type endpoint struct {
	label string // the route's metrics label, after "dialect/"
	reads Reads
	// details: answered 403 to a client the details policy does not allow.
	details bool
	// healthJSON: a client that accepts application/health+json gets the
	// IETF draft's document instead (it reads the state).
	healthJSON bool
	// noRefresh: reads results as they are, even when on_request refresh would
	// renew stale ones first (a scrape must not set off checks).
	noRefresh bool
	// fixed: the answer is the same whatever the state, built once
	// (Answers.fixed); liveness takes no call beyond the lookup.
	fixed bool
	// probe: the kubelet probe the endpoint suits, if any.
	probe probe
	// The renderer: dialect, from a view of the request (its state if the
	// row reads it, else every check unknown: see bare); or render, for an
	// answer that needs more than a view.
	dialect func(r *Route, v *View) Reply
	render  render
}

// endpoints is the endpoint table. Adding an endpoint means a row here,
// its path in buildRoutes and its renderer: nothing in plugin/.
var endpoints = [endpointCount]endpoint{
	StdLiveness:  {label: "liveness", probe: probeLiveness, fixed: true},
	StdReadiness: {label: "readiness", probe: probeReadiness, reads: ReadsSummary, healthJSON: true, render: (*Answers).readiness},
	StdStartup:   {label: "startup", probe: probeStartup, reads: ReadsSummary, render: (*Answers).startup},
	StdUp:        {label: "up", reads: ReadsClock, render: (*Answers).up},
	StdDependencies: {label: "dependencies", reads: ReadsState, healthJSON: true,
		render: func(a *Answers, _ *Route, _ string, src Source) Reply {
			return a.dependencies(src.State(), src.Details())
		}},
	StdMetrics: {label: "metrics", reads: ReadsState | ReadsCounters, details: true, noRefresh: true, // latencies and check names are details
		render: func(a *Answers, _ *Route, _ string, src Source) Reply {
			return Metrics(&View{Cfg: a.cfg, State: src.State(), ShowDetails: true}, a.svc, src.ProbeCounts())
		}},
	StdInfo:  {label: "info", details: true, fixed: true},
	StdDrain: {label: "drain"}, // a write: plugin/ serves it (drain.go)
	StdStatus: {label: "status", reads: ReadsState | ReadsClock,
		render: func(a *Answers, _ *Route, q string, src Source) Reply {
			return StatusPage(a.view(q, src), a.svc, src.Now())
		}},

	K8sLivez:       {label: "livez", probe: probeLiveness, dialect: Kubernetes},
	K8sReadyz:      {label: "readyz", probe: probeReadiness, reads: ReadsState, dialect: Kubernetes},
	K8sHealthz:     {label: "healthz", probe: probeReadiness, reads: ReadsState, dialect: Kubernetes},
	K8sLivezCheck:  {label: "livez_check", probe: probeLiveness, dialect: KubernetesCheck},
	K8sReadyzCheck: {label: "readyz_check", probe: probeReadiness, reads: ReadsState, dialect: KubernetesCheck},

	PrivacyIDEAHealthz:    {label: "healthz", probe: probeReadiness, reads: ReadsState, dialect: PrivacyIDEA},
	PrivacyIDEALivez:      {label: "livez", probe: probeLiveness, dialect: PrivacyIDEA},
	PrivacyIDEAReadyz:     {label: "readyz", probe: probeReadiness, reads: ReadsState, dialect: PrivacyIDEA},
	PrivacyIDEAStartupz:   {label: "startupz", probe: probeStartup, reads: ReadsState, dialect: PrivacyIDEA},
	PrivacyIDEAResolversz: {label: "resolversz", reads: ReadsState, dialect: PrivacyIDEA},

	AuroraLiveness:  {label: "liveness", probe: probeLiveness, dialect: Aurora},
	AuroraReadiness: {label: "readiness", probe: probeReadiness, reads: ReadsState, dialect: Aurora},

	// No probe: it fails when a hard dependency is down, and a kubelet liveness
	// probe that does so restarts healthy pods during someone else's outage.
	AmsdalLiveness:  {label: "liveness", reads: ReadsState, dialect: Amsdal},
	AmsdalReadiness: {label: "readiness", probe: probeReadiness, reads: ReadsState, dialect: Amsdal},

	LibertyHealth: {label: "health", fixed: true},
	LibertyInfo:   {label: "info", details: true, fixed: true},
}

// probe is a kubelet probe an endpoint suits: one that never restarts a
// healthy pod during a dependency's outage (liveness), or holds traffic
// back while it cannot serve (readiness, startup).
type probe uint8

const (
	probeNone probe = iota
	probeLiveness
	probeReadiness
	probeStartup
)

var probeNames = [...]string{"", "liveness", "readiness", "startup"}

// KubeletProbe is the kubelet probe r's endpoint suits: "liveness",
// "readiness", "startup", or "" for none.
func (r *Route) KubeletProbe() string { return probeNames[endpoints[r.Endpoint].probe] }

// WantsFresh reports whether e's answer depends on check results that, in
// on_request refresh, are renewed first when stale.
func (e Endpoint) WantsFresh() bool {
	r := &endpoints[e]
	return r.reads&(ReadsSummary|ReadsState) != 0 && !r.noRefresh
}

// Answers renders one configuration's endpoints for one service identity.
// Everything that depends on neither state nor time is built once here.
type Answers struct {
	cfg       *Config
	svc       Service
	empty     *State               // what a renderer that reads no state sees: every check unknown
	fixed     [endpointCount]Reply // the fixed rows' answers
	notReady  map[string]Reply
	upPrefix  []byte   // `{"status":"up",<identity fields>,` without the timestamp
	depsNames [][]byte // `"name":{"name":"name","type":"hard","status":` per check
	depsSize  int      // /dependencies without details fits in this
}

// Render renders the answer to a read (GET or HEAD) of route r with the raw
// query, reading of src only what r's endpoint reads.
func (a *Answers) Render(r *Route, query string, src Source) Reply {
	e := &endpoints[r.Endpoint]
	switch {
	case e.healthJSON && src.HealthJSON():
		return HealthJSON(r.Endpoint, a.view(query, src), a.svc)
	case e.details && !src.Details():
		return ReplyForbidden
	case e.fixed:
		return a.fixed[r.Endpoint]
	case e.dialect != nil && e.reads&ReadsState != 0:
		return e.dialect(r, a.view(query, src))
	case e.dialect != nil:
		return e.dialect(r, a.bare(query))
	case e.render != nil:
		return e.render(a, r, query, src)
	}
	return ReplyNotFound // a write: plugin/ serves it
}

// view is what a renderer that reads the state sees of a request.
func (a *Answers) view(query string, src Source) *View {
	return &View{Cfg: a.cfg, State: src.State(), ShowDetails: src.Details(), Query: query}
}

// bare is what a renderer that reads no state sees: every check unknown,
// no details. It is sized like the configuration, so a renderer indexing
// it by check can give a wrong answer (which the tests catch) but never trap.
func (a *Answers) bare(query string) *View {
	return &View{Cfg: a.cfg, State: a.empty, Query: query}
}

// render is a row's renderer when it needs more than a view.
type render func(a *Answers, r *Route, query string, src Source) Reply

// EndpointLabel names a route for metrics: dialect/endpoint, one label for all
// single-check Kubernetes routes.
func (r *Route) EndpointLabel() string { return r.Dialect.String() + "/" + endpoints[r.Endpoint].label }

// EndpointLabels lists the distinct endpoint labels of the routes, in order.
func EndpointLabels(routes []Route) []string {
	var out []string
	seen := map[string]bool{}
	for i := range routes {
		if l := routes[i].EndpointLabel(); !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}
