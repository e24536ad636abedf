package checks

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// ConfigError is a refused configuration: the field (a JSON path such as
// "checks[2].timeout") and what is wrong with it, in one line.
type ConfigError struct {
	Field   string
	Problem string
}

// Error is one line of printable text, at most maxErrorLine runes: every
// message quotes the configuration through short or quoteKey, and this is
// the backstop for any that does not (a base_path in a path collision), so
// no configuration can forge a second log line or fill the log.
func (e *ConfigError) Error() string {
	if e.Field == "" {
		return printable("invalid configuration: "+e.Problem, maxErrorLine)
	}
	return printable("invalid configuration: "+e.Field+": "+e.Problem, maxErrorLine)
}

// maxQuoted bounds (in runes of escaped text) what an error quotes from the
// configuration; maxErrorLine bounds the whole line.
const (
	maxQuoted    = 64
	maxErrorLine = 512
)

// short is how an error quotes a configured string (a key, a value): Go
// syntax, so a control character, a line or paragraph separator or an
// invalid byte shows as its escape and never breaks the line, cut after
// maxQuoted runes of escaped text with "…" after the closing quote.
func short(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	width := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var piece string
		if r == utf8.RuneError && size == 1 {
			piece = fmt.Sprintf(`\x%02x`, s[i])
		} else {
			q := strconv.Quote(s[i : i+size])
			piece = q[1 : len(q)-1]
		}
		if width += utf8.RuneCountInString(piece); width > maxQuoted {
			b.WriteString(`"…`)
			return b.String()
		}
		b.WriteString(piece)
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

// printable escapes every rune of s that is not printable (as short would)
// and cuts s after max runes with "…".
func printable(s string, max int) string {
	clean := utf8.RuneCountInString(s) <= max
	for _, r := range s {
		if clean && !(r == ' ' || r != utf8.RuneError && strconv.IsPrint(r)) {
			clean = false
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	width := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		piece := s[i : i+size]
		if r == utf8.RuneError && size == 1 {
			piece = fmt.Sprintf(`\x%02x`, s[i])
		} else if r != ' ' && !strconv.IsPrint(r) {
			q := strconv.Quote(piece)
			piece = q[1 : len(q)-1]
		}
		if width += utf8.RuneCountInString(piece); width > max {
			b.WriteString("…")
			break
		}
		b.WriteString(piece)
		i += size
	}
	return b.String()
}

func errf(field, format string, args ...any) *ConfigError {
	return &ConfigError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// MaxChecks bounds the configuration so state and routes stay small.
const MaxChecks = 256

// MaxDuration bounds every duration (a day), so timeouts fit the proxy's
// 32-bit millisecond field.
const MaxDuration = 24 * time.Hour

// Parse reads a plugin configuration (JSON), applies defaults and validates
// it. An empty configuration means every default. Errors are *ConfigError.
func Parse(data []byte) (*Config, error) {
	if len(strings.TrimSpace(string(data))) == 0 {
		data = []byte("{}")
	}
	if !gjson.ValidBytes(data) {
		return nil, errf("", "not valid JSON")
	}
	if err := noDuplicateKeys(data); err != nil {
		return nil, err
	}
	root := gjson.ParseBytes(data)
	if err := object("", root, "service", "base_path", "dialects", "refresh", "checks", "details", "drain"); err != nil {
		return nil, err
	}
	c := &Config{}
	var err error
	if c.Service, err = parseService(root.Get("service")); err != nil {
		return nil, err
	}
	if c.BasePath, err = parseBasePath(root.Get("base_path")); err != nil {
		return nil, err
	}
	if c.Dialects, err = parseDialects(root.Get("dialects")); err != nil {
		return nil, err
	}
	if c.Refresh, err = parseRefresh(root.Get("refresh")); err != nil {
		return nil, err
	}
	if c.Checks, err = parseChecks(root.Get("checks"), c.Refresh.Interval); err != nil {
		return nil, err
	}
	if c.Details, err = parseDetails(root.Get("details")); err != nil {
		return nil, err
	}
	if d := root.Get("drain"); d.Exists() {
		if err := object("drain", d, "enabled"); err != nil {
			return nil, err
		}
		if c.DrainEnabled, err = boolean("drain.enabled", d.Get("enabled")); err != nil {
			return nil, err
		}
	}
	for i := range c.Checks {
		if c.Checks[i].Group == "status" && slices.Contains(c.Dialects, DialectPrivacyIDEA) {
			return nil, errf(fmt.Sprintf("checks[%d].group", i), "\"status\" is the privacyidea resolversz status field: choose another group name")
		}
	}
	if c.DrainEnabled && !c.Details.hasAllowLists() {
		return nil, errf("drain.enabled", "needs details.allow_cidrs, token_sha256 or allow_principals: only those may drain (details.expose does not apply)")
	}
	if every := everyAddress(c.Details.AllowCIDRs); every != "" {
		if c.DrainEnabled {
			return nil, errf("details.allow_cidrs", "lets every %s address in while drain.enabled is true: anyone could drain this replica (list only the ranges of the clients that may)", every)
		}
		c.Warnings = append(c.Warnings, "details.allow_cidrs: lets every "+every+" address in, as good as no list: any client that reaches the listener may see details unless details.expose is \"never\" (list only the ranges of the clients that may)")
	}
	for i := range c.Checks {
		for _, h := range c.Checks[i].Headers {
			if n := utf8.RuneCountInString(h[1]); n > 0 && n < secretMinRunes {
				c.Warnings = append(c.Warnings, fmt.Sprintf("checks[%d].headers.%s: a value of %d character(s) cannot be told from ordinary text: "+
					"header values are secrets, so a dependency's value that contains it is withheld from every message, and an observed number that contains it is dropped", i, h[0], n))
			}
		}
	}
	if c.Routes, err = buildRoutes(c); err != nil {
		return nil, err
	}
	return c, nil
}

// object checks that r, if present, is an object whose keys are all known
// (noDuplicateKeys has made sure each appears once).
func object(field string, r gjson.Result, known ...string) error {
	if !r.Exists() {
		return nil
	}
	if !r.IsObject() {
		return errf(field, "must be an object")
	}
	var err error
	r.ForEach(func(k, _ gjson.Result) bool {
		if name := k.String(); !contains(known, name) {
			err = errf(join(field, name), "unknown field")
		}
		return err == nil
	})
	return err
}

// noDuplicateKeys refuses a key that appears twice in one object, at any
// depth of the configuration (gjson reads the first of two and would
// silently drop the other), naming the object's path and the key. data is
// valid JSON; one pass over it, without recursion.
func noDuplicateKeys(data []byte) error {
	type frame struct {
		object bool
		index  int    // array: the element being read
		key    string // object: the key of the value being read
		seen   map[string]struct{}
	}
	var stack []frame
	key := false // the next string is an object key
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '{':
			stack = append(stack, frame{object: true})
			key = true
		case '[':
			stack = append(stack, frame{})
			key = false
		case '}', ']':
			stack = stack[:len(stack)-1]
			key = false
		case ':':
			key = false
		case ',':
			top := &stack[len(stack)-1]
			top.index++
			key = top.object
		case '"':
			end := i + 1
			for data[end] != '"' {
				if data[end] == '\\' {
					end++
				}
				end++
			}
			if key {
				raw := data[i : end+1]
				var k string
				if bytes.IndexByte(raw, '\\') < 0 {
					k = string(raw[1 : len(raw)-1])
				} else {
					k = gjson.ParseBytes(raw).Str
				}
				top := &stack[len(stack)-1]
				if _, dup := top.seen[k]; dup {
					field := ""
					for _, f := range stack[:len(stack)-1] {
						if f.object {
							field = join(field, f.key)
						} else {
							field = fmt.Sprintf("%s[%d]", field, f.index)
						}
					}
					return errf(join(field, k), "appears twice")
				}
				if top.seen == nil {
					top.seen = map[string]struct{}{}
				}
				top.seen[k] = struct{}{}
				top.key = k
			}
			i = end
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func join(field, name string) string {
	if field == "" {
		return quoteKey(name)
	}
	return field + "." + quoteKey(name)
}

// quoteKey shows a key bare when it is a plain word of at most maxQuoted
// characters, else quoted (escaped and bounded).
func quoteKey(k string) string {
	if k == "" || len(k) > maxQuoted {
		return short(k)
	}
	for _, ch := range k {
		if !(ch == '_' || ch == '-' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9') {
			return short(k)
		}
	}
	return k
}

// noControl refuses C0 control characters and DEL in a string that goes
// into a request (a header, the path, the gRPC body): CR or LF would split
// a header, NUL cut it.
func noControl(field, s string) error {
	if hasControl(s) {
		return errf(field, "must not contain control characters (CR, LF, NUL, other C0 or DEL): got %s", short(s))
	}
	return nil
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

func str(field string, r gjson.Result) (string, error) {
	if !r.Exists() {
		return "", nil
	}
	if r.Type != gjson.String {
		return "", errf(field, "must be a string")
	}
	return r.Str, nil
}

func boolean(field string, r gjson.Result) (bool, error) {
	switch r.Type {
	case gjson.Null:
		if r.Exists() {
			return false, errf(field, "must be true or false")
		}
		return false, nil
	case gjson.True, gjson.False:
		return r.Bool(), nil
	}
	return false, errf(field, "must be true or false")
}

// strList reads a list of strings; absent is nil.
func strList(field string, r gjson.Result) ([]string, error) {
	if !r.Exists() {
		return nil, nil
	}
	if !r.IsArray() {
		return nil, errf(field, "must be a list of strings")
	}
	var out []string
	var err error
	r.ForEach(func(_, v gjson.Result) bool {
		if v.Type != gjson.String {
			err = errf(fmt.Sprintf("%s[%d]", field, len(out)), "must be a string")
			return false
		}
		out = append(out, v.Str)
		return true
	})
	return out, err
}

// duration reads Go syntax ("500ms") or integer milliseconds; must be > 0.
func duration(field string, r gjson.Result, def time.Duration) (time.Duration, error) {
	if !r.Exists() {
		return def, nil
	}
	var d time.Duration
	switch r.Type {
	case gjson.Number:
		if r.Num != math.Trunc(r.Num) || r.Num > float64(math.MaxInt64/int64(time.Millisecond)) || r.Num < 0 {
			return 0, errf(field, "bad duration: must be a whole number of milliseconds or a string like \"2s\"")
		}
		d = time.Duration(r.Num) * time.Millisecond
	case gjson.String:
		var err error
		if d, err = time.ParseDuration(r.Str); err != nil {
			return 0, errf(field, "bad duration %s: use Go syntax like \"500ms\" or \"2s\", or integer milliseconds", short(r.Str))
		}
	default:
		return 0, errf(field, "bad duration: must be a string like \"2s\" or integer milliseconds")
	}
	switch {
	case d <= 0:
		return 0, errf(field, "bad duration: must be greater than zero")
	case d < time.Millisecond:
		// The proxy counts timeouts in whole milliseconds, where 0 means none.
		return 0, errf(field, "bad duration: must be at least 1ms")
	case d > MaxDuration:
		return 0, errf(field, "bad duration: must be at most %s", MaxDuration)
	}
	return d, nil
}

func integer(field string, r gjson.Result, def, lo, hi int) (int, error) {
	if !r.Exists() {
		return def, nil
	}
	if r.Type != gjson.Number || r.Num != math.Trunc(r.Num) || r.Num < float64(lo) || r.Num > float64(hi) {
		return 0, errf(field, "must be a whole number from %d to %d", lo, hi)
	}
	return int(r.Num), nil
}

func parseService(r gjson.Result) (Service, error) {
	var s Service
	if err := object("service", r, "name", "version", "commit", "build_date", "region", "env"); err != nil {
		return s, err
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"name", &s.Name}, {"version", &s.Version}, {"commit", &s.Commit}, {"build_date", &s.BuildDate}, {"region", &s.Region}, {"env", &s.Env}} {
		v, err := str("service."+f.key, r.Get(f.key))
		if err != nil {
			return s, err
		}
		*f.dst = v
	}
	return s, nil
}

func parseBasePath(r gjson.Result) (string, error) {
	if !r.Exists() {
		return DefaultBasePath, nil
	}
	p, err := str("base_path", r)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?#% ") || hasControl(p) || strings.Contains(p, "//") {
		return "", errf("base_path", "must be an absolute path like \"/health\" (no query, fragment, spaces, escapes or empty segments)")
	}
	return strings.TrimSuffix(p, "/"), nil
}

func parseDialects(r gjson.Result) ([]Dialect, error) {
	names, err := strList("dialects", r)
	if err != nil {
		return nil, err
	}
	if !r.Exists() {
		return []Dialect{DialectStandard}, nil
	}
	if len(names) == 0 {
		return nil, errf("dialects", "must name at least one dialect (%s)", strings.Join(dialectNames[:], ", "))
	}
	out := make([]Dialect, 0, len(names))
	for i, n := range names {
		d, ok := dialectByName(n)
		if !ok {
			return nil, errf(fmt.Sprintf("dialects[%d]", i), "unknown dialect %s (known: %s)", short(n), strings.Join(dialectNames[:], ", "))
		}
		for _, o := range out {
			if o == d {
				return nil, errf(fmt.Sprintf("dialects[%d]", i), "%s is listed twice", short(n))
			}
		}
		out = append(out, d)
	}
	return out, nil
}

func parseRefresh(r gjson.Result) (Refresh, error) {
	f := Refresh{Mode: RefreshBackground, Interval: DefaultInterval, JitterPercent: DefaultJitterPercent, TTL: DefaultTTL}
	if err := object("refresh", r, "mode", "interval", "jitter", "ttl"); err != nil {
		return f, err
	}
	switch m := r.Get("mode"); {
	case !m.Exists(), m.Type == gjson.String && m.Str == "background":
	case m.Type == gjson.String && m.Str == "on_request":
		f.Mode = RefreshOnRequest
	default:
		return f, errf("refresh.mode", "must be \"background\" or \"on_request\"")
	}
	var err error
	if f.Interval, err = duration("refresh.interval", r.Get("interval"), DefaultInterval); err != nil {
		return f, err
	}
	if f.TTL, err = duration("refresh.ttl", r.Get("ttl"), DefaultTTL); err != nil {
		return f, err
	}
	if j := r.Get("jitter"); j.Exists() {
		f.JitterPercent = 0
		if j.Type == gjson.String && strings.HasSuffix(j.Str, "%") {
			n, perr := strconv.Atoi(strings.TrimSuffix(j.Str, "%"))
			if perr != nil || n < 0 || n > 50 {
				return f, errf("refresh.jitter", "a percentage must be a whole number from 0%% to 50%%")
			}
			f.JitterPercent = n
		} else if j.Type == gjson.Number && j.Num == 0 {
			// 0 turns jitter off.
		} else {
			if f.Jitter, err = duration("refresh.jitter", j, 0); err != nil {
				return f, err
			}
			if f.Jitter >= f.Interval {
				return f, errf("refresh.jitter", "must be shorter than refresh.interval")
			}
		}
	}
	return f, nil
}

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

func parseCheck(field string, r gjson.Result, interval time.Duration) (Check, error) {
	var c Check
	if !r.IsObject() {
		return c, errf(field, "must be an object")
	}
	if err := object(field, r, checkFields...); err != nil {
		return c, err
	}
	var err error
	get := func(k string) gjson.Result { return r.Get(k) }
	f := func(k string) string { return field + "." + k }

	if c.Name, err = str(f("name"), get("name")); err != nil {
		return c, err
	}
	if !get("name").Exists() {
		return c, errf(f("name"), "missing (every check needs a name)")
	}
	if !validName(c.Name) {
		return c, errf(f("name"), "bad name %s: use 1 to 63 of a-z 0-9 _ . -", short(c.Name))
	}
	kind, err := str(f("kind"), get("kind"))
	if err != nil {
		return c, err
	}
	switch kind {
	case "http":
		c.Kind = KindHTTP
	case "grpc":
		c.Kind = KindGRPC
	case "hsm":
		c.Kind = KindHSM
	case "":
		return c, errf(f("kind"), "missing (http, grpc or hsm)")
	default:
		return c, errf(f("kind"), "unknown kind %s (http, grpc or hsm)", short(kind))
	}
	if c.Cluster, err = str(f("cluster"), get("cluster")); err != nil {
		return c, err
	}
	if c.Cluster == "" {
		return c, errf(f("cluster"), "missing (the Envoy cluster to call)")
	}
	if err := noControl(f("cluster"), c.Cluster); err != nil {
		return c, err
	}
	if c.Authority, err = str(f("authority"), get("authority")); err != nil {
		return c, err
	}
	if err := noControl(f("authority"), c.Authority); err != nil {
		return c, err
	}
	if c.Authority == "" {
		c.Authority = defaultAuthority(c.Cluster)
	}
	if c.Kind == KindGRPC {
		for _, k := range []string{"path", "method", "expect", "observe"} {
			if get(k).Exists() {
				return c, errf(f(k), "not used by grpc checks (they call grpc.health.v1.Health/Check)")
			}
		}
		c.Path, c.Method = GRPCHealthPath, "POST"
		if c.GRPCService, err = str(f("grpc_service"), get("grpc_service")); err != nil {
			return c, err
		}
		if err := noControl(f("grpc_service"), c.GRPCService); err != nil {
			return c, err
		}
	} else {
		if get("grpc_service").Exists() {
			return c, errf(f("grpc_service"), "only grpc checks take a grpc_service")
		}
		if c.Path, err = str(f("path"), get("path")); err != nil {
			return c, err
		}
		if c.Path == "" {
			c.Path = "/"
		}
		if err := noControl(f("path"), c.Path); err != nil {
			return c, err
		}
		if !strings.HasPrefix(c.Path, "/") || strings.ContainsAny(c.Path, " #") {
			return c, errf(f("path"), "must be an absolute request path like \"/healthz\"")
		}
		if c.Method, err = str(f("method"), get("method")); err != nil {
			return c, err
		}
		if c.Method == "" {
			c.Method = "GET"
		}
		if !validToken(c.Method) || strings.ToUpper(c.Method) != c.Method {
			return c, errf(f("method"), "must be an upper-case HTTP method like GET")
		}
	}
	if c.Headers, err = parseHeaders(f("headers"), get("headers")); err != nil {
		return c, err
	}
	if c.Kind == KindGRPC {
		for _, h := range c.Headers {
			if h[0] == "content-type" || h[0] == "te" {
				return c, errf(f("headers"), "%s is set by the grpc check", h[0])
			}
		}
	}
	if c.Interval, err = duration(f("interval"), get("interval"), interval); err != nil {
		return c, err
	}
	if c.Timeout, err = duration(f("timeout"), get("timeout"), min(DefaultTimeout, c.Interval)); err != nil {
		return c, err
	}
	if c.Timeout > c.Interval {
		return c, errf(f("timeout"), "%s is longer than the check interval %s (checks would overlap)", c.Timeout, c.Interval)
	}
	switch t, err := str(f("type"), get("type")); {
	case err != nil:
		return c, err
	case t == "" || t == "hard":
	case t == "soft":
		c.Soft = true
	default:
		return c, errf(f("type"), "must be \"hard\" or \"soft\"")
	}
	if gates := get("gates"); gates.Exists() {
		list, err := strList(f("gates"), gates)
		if err != nil {
			return c, err
		}
		for j, g := range list {
			switch g {
			case "readiness":
				c.Gates |= GateReadiness
			case "startup":
				c.Gates |= GateStartup
			default:
				return c, errf(fmt.Sprintf("%s[%d]", f("gates"), j), "unknown gate %s (readiness or startup)", short(g))
			}
		}
	} else if !c.Soft {
		c.Gates = GateReadiness | GateStartup
	}
	if c.Group, err = str(f("group"), get("group")); err != nil {
		return c, err
	}
	if c.Group != "" && !validName(c.Group) {
		return c, errf(f("group"), "bad group %s: use 1 to 63 of a-z 0-9 _ . -", short(c.Group))
	}
	if c.FailureThreshold, err = integer(f("failure_threshold"), get("failure_threshold"), DefaultFailureThreshold, 1, 1000); err != nil {
		return c, err
	}
	if c.SuccessThreshold, err = integer(f("success_threshold"), get("success_threshold"), DefaultSuccessThreshold, 1, 1000); err != nil {
		return c, err
	}
	if err := parseExpect(f("expect"), get("expect"), &c); err != nil {
		return c, err
	}
	if c.Observe, err = str(f("observe"), get("observe")); err != nil {
		return c, err
	}
	if get("observe").Exists() && c.Observe == "" {
		return c, errf(f("observe"), "must be a non-empty JSON path")
	}
	if c.ComponentType, err = str(f("component_type"), get("component_type")); err != nil {
		return c, err
	}
	if get("component_type").Exists() && !validToken(c.ComponentType) {
		return c, errf(f("component_type"), "must be a word like \"datastore\", \"component\" or \"system\"")
	}
	return c, nil
}

// GRPCHealthPath is the method every grpc check calls.
const GRPCHealthPath = "/grpc.health.v1.Health/Check"

// defaultAuthority is the cluster name, except for Istio's
// "outbound|PORT|SUBSET|HOST" names, whose HOST:PORT is what the peer expects.
func defaultAuthority(cluster string) string {
	parts := strings.Split(cluster, "|")
	if len(parts) == 4 && parts[3] != "" && (parts[0] == "outbound" || parts[0] == "inbound") {
		if parts[1] != "" {
			return parts[3] + ":" + parts[1]
		}
		return parts[3]
	}
	return cluster
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

// unsetTokenHashes are the hashes `printf %s "$TOKEN" | sha256sum` and
// `echo "$TOKEN" | sha256sum` print when $TOKEN is unset. No bearer token
// can match them (a token68 is never empty), so listing one is a mistake
// that would leave the operator without the access they meant to give.
var unsetTokenHashes = []struct {
	sum     [32]byte
	problem string
}{
	{sha256.Sum256(nil), "is the sha256 of the empty string: was $TOKEN unset? Hash the token with printf %s \"${TOKEN:?}\" | sha256sum"},
	{sha256.Sum256([]byte("\n")), "is the sha256 of a lone newline: was $TOKEN unset, and echo used? Hash the token with printf %s \"${TOKEN:?}\" | sha256sum"},
}

func parseDetails(r gjson.Result) (Details, error) {
	var d Details
	if err := object("details", r, "expose", "allow_cidrs", "token_sha256", "allow_principals"); err != nil {
		return d, err
	}
	switch e, err := str("details.expose", r.Get("expose")); {
	case err != nil:
		return d, err
	case e == "" || e == "authorized":
	case e == "never":
		d.Expose = ExposeNever
	case e == "always":
		d.Expose = ExposeAlways
	default:
		return d, errf("details.expose", "must be \"never\", \"always\" or \"authorized\"")
	}
	cidrs, err := strList("details.allow_cidrs", r.Get("allow_cidrs"))
	if err != nil {
		return d, err
	}
	for i, s := range cidrs {
		p, perr := netip.ParsePrefix(s)
		if perr != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return d, errf(fmt.Sprintf("details.allow_cidrs[%d]", i), "bad CIDR %s: use a prefix like \"10.0.0.0/8\" or an address", short(s))
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		d.AllowCIDRs = append(d.AllowCIDRs, unmapPrefix(p.Masked()))
	}
	hashes, err := strList("details.token_sha256", r.Get("token_sha256"))
	if err != nil {
		return d, err
	}
	for i, h := range hashes {
		var sum [32]byte
		b, herr := hex.DecodeString(h)
		if herr != nil || len(b) != len(sum) {
			return d, errf(fmt.Sprintf("details.token_sha256[%d]", i), "bad token hash: must be 64 hex characters (sha256 of the token, not the token)")
		}
		copy(sum[:], b)
		for _, m := range unsetTokenHashes {
			if sum == m.sum {
				return d, errf(fmt.Sprintf("details.token_sha256[%d]", i), "%s", m.problem)
			}
		}
		d.TokenSHA256 = append(d.TokenSHA256, sum)
	}
	if d.AllowPrincipals, err = strList("details.allow_principals", r.Get("allow_principals")); err != nil {
		return d, err
	}
	for i, p := range d.AllowPrincipals {
		if p == "" {
			return d, errf(fmt.Sprintf("details.allow_principals[%d]", i), "must not be empty")
		}
	}
	return d, nil
}
