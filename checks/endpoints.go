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

// readSet is what an endpoint's answer reads of its Source.
type readSet uint8

const (
	readsSummary readSet = 1 << iota
	readsState
	readsCounters
	readsClock
)

// endpoint is one row of the endpoint table: everything the plugin needs
// to know to serve an endpoint, beside how to render it. Each dialect
// declares its rows, with their routes, in its render_<dialect>.go.
type endpoint struct {
	// path is its route (under base_path in the standard dialect). An
	// endpoint that answers for one check has a route per name in builtins
	// and, with everyCheck, per configured check: path, then the name.
	path       string
	builtins   []string
	everyCheck bool
	label      string // the route's metrics label, after "dialect/"
	reads      readSet
	// details: answered 403 to a client the details policy does not allow.
	details bool
	// healthJSON: a client that accepts application/health+json gets the
	// IETF draft's document instead (it reads the state).
	healthJSON bool
	// noRefresh: reads results as they are, even when on_request refresh would
	// renew stale ones first (a scrape must not set off checks).
	noRefresh bool
	// fixed: the answer is the same whatever the state: render runs once, in
	// NewAnswers (Answers.fixed); liveness takes no call beyond the lookup.
	fixed bool
	// drain: served only when drain.enabled, to POST and DELETE instead of
	// GET and HEAD; plugin/ serves it.
	drain bool
	// probe: the kubelet probe the endpoint suits, if any.
	probe probe
	// The renderer: renderView, from a view of the request (its state if the
	// row reads it, else every check unknown: see bare); or render, for an
	// answer that needs more than a view.
	renderView func(r *Route, v *View) Reply
	render     render
}

// endpoints is the endpoint table, indexed by Endpoint: row 0 is none, the
// others point at the dialects' rows, in the order declare met them (at
// most 255 in all: TestDeclarations). 256 entries: an Endpoint needs no
// bounds check.
var (
	endpoints  [256]*endpoint
	nEndpoints Endpoint = 1
)

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
	r := endpoints[e]
	return r.reads&(readsSummary|readsState) != 0 && !r.noRefresh
}

// Answers renders one configuration's endpoints for one service identity.
// Everything that depends on neither state nor time is built once here.
type Answers struct {
	cfg       *Config
	svc       Service
	empty     *State  // what a renderer that reads no state sees: every check unknown
	fixed     []Reply // the fixed rows' answers, by Route.Index
	notReady  map[string]Reply
	upPrefix  []byte   // `{"status":"up",<identity fields>,` without the timestamp
	depsNames [][]byte // `"name":{"name":"name","type":"hard","status":` per check
	depsSize  int      // /dependencies without details fits in this
}

// Render renders the answer to a read (GET or HEAD) of route r with the raw
// query, reading of src only what r's endpoint reads.
func (a *Answers) Render(r *Route, query string, src Source) Reply {
	e := endpoints[r.Endpoint]
	switch {
	case e.healthJSON && src.HealthJSON():
		return healthJSON(r, a.view(query, src), a.svc)
	case e.details && !src.Details():
		return ReplyForbidden
	case e.fixed:
		return a.fixed[r.Index]
	case e.renderView != nil && e.reads&readsState != 0:
		return e.renderView(r, a.view(query, src))
	case e.renderView != nil:
		return e.renderView(r, a.bare(query))
	case e.render != nil:
		return e.render(a, r, query, src)
	}
	return replyNotFound // a write: plugin/ serves it
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

// EndpointLabel names a route for metrics: dialect/endpoint, one label for
// all the routes of one endpoint (Kubernetes' /readyz/<check>).
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
