package checks

import (
	"fmt"
	"strings"
)

// Dialect is one family of endpoint conventions (docs/dialects.md).
type Dialect uint8

const (
	DialectStandard Dialect = iota
	DialectKubernetes
	DialectPrivacyIDEA
	DialectAurora
	DialectAmsdal
	DialectLiberty
)

var dialectNames = [...]string{
	DialectStandard:    "standard",
	DialectKubernetes:  "kubernetes",
	DialectPrivacyIDEA: "privacyidea",
	DialectAurora:      "aurora",
	DialectAmsdal:      "amsdal",
	DialectLiberty:     "liberty",
}

func (d Dialect) String() string { return dialectNames[d] }

func dialectByName(s string) (Dialect, bool) {
	for i, n := range dialectNames {
		if n == s {
			return Dialect(i), true
		}
	}
	return 0, false
}

// Endpoint names what a route answers.
type Endpoint uint8

const (
	StdLiveness Endpoint = iota + 1
	StdReadiness
	StdStartup
	StdUp
	StdDependencies
	StdMetrics
	StdInfo
	StdDrain
	StdStatus
	K8sLivez
	K8sReadyz
	K8sHealthz
	K8sLivezCheck  // /livez/<builtin>
	K8sReadyzCheck // /readyz/<builtin or check>
	PrivacyIDEAHealthz
	PrivacyIDEALivez
	PrivacyIDEAReadyz
	PrivacyIDEAStartupz
	PrivacyIDEAResolversz
	AuroraLiveness
	AuroraReadiness
	AmsdalLiveness
	AmsdalReadiness
	LibertyHealth
	LibertyInfo
	endpointCount // one past the last
)

// Route is one path the plugin answers.
type Route struct {
	Path     string
	Endpoint Endpoint
	Dialect  Dialect
	// Check is the single check a K8s*Check route reports on.
	Check string
	// Write is true for the drain route (POST and DELETE instead of GET and HEAD).
	Write bool
	// Index is the route's position in Config.Routes: per-route tables (the
	// plugin's probe counters) are slices, not maps, on the request path.
	Index int
}

// Kubernetes built-in check names (the API server's own).
const (
	BuiltinPing     = "ping"
	BuiltinShutdown = "shutdown"
	BuiltinStarted  = "started" // fails until every startup-gating check was up once
)

// dialectPaths are the routes each dialect always has, in the order
// buildRoutes lists them (the standard dialect's under base_path). A table
// rather than a call per route: each call was inlined into buildRoutes.
var dialectPaths = [...][]struct {
	endpoint Endpoint
	path     string
}{
	DialectStandard: {
		{StdLiveness, "/probes/liveness"}, {StdReadiness, "/probes/readiness"}, {StdStartup, "/probes/startup"},
		{StdUp, "/up"}, {StdMetrics, "/metrics"}, {StdDependencies, "/dependencies"}, {StdInfo, "/info"},
		{StdStatus, "/status"},
	},
	DialectKubernetes: {{K8sLivez, "/livez"}, {K8sReadyz, "/readyz"}, {K8sHealthz, "/healthz"}},
	DialectPrivacyIDEA: {
		{PrivacyIDEAHealthz, "/healthz"}, {PrivacyIDEALivez, "/healthz/livez"}, {PrivacyIDEAReadyz, "/healthz/readyz"},
		{PrivacyIDEAStartupz, "/healthz/startupz"}, {PrivacyIDEAResolversz, "/healthz/resolversz"},
	},
	DialectAurora:  {{AuroraLiveness, "/health/liveness"}, {AuroraReadiness, "/health/readiness"}},
	DialectAmsdal:  {{AmsdalLiveness, "/api/probes/liveness/"}, {AmsdalReadiness, "/api/probes/readiness/"}},
	DialectLiberty: {{LibertyHealth, "/health"}, {LibertyInfo, "/info"}},
}

