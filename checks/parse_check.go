package checks

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// Parsing of one check (checks[i]): target, request, timing, policy and
// expectation.

var checkFields = []string{"name", "kind", "cluster", "authority", "path", "method", "headers", "timeout", "interval",
	"type", "gates", "group", "failure_threshold", "success_threshold", "expect", "observe", "grpc_service", "component_type"}

func parseChecks(r gjson.Result, interval time.Duration) ([]Check, error) {
	if !r.Exists() {
		return nil, nil
	}
	if !r.IsArray() {
		return nil, errf("checks", "must be a list of checks")
	}
	items := r.Array()
	if len(items) > MaxChecks {
		return nil, errf("checks", "at most %d checks (got %d)", MaxChecks, len(items))
	}
	out := make([]Check, 0, len(items))
	names := make(map[string]int, len(items))
	for i, item := range items {
		field := fmt.Sprintf("checks[%d]", i)
		c, err := parseCheck(field, item, interval)
		if err != nil {
			return nil, err
		}
		if j, dup := names[c.Name]; dup {
			return nil, errf(field+".name", "duplicate name %q (also checks[%d])", c.Name, j)
		}
		names[c.Name] = i
		out = append(out, c)
	}
	return out, nil
}

// parseCheck reads one check: what it calls (target), when (timing), what
// its result decides (policy) and what counts as a success (expectation).
func parseCheck(field string, r gjson.Result, interval time.Duration) (Check, error) {
	var c Check
	if !r.IsObject() {
		return c, errf(field, "must be an object")
	}
	if err := object(field, r, checkFields...); err != nil {
		return c, err
	}
	o := checkObject{field, r, interval}
	for _, step := range []func(checkObject, *Check) error{parseTarget, parseRequest, parseTiming, parsePolicy, parseExpectation} {
		if err := step(o, &c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// checkObject is one check's JSON object, its field path, and the
// default interval (refresh.interval).
type checkObject struct {
	field    string
	r        gjson.Result
	interval time.Duration
}

func (o checkObject) get(k string) gjson.Result { return o.r.Get(k) }
func (o checkObject) f(k string) string         { return o.field + "." + k }

// parseTarget reads the check's name, kind, cluster and authority.
func parseTarget(o checkObject, c *Check) error {
	var err error
	get, f := o.get, o.f
	if c.Name, err = str(f("name"), get("name")); err != nil {
		return err
	}
	if !get("name").Exists() {
		return errf(f("name"), "missing (every check needs a name)")
	}
	if !validName(c.Name) {
		return errf(f("name"), "bad name %s: use 1 to 63 of a-z 0-9 _ . -", short(c.Name))
	}
	kind, err := str(f("kind"), get("kind"))
	if err != nil {
		return err
	}
	switch kind {
	case "http":
		c.Kind = KindHTTP
	case "grpc":
		c.Kind = KindGRPC
	case "hsm":
		c.Kind = KindHSM
	case "":
		return errf(f("kind"), "missing (http, grpc or hsm)")
	default:
		return errf(f("kind"), "unknown kind %s (http, grpc or hsm)", short(kind))
	}
	if c.Cluster, err = str(f("cluster"), get("cluster")); err != nil {
		return err
	}
	if c.Cluster == "" {
		return errf(f("cluster"), "missing (the Envoy cluster to call)")
	}
	if err := noControl(f("cluster"), c.Cluster); err != nil {
		return err
	}
	if c.Authority, err = str(f("authority"), get("authority")); err != nil {
		return err
	}
	if err := noControl(f("authority"), c.Authority); err != nil {
		return err
	}
	if c.Authority == "" {
		c.Authority = defaultAuthority(c.Cluster)
	}
	return nil
}

// parseRequest reads what the check sends: the gRPC service, or the path
// and method; and its headers.
func parseRequest(o checkObject, c *Check) error {
	var err error
	get, f := o.get, o.f
	if c.Kind == KindGRPC {
		for _, k := range []string{"path", "method", "expect", "observe"} {
			if get(k).Exists() {
				return errf(f(k), "not used by grpc checks (they call grpc.health.v1.Health/Check)")
			}
		}
		c.Path, c.Method = grpcHealthPath, "POST"
		if c.GRPCService, err = str(f("grpc_service"), get("grpc_service")); err != nil {
			return err
		}
		if err := noControl(f("grpc_service"), c.GRPCService); err != nil {
			return err
		}
	} else {
		if get("grpc_service").Exists() {
			return errf(f("grpc_service"), "only grpc checks take a grpc_service")
		}
		if c.Path, err = str(f("path"), get("path")); err != nil {
			return err
		}
		if c.Path == "" {
			c.Path = "/"
		}
		if err := noControl(f("path"), c.Path); err != nil {
			return err
		}
		if !strings.HasPrefix(c.Path, "/") || strings.ContainsAny(c.Path, " #") {
			return errf(f("path"), "must be an absolute request path like \"/healthz\"")
		}
		if c.Method, err = str(f("method"), get("method")); err != nil {
			return err
		}
		if c.Method == "" {
			c.Method = "GET"
		}
		if !validToken(c.Method) || strings.ContainsAny(c.Method, "abcdefghijklmnopqrstuvwxyz") {
			return errf(f("method"), "must be an upper-case HTTP method like GET")
		}
	}
	if c.Headers, err = parseHeaders(f("headers"), get("headers")); err != nil {
		return err
	}
	if c.Kind == KindGRPC {
		for _, h := range c.Headers {
			if h[0] == "content-type" || h[0] == "te" {
				return errf(f("headers"), "%s is set by the grpc check", h[0])
			}
		}
	}
	return nil
}

// parseTiming reads the interval (default: refresh.interval) and timeout.
func parseTiming(o checkObject, c *Check) error {
	var err error
	if c.Interval, err = duration(o.f("interval"), o.get("interval"), o.interval); err != nil {
		return err
	}
	if c.Timeout, err = duration(o.f("timeout"), o.get("timeout"), min(defaultTimeout, c.Interval)); err != nil {
		return err
	}
	if c.Timeout > c.Interval {
		return errf(o.f("timeout"), "%s is longer than the check interval %s (checks would overlap)", c.Timeout, c.Interval)
	}
	return nil
}

// parsePolicy reads what a result decides: type, gates, group, thresholds.
func parsePolicy(o checkObject, c *Check) error {
	var err error
	get, f := o.get, o.f
	switch t, err := str(f("type"), get("type")); {
	case err != nil:
		return err
	case t == "" || t == "hard":
	case t == "soft":
		c.Soft = true
	default:
		return errf(f("type"), "must be \"hard\" or \"soft\"")
	}
	if gates := get("gates"); gates.Exists() {
		list, err := strList(f("gates"), gates)
		if err != nil {
			return err
		}
		for j, g := range list {
			switch g {
			case "readiness":
				c.Gates |= GateReadiness
			case "startup":
				c.Gates |= GateStartup
			default:
				return errf(fmt.Sprintf("%s[%d]", f("gates"), j), "unknown gate %s (readiness or startup)", short(g))
			}
		}
	} else if !c.Soft {
		c.Gates = GateReadiness | GateStartup
	}
	if c.Group, err = str(f("group"), get("group")); err != nil {
		return err
	}
	if c.Group != "" && !validName(c.Group) {
		return errf(f("group"), "bad group %s: use 1 to 63 of a-z 0-9 _ . -", short(c.Group))
	}
	if c.FailureThreshold, err = integer(f("failure_threshold"), get("failure_threshold"), defaultFailureThreshold, 1, 1000); err != nil {
		return err
	}
	c.SuccessThreshold, err = integer(f("success_threshold"), get("success_threshold"), defaultSuccessThreshold, 1, 1000)
	return err
}

// parseExpectation reads what counts as a success (expect), the observed
// value and the health+json component type.
func parseExpectation(o checkObject, c *Check) error {
	var err error
	get, f := o.get, o.f
	if err := parseExpect(f("expect"), get("expect"), c); err != nil {
		return err
	}
	if c.Observe, err = str(f("observe"), get("observe")); err != nil {
		return err
	}
	if get("observe").Exists() && c.Observe == "" {
		return errf(f("observe"), "must be a non-empty JSON path")
	}
	if c.ComponentType, err = str(f("component_type"), get("component_type")); err != nil {
		return err
	}
	if get("component_type").Exists() && !validToken(c.ComponentType) {
		return errf(f("component_type"), "must be a word like \"datastore\", \"component\" or \"system\"")
	}
	return nil
}

// grpcHealthPath is the method every grpc check calls.
const grpcHealthPath = "/grpc.health.v1.Health/Check"

// defaultAuthority is the cluster name, except for Istio's
// "DIRECTION|PORT|SUBSET|HOST" names: HOST:PORT is what the peer expects,
// and the app behind an inbound cluster without a host ("inbound|8080||")
// gets localhost:PORT. A "|" is no valid host character: Go's and Tomcat's
// servers answer such an authority with 400.
func defaultAuthority(cluster string) string {
	parts := strings.Split(cluster, "|")
	if len(parts) != 4 || (parts[0] != "outbound" && parts[0] != "inbound") {
		return cluster
	}
	host := parts[3]
	if host == "" && parts[0] == "inbound" && parts[1] != "" {
		host = "localhost"
	}
	switch {
	case host == "":
		return cluster
	case parts[1] != "":
		return host + ":" + parts[1]
	}
	return host
}

func validName(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '.' || ch == '-') {
			return false
		}
	}
	return true
}

// validToken is RFC 9110's token (header names, methods).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", ch) >= 0) {
			return false
		}
	}
	return true
}

