package checks

import (
	"fmt"
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

func errf(field, format string, args ...any) *ConfigError {
	return &ConfigError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// MaxChecks bounds the configuration so state and routes stay small.
const MaxChecks = 256

// maxDuration bounds every duration (a day), so timeouts fit the proxy's
// 32-bit millisecond field.
const maxDuration = 24 * time.Hour

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
	for _, d := range c.Dialects {
		if refuse := dialects[d].refuse; refuse != nil {
			if err := refuse(c); err != nil {
				return nil, err
			}
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
		return defaultBasePath, nil
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
		return []Dialect{standard.id}, nil
	}
	known := strings.Join(dialectNames[:nDialects], ", ")
	if len(names) == 0 {
		return nil, errf("dialects", "must name at least one dialect (%s)", known)
	}
	out := make([]Dialect, 0, len(names))
	for i, n := range names {
		d, ok := dialectByName(n)
		if !ok {
			return nil, errf(fmt.Sprintf("dialects[%d]", i), "unknown dialect %s (known: %s)", short(n), known)
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
	f := Refresh{Mode: RefreshBackground, Interval: defaultInterval, JitterPercent: defaultJitterPercent, TTL: defaultTTL}
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
	if f.Interval, err = duration("refresh.interval", r.Get("interval"), defaultInterval); err != nil {
		return f, err
	}
	if f.TTL, err = duration("refresh.ttl", r.Get("ttl"), defaultTTL); err != nil {
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

// unsetTokenHashes are the hashes `printf %s "$TOKEN" | sha256sum` and
// `echo "$TOKEN" | sha256sum` print when $TOKEN is unset. No bearer token
// can match them (a token68 is never empty), so listing one is a mistake
// that would leave the operator without the access they meant to give.
var unsetTokenHashes = []struct {
	sum     [32]byte
	problem string
}{
	{sha256sum(nil), "is the sha256 of the empty string: was $TOKEN unset? Hash the token with printf %s \"${TOKEN:?}\" | sha256sum"},
	{sha256sum([]byte("\n")), "is the sha256 of a lone newline: was $TOKEN unset, and echo used? Hash the token with printf %s \"${TOKEN:?}\" | sha256sum"},
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
		p, ok := parseCIDR(s)
		if !ok {
			return d, errf(fmt.Sprintf("details.allow_cidrs[%d]", i), "bad CIDR %s: use a prefix like \"10.0.0.0/8\" or an address", short(s))
		}
		d.AllowCIDRs = append(d.AllowCIDRs, p)
	}
	hashes, err := strList("details.token_sha256", r.Get("token_sha256"))
	if err != nil {
		return d, err
	}
	for i, h := range hashes {
		sum, ok := parseHex32(h)
		if !ok {
			return d, errf(fmt.Sprintf("details.token_sha256[%d]", i), "bad token hash: must be 64 hex characters (sha256 of the token, not the token)")
		}
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