// buildRoutes lists every route of the enabled dialects and refuses two that
// share a path: a probe must never be answered by a convention it did not ask for.
func buildRoutes(c *Config) ([]Route, error) {
	var rs []Route
	for _, d := range c.Dialects {
		base := ""
		if d == DialectStandard {
			base = c.BasePath
		}
		for _, p := range dialectPaths[d] {
			rs = append(rs, Route{Path: trimSlash(base + p.path), Endpoint: p.endpoint, Dialect: d})
		}
		switch d {
		case DialectStandard:
			if c.DrainEnabled {
				rs = append(rs, Route{Path: base + "/drain", Endpoint: StdDrain, Dialect: d, Write: true})
			}
		case DialectKubernetes:
			rs = append(rs, Route{Path: "/livez/" + BuiltinPing, Endpoint: K8sLivezCheck, Dialect: d, Check: BuiltinPing})
			for _, n := range []string{BuiltinPing, BuiltinStarted, BuiltinShutdown} {
				rs = append(rs, Route{Path: "/readyz/" + n, Endpoint: K8sReadyzCheck, Dialect: d, Check: n})
			}
			for i := range c.Checks {
				n := c.Checks[i].Name
				rs = append(rs, Route{Path: "/readyz/" + n, Endpoint: K8sReadyzCheck, Dialect: d, Check: n})
			}
		}
	}
	seen := make(map[string]int, len(rs))
	for i, r := range rs {
		if j, dup := seen[r.Path]; dup {
			o := rs[j]
			if o.Dialect == r.Dialect {
				// Only a check named like a built-in can collide inside one dialect.
				return nil, &ConfigError{Field: "checks", Problem: fmt.Sprintf("check name %q collides with the %s built-in %s", r.Check, r.Dialect, r.Path)}
			}
			return nil, &ConfigError{Field: "dialects", Problem: fmt.Sprintf("path collision: %s is served by both %s and %s (change base_path or drop one dialect)", displayPath(r.Path), o.Dialect, r.Dialect)}
		}
		seen[r.Path] = i
		rs[i].Index = i
	}
	return rs, nil
}

func displayPath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// trimSlash drops one trailing "/" so "/x/" and "/x" are one route; the root stays "/".
func trimSlash(p string) string {
	if len(p) > 1 && p[len(p)-1] == '/' {
		return p[:len(p)-1]
	}
	return p
}

// Router maps a request path to its route. It is built once at configure
// time; Match does no allocation and no hashing: on wasm a string-keyed map
// lookup costs more than the rest of a liveness answer, so routes are found
// by length, then compared.
type Router struct {
	// byLen[n] are the routes whose path is n bytes long (a few at most).
	byLen [][]*Route
	// Most requests are not health probes: second rejects them before any
	// scan. It holds the byte after the leading "/" of every route path.
	second [256]bool
}

// NewRouter indexes routes by path length.
func NewRouter(routes []Route) *Router {
	r := &Router{}
	for i := range routes {
		p := routes[i].Path
		for len(r.byLen) <= len(p) {
			r.byLen = append(r.byLen, nil)
		}
		r.byLen[len(p)] = append(r.byLen[len(p)], &routes[i])
		if len(p) > 1 {
			r.second[p[1]] = true
		} else {
			r.second['/'], r.second['?'] = true, true // "/" and "//", "/?x"
		}
	}
	return r
}

// Match returns the route for a ":path" header value (query ignored, one
// trailing "/" optional), or nil. Its work is bounded by the longest route,
// however long the path.
func (r *Router) Match(path string) *Route {
	if len(path) < 2 || !r.second[path[1]] {
		if path != "/" {
			return nil
		}
	}
	if rt := r.exact(path); rt != nil { // a probe as configured: no query, no extra "/"
		return rt
	}
	maxLen := len(r.byLen) - 1
	head := path[:min(len(path), maxLen+2)] // a route, "/" and "?" at most
	if i := strings.IndexByte(head, '?'); i >= 0 {
		path = path[:i]
	} else if len(path) > maxLen+1 {
		return nil
	}
	return r.exact(trimSlash(path))
}

// exact returns the route whose path is p, or nil.
func (r *Router) exact(p string) *Route {
	if len(p) >= len(r.byLen) {
		return nil
	}
	for _, rt := range r.byLen[len(p)] {
		if rt.Path == p {
			return rt
		}
	}
	return nil
}

// Query returns the raw query of a ":path" value ("" if none).
func Query(path string) string {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		return path[i+1:]
	}
	return ""
}

// ExactPaths are the request paths, query removed, on which Match finds a
// route: each route's path, and it with one trailing "/". A proxy that
// runs the plugin only on these paths (in Envoy, one route per path with a
// `path` match, which ignores the query) still sends it every request it
// answers.
func ExactPaths(routes []Route) []string {
	out := make([]string, 0, 2*len(routes))
	for i := range routes {
		out = append(out, routes[i].Path, routes[i].Path+"/")
	}
	return out
}
