package plugin

import (
	"errors"
	"strconv"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/meshprobe/meshprobe/checks"
)

// calloutRequest is one check's request, built once at configure time.
type calloutRequest struct {
	headers [][2]string
	body    []byte
}

func buildCallout(c *checks.Check) calloutRequest {
	h := [][2]string{{":method", c.Method}, {":path", c.Path}, {":authority", c.Authority}}
	if !hasHeader(c.Headers, "user-agent") { // a configured one replaces ours
		h = append(h, [2]string{"user-agent", "meshprobe"})
	}
	var body []byte
	if c.Kind == checks.KindGRPC {
		h = append(h, [2]string{"content-type", "application/grpc"}, [2]string{"te", "trailers"})
		body = checks.GRPCRequest(c.GRPCService)
	}
	return calloutRequest{headers: append(h, c.Headers...), body: body}
}

// dispatch starts check i's callout; done receives the judged outcome, at
// once if the proxy refuses the call (an unknown cluster, for one).
func (p *pluginContext) dispatch(i int, done func(checks.Outcome)) {
	cfg := p.cfg
	ch := &cfg.Checks[i]
	req := &p.callouts[i]
	start := now()
	_, err := proxywasm.DispatchHttpCall(ch.Cluster, req.headers, req.body, nil, uint32(ch.Timeout.Milliseconds()),
		func(numHeaders, bodySize, numTrailers int) {
			// Judged and redacted against every check's header values.
			done(cfg.Evaluate(i, readResponse(numHeaders, bodySize, numTrailers, now().Sub(start))))
		})
	if err != nil {
		reason := err.Error()
		switch {
		case errors.Is(err, types.ErrorStatusBadArgument):
			reason = "unknown cluster or malformed request"
		case errors.Is(err, types.ErrorInternalFailure):
			// Envoy fails the call inline when its router answers at once:
			// above all when the cluster has no healthy endpoint.
			reason = "no healthy upstream, or the call failed at once"
		}
		done(cfg.Refused(i, reason))
	}
}

// readResponse reads what the callout returned, the body only up to
// checks.MaxBody: a huge or endless body costs no more than that.
func readResponse(numHeaders, bodySize, numTrailers int, elapsed time.Duration) checks.Response {
	r := checks.Response{BodySize: bodySize, Elapsed: elapsed}
	if numHeaders > 0 {
		r.Headers, _ = proxywasm.GetHttpCallResponseHeaders()
		for _, h := range r.Headers {
			if h[0] == ":status" {
				r.Status, _ = strconv.Atoi(h[1])
			}
		}
	}
	if bodySize > 0 {
		r.Body, _ = proxywasm.GetHttpCallResponseBody(0, min(bodySize, checks.MaxBody))
	}
	if numTrailers > 0 {
		r.Trailers, _ = proxywasm.GetHttpCallResponseTrailers()
	}
	return r
}

func hasHeader(hs [][2]string, name string) bool {
	for _, h := range hs {
		if h[0] == name {
			return true
		}
	}
	return false
}
