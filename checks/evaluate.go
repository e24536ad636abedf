package checks

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// MaxBody is how much of a dependency's body is read: enough for any status
// document, bounded so a huge or endless body costs nothing more.
const MaxBody = 64 << 10

// Response is what a callout returned, as the plugin read it.
type Response struct {
	Status   int // 0: the host called back with no :status (timeout, reset, refused)
	Headers  [][2]string
	Trailers [][2]string
	Body     []byte // at most MaxBody bytes
	BodySize int    // the full size the host reported
	Elapsed  time.Duration
}

// Header returns the first value of a (lower-case) header or trailer.
func header(hs [][2]string, name string) (string, bool) {
	for _, h := range hs {
		if h[0] == name {
			return h[1], true
		}
	}
	return "", false
}

// Outcome is one finished check call, judged. Only Config.Evaluate and
// Config.Refused make one, so its Message is always redacted (redact.go).
type Outcome struct {
	OK bool
	// Message is ours; never the dependency's body, of which it quotes at
	// most the one value an expectation looked at, and never a header value.
	Message     string
	Latency     time.Duration
	Observed    float64
	HasObserved bool
}

const maxQuotedCluster = 200

// Refused is the outcome of check i's callout that the proxy would not
// dispatch: the cluster is unknown to it, or the request was malformed.
func (c *Config) Refused(i int, reason string) Outcome {
	return Outcome{Message: c.secrets().redact("mesh: the proxy refused the call to cluster " +
		quoteCluster(c.Checks[i].Cluster) + " (" + reason + ")")}
}

// quoteCluster quotes a (configured, not secret) cluster name, bounded so
// that a whole Istio name fits: "outbound|PORT||HOST" with a Service's
// host (name and namespace up to 63 each, ".svc.cluster.local") is under
// 180 runes, and a message that cuts it no longer names the cluster.
func quoteCluster(s string) string {
	if utf8.RuneCountInString(s) > maxQuotedCluster {
		s = string([]rune(s)[:maxQuotedCluster]) + "…"
	}
	return strconv.Quote(s)
}

// Evaluate judges check i's callout response against its expectations. The
// message is redacted against every check's header values.
func (c *Config) Evaluate(i int, r Response) Outcome {
	sec := c.secrets()
	o := c.Checks[i].evaluate(r, sec)
	o.Message = sec.redact(o.Message)
	return o
}

func (c *Check) evaluate(r Response, sec Secrets) Outcome {
	o := Outcome{Latency: r.Elapsed}
	if r.Status == 0 {
		// No response at all: Envoy reports a failure after response
		// headers (a reset, its timeout while the body streams) this way.
		// The proxy's timer and our clock differ slightly: a failure within
		// 5% (at least 10ms) of the timeout is the timeout.
		if r.Elapsed >= c.Timeout-max(c.Timeout/20, 10*time.Millisecond) {
			o.Message = c.timeoutMessage()
		} else {
			o.Message = "mesh: the response broke off (connection reset after headers)"
		}
		return o
	}
	if m := c.meshFailure(r); m != "" {
		o.Message = m
		return o
	}
	if c.Kind == KindGRPC {
		return c.evaluateGRPC(r, o)
	}
	if !c.statusExpected(r.Status) {
		o.Message = "status " + strconv.Itoa(r.Status)
		return o
	}
	if len(c.ExpectJSON) > 0 || c.Observe != "" {
		if r.BodySize > len(r.Body) || len(r.Body) >= MaxBody {
			if len(c.ExpectJSON) > 0 {
				o.Message = "body larger than " + strconv.Itoa(MaxBody>>10) + " KiB: expectations not evaluated"
				return o
			}
		} else if !gjson.ValidBytes(r.Body) {
			if len(c.ExpectJSON) > 0 {
				o.Message = "body is not JSON"
				return o
			}
		} else {
			for i := range c.ExpectJSON {
				if m := c.ExpectJSON[i].check(r.Body, sec); m != "" {
					o.Message = m
					return o
				}
			}
			if c.Observe != "" {
				// A number is shown as the renderers format it: withheld if
				// that, or the dependency's own spelling, shows a secret.
				if v := gjson.GetBytes(r.Body, c.Observe); v.Type == gjson.Number &&
					!sec.hides(v.Raw) && !sec.hides(strconv.FormatFloat(v.Num, 'g', -1, 64)) {
					o.Observed, o.HasObserved = v.Num, true
				}
			}
		}
	}
	o.OK = true
	o.Message = "status " + strconv.Itoa(r.Status)
	return o
}

func (c *Check) statusExpected(code int) bool {
	for _, rg := range c.ExpectStatus {
		if code >= rg.Lo && code <= rg.Hi {
			return true
		}
	}
	return false
}