// parseHeaders reads the callout headers. Values are secrets: no error
// message quotes one.
func parseHeaders(field string, r gjson.Result) ([][2]string, error) {
	if !r.Exists() {
		return nil, nil
	}
	if !r.IsObject() {
		return nil, errf(field, "must be an object of header names to values")
	}
	var out [][2]string
	var err error
	r.ForEach(func(k, v gjson.Result) bool {
		name := strings.ToLower(k.String())
		hf := field + "." + quoteKey(k.String())
		switch {
		case !validToken(name):
			err = errf(hf, "not a valid header name (pseudo-headers like :authority are set by the check)")
		case v.Type != gjson.String:
			err = errf(hf, "value must be a string")
		case hasControl(v.Str):
			err = errf(hf, "value must not contain control characters (CR, LF, NUL, other C0 or DEL; value withheld)")
		}
		for _, h := range out {
			if err == nil && h[0] == name {
				err = errf(hf, "appears twice")
			}
		}
		out = append(out, [2]string{name, v.Str})
		return err == nil
	})
	return out, err
}

func parseExpect(field string, r gjson.Result, c *Check) error {
	if err := object(field, r, "status", "json"); err != nil {
		return err
	}
	if s := r.Get("status"); s.Exists() {
		items := []gjson.Result{s}
		if s.IsArray() {
			items = s.Array()
		}
		if len(items) == 0 {
			return errf(field+".status", "must list at least one status (codes like 200 or classes like \"2xx\")")
		}
		for i, it := range items {
			rg, ok := statusRange(it)
			if !ok {
				return errf(fmt.Sprintf("%s.status[%d]", field, i), "must be a status code from 100 to 599 or a class like \"2xx\"")
			}
			c.ExpectStatus = append(c.ExpectStatus, rg)
		}
	} else {
		c.ExpectStatus = []StatusRange{{200, 299}}
	}
	j := r.Get("json")
	if !j.Exists() {
		if c.Kind == KindHSM {
			e := JSONExpect{Path: "status"}
			for _, v := range hsmAccept {
				e.Accept = append(e.Accept, Scalar{Type: ScalarString, Text: v})
			}
			c.ExpectJSON = []JSONExpect{e}
		}
		return nil
	}
	if !j.IsObject() {
		return errf(field+".json", "must be an object of JSON paths to expected values")
	}
	var err error
	j.ForEach(func(k, v gjson.Result) bool {
		ef := field + ".json." + quoteKey(k.String())
		if k.String() == "" {
			err = errf(ef, "empty JSON path")
			return false
		}
		e := JSONExpect{Path: k.String()}
		vals := []gjson.Result{v}
		if v.IsArray() {
			vals = v.Array()
		}
		if len(vals) == 0 {
			err = errf(ef, "must list at least one accepted value")
			return false
		}
		for _, x := range vals {
			s, ok := scalar(x)
			if !ok {
				err = errf(ef, "expected values must be strings, numbers, booleans or null")
				return false
			}
			e.Accept = append(e.Accept, s)
		}
		c.ExpectJSON = append(c.ExpectJSON, e)
		return true
	})
	return err
}

func statusRange(r gjson.Result) (StatusRange, bool) {
	s := r.Raw
	if r.Type == gjson.String {
		s = r.Str
	}
	if len(s) == 3 && (s[1] == 'x' || s[1] == 'X') && (s[2] == 'x' || s[2] == 'X') && s[0] >= '1' && s[0] <= '5' {
		lo := int(s[0]-'0') * 100
		return StatusRange{lo, lo + 99}, true
	}
	if r.Type != gjson.String && r.Type != gjson.Number {
		return StatusRange{}, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 {
		return StatusRange{}, false
	}
	return StatusRange{n, n}, true
}

func scalar(r gjson.Result) (Scalar, bool) {
	switch r.Type {
	case gjson.String:
		return Scalar{Type: ScalarString, Text: r.Str}, true
	case gjson.Number:
		return Scalar{Type: ScalarNumber, Text: r.Raw, Num: r.Num}, true
	case gjson.True, gjson.False:
		return Scalar{Type: ScalarBool, Text: r.Raw}, true
	case gjson.Null:
		return Scalar{Type: ScalarNull, Text: "null"}, true
	}
	return Scalar{}, false
}
