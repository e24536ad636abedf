package checks

import (
	"fmt"
	"strings"
)

// Dialect is one family of endpoint conventions (docs/dialects.md),
// declared whole in its render_<name>.go: an index into dialects.
type Dialect uint8

// dialect declares one dialect: its name in the configuration, its
// endpoint rows and its routes. Each render_<name>.go declares its own and
// hands it to declare; nothing else names it.
type dialect struct {
	name string
	// underBase: its paths are under base_path (the standard dialect).
	underBase bool
	// endpoints are its rows of the endpoint table, each with its routes,
	// listed in this order. A dialect's renderers tell its rows apart by
	// their index here (Route.row), named by constants of its own.
	endpoints []endpoint
	// refuse, if set, names what of c this dialect cannot serve, beside a path
	// that another dialect claims too.
	refuse func(c *Config) *ConfigError
	id     Dialect
	first  Endpoint // its first row in the endpoint table
}

// dialects are the declared dialects, in the order their files are
// initialized (their file names'); a Dialect indexes it and dialectNames.
// Arrays, not slices: appending to a slice would keep every field name of
// dialect and endpoint in the module, for the runtime's type descriptors.
// A seventeenth dialect panics at init.
var (
	dialects     [16]*dialect
	dialectNames [16]string
	nDialects    int
)

// declare adds d to dialects, at package init (var _ = declare(&d) in its
// file), never on the request path. Not inlined: each dialect's call would
// carry a copy of it.
//
//go:noinline
func declare(d *dialect) bool {
	d.id, d.first = Dialect(nDialects), nEndpoints
	dialects[nDialects], dialectNames[nDialects] = d, d.name
	nDialects++
	for i := range d.endpoints {
		endpoints[nEndpoints] = &d.endpoints[i]
		nEndpoints++
	}
	return true
}

func (d Dialect) String() string { return dialectNames[d] }

func dialectByName(s string) (Dialect, bool) {
	for i, n := range dialectNames[:nDialects] {
		if n == s {
			return Dialect(i), true
		}
	}
	return 0, false
}

// Endpoint is what a route answers: its row in the endpoint table (0 is
// none).
type Endpoint uint8

// Route is one path the plugin answers.
type Route struct {
	Path     string
	Endpoint Endpoint
	Dialect  Dialect
	// row is the endpoint's index in its dialect's declaration: a renderer
	// that serves several endpoints tells them apart by it.
	row uint8
	// Check is the single check a route like Kubernetes' /readyz/<check>
	// reports on.
	Check string
	// Write is true for the drain route (POST and DELETE instead of GET and HEAD).
	Write bool
	// Index is the route's position in Config.Routes: per-route tables (the
	// plugin's probe counters) are slices, not maps, on the request path.
	Index int
}

// buildRoutes lists every route of the enabled dialects and refuses two that
// share a path: a probe must never be answered by a convention it did not ask for.
func buildRoutes(c *Config) ([]Route, error) {
	var rs []Route
	for _, id := range c.Dialects {
		d := dialects[id]
		base := ""
		if d.underBase {
			base = c.BasePath
		}
		for i := range d.endpoints {
			e := &d.endpoints[i]
			if e.drain && !c.DrainEnabled {
				continue
			}
			names := []string{""} // one route: its path
			if e.builtins != nil || e.everyCheck {
				names = e.builtins[:len(e.builtins):len(e.builtins)] // one per name, after its path
				for j := 0; e.everyCheck && j < len(c.Checks); j++ {
					names = append(names, c.Checks[j].Name)
				}
			}
			for _, n := range names {
				rs = append(rs, Route{Path: trimSlash(base + e.path + n), Endpoint: d.first + Endpoint(i), Dialect: id, row: uint8(i), Check: n, Write: e.drain})
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