// check returns "" when the body meets the expectation, else our message,
// quoting at most a short, redacted prefix of the one value at the path.
func (e *JSONExpect) check(body []byte, sec Secrets) string {
	v := gjson.GetBytes(body, e.Path)
	if !v.Exists() {
		return "json " + e.Path + ": missing"
	}
	for _, want := range e.Accept {
		if want.matches(v) {
			return ""
		}
	}
	switch v.Type {
	case gjson.String:
		return "json " + e.Path + ": got " + sec.excerpt(v.Str, 32)
	case gjson.JSON:
		// Its raw text may spell a secret with JSON escapes ("\u0053…"),
		// which no redaction of the text would see: name its kind only.
		if v.IsArray() {
			return "json " + e.Path + ": got an array"
		}
		return "json " + e.Path + ": got an object"
	}
	return "json " + e.Path + ": got " + sec.excerpt(v.Raw, 32) // a number, true, false or null
}

func (s Scalar) matches(v gjson.Result) bool {
	switch s.Type {
	case ScalarString:
		return v.Type == gjson.String && v.Str == s.Text
	case ScalarNumber:
		return v.Type == gjson.Number && v.Num == s.Num
	case ScalarBool:
		return (v.Type == gjson.True || v.Type == gjson.False) && v.Raw == s.Text
	}
	return v.Type == gjson.Null
}

func (c *Check) timeoutMessage() string {
	return "timeout after " + strconv.FormatInt(c.Timeout.Milliseconds(), 10) + "ms"
}

// envoyResetPrefix starts the body of the local reply Envoy's router sends
// when the upstream connection fails or resets before response headers.
const envoyResetPrefix = "upstream connect error or disconnect/reset before headers. "

// envoyResetReasons name Envoy's reset reasons (after "reset reason: "),
// matched as prefixes: Envoy may add ", transport failure reason: ...".
var envoyResetReasons = []struct{ reason, message string }{
	{"remote connection failure", "mesh: could not connect to the dependency (connection refused or failed)"},
	{"local connection failure", "mesh: could not connect to the dependency (connection refused or failed)"},
	{"connection failure", "mesh: could not connect to the dependency (connection refused or failed)"},
	{"connection timeout", "mesh: could not connect to the dependency (connect timeout)"},
	{"connection termination", "mesh: the dependency closed the connection before answering"},
	{"remote reset", "mesh: the dependency reset the stream before answering"},
	{"protocol error", "mesh: the dependency's answer was not valid HTTP"},
	{"overflow", "mesh: Envoy's circuit breaker refused the call (overflow)"},
}

// meshFailure recognises Envoy's own local replies, so an operator can tell
// "the dependency is down" (it answered, unhealthy) from "the mesh path to
// it is broken" (Envoy answered for it). Only our message is kept; the body
// is read for these markers and never echoed.
func (c *Check) meshFailure(r Response) string {
	body := string(r.Body[:min(len(r.Body), 256)])
	switch {
	case r.Status == 504 && body == "upstream request timeout":
		return c.timeoutMessage()
	case r.Status == 503 && body == "no healthy upstream":
		return "mesh: no healthy upstream (Envoy has no healthy endpoint for the cluster)"
	case r.Status == 403 && body == "RBAC: access denied":
		return "mesh: denied by a proxy's RBAC policy (403)"
	case (r.Status == 503 || r.Status == 502) && strings.HasPrefix(body, envoyResetPrefix):
		reason, _ := strings.CutPrefix(body[len(envoyResetPrefix):], "retried and the latest ")
		reason, _ = strings.CutPrefix(reason, "reset reason: ")
		for _, k := range envoyResetReasons {
			if strings.HasPrefix(reason, k.reason) {
				return k.message
			}
		}
		return "mesh: upstream connect error (Envoy could not reach the dependency)"
	}
	return ""
}

func (c *Check) evaluateGRPC(r Response, o Outcome) Outcome {
	// grpc-status comes in trailers, or in headers for a trailers-only reply.
	code, ok := header(r.Trailers, "grpc-status")
	if !ok {
		code, ok = header(r.Headers, "grpc-status")
	}
	switch {
	case r.Status != 200:
		o.Message = "status " + strconv.Itoa(r.Status) + " (not a gRPC response)"
		return o
	case !ok:
		o.Message = "grpc: no grpc-status"
		return o
	case code != "0":
		o.Message = grpcCodeName(code)
		return o
	}
	st, err := grpcServingStatus(r.Body)
	if err != nil {
		o.Message = err.Error()
		return o
	}
	name, known := grpcServingNames[st]
	if !known {
		name = "status " + strconv.FormatUint(st, 10)
	}
	o.Message = name
	o.OK = st == grpcServing
	return o
}
