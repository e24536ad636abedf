package wasmhost

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Upstream is a cluster the host reaches over real sockets: callouts to it
// are sent, and answered when its response (or failure) arrives.
type Upstream struct {
	// Addr is host:port, e.g. 127.0.0.1:8081; "" is a cluster with no
	// endpoint, whose callouts fail at dispatch as in Envoy.
	Addr string
	// HTTP2 speaks cleartext HTTP/2 with prior knowledge, as an Envoy cluster
	// with http2_protocol_options does (gRPC needs it); else HTTP/1.1.
	HTTP2 bool
	// TLS, if set, wraps the connection (an Envoy cluster's tls transport
	// socket; a client certificate in it makes it mTLS).
	TLS *tls.Config
}

// maxCalloutBody bounds a buffered callout response. Envoy buffers an
// httpCall response whole; past its buffer limit the call fails, as here.
const maxCalloutBody = 32 << 20

// upstreams hold one HTTP client per cluster, made on first use, so
// connections are reused across callouts as Envoy's connection pools do.
type upstreams struct {
	mu      sync.Mutex
	clients map[string]*http.Client
}

func (u *upstreams) client(cluster string, up Upstream) *http.Client {
	u.mu.Lock()
	defer u.mu.Unlock()
	if c := u.clients[cluster]; c != nil {
		return c
	}
	t := &http.Transport{
		DisableCompression:  true, // Envoy forwards what the plugin asked for, no Accept-Encoding of its own
		MaxIdleConnsPerHost: 16,
		TLSClientConfig:     up.TLS,
	}
	if up.HTTP2 && up.TLS == nil {
		t.Protocols = new(http.Protocols)
		t.Protocols.SetUnencryptedHTTP2(true)
	}
	c := &http.Client{
		Transport: t,
		// Envoy's async client does not follow redirects: a 3xx is the answer.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if u.clients == nil {
		u.clients = map[string]*http.Client{}
	}
	u.clients[cluster] = c
	return c
}

func (u *upstreams) close() {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, c := range u.clients {
		c.CloseIdleConnections()
	}
}

// send performs callout c on upstream up and answers it on the VM that
// dispatched it, as Envoy's AsyncClient does. A response, whatever its
// status, is a success. Before response headers, Envoy's router turns a
// timeout, a refused or reset connection or an answer that is not HTTP
// into a local reply, which the plugin receives as a response (see
// envoyReply). After headers, a reset, a timeout (the callout's covers the
// whole exchange, body included) or an oversized body is a failure,
// delivered with no headers.
func (h *Host) send(c Callout, up Upstream) {
	ctx := h.life
	if c.Timeout > 0 { // 0: no timeout, as in Envoy
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	r, err := h.fetch(ctx, c, up)
	if h.life.Err() != nil { // the host closed: no VM left to answer
		return
	}
	if err != nil {
		if r = envoyReply(ctx, err); r == nil {
			h.Fail(c.ID)
			return
		}
	}
	h.answer(c.ID, r)
}

// errAfterHeaders marks a failure once response headers had arrived.
type errAfterHeaders struct{ error }

// isTLSHandshakeError: the upstream's certificate did not verify, or it
// refused ours (Envoy: a connection failure, with a TLS transport reason).
func isTLSHandshakeError(err error) bool {
	var verify *tls.CertificateVerificationError
	var alert tls.AlertError
	var remote *net.OpError
	return errors.As(err, &verify) || errors.As(err, &alert) ||
		errors.As(err, &remote) && remote.Op == "remote error"
}

// envoyReply is the local reply Envoy's router sends the async client for
// a failure before response headers (status and body as Envoy 1.40 writes
// them), or nil for a failure Envoy reports with no response at all.
func envoyReply(ctx context.Context, err error) *callResponse {
	var after errAfterHeaders
	if errors.As(err, &after) {
		return nil
	}
	const connectErr = "upstream connect error or disconnect/reset before headers. reset reason: "
	status, body := 503, connectErr+"connection termination"
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		status, body = 504, "upstream request timeout"
	case errors.Is(err, syscall.ECONNREFUSED), isTLSHandshakeError(err):
		body = connectErr + "remote connection failure"
	case strings.Contains(err.Error(), "malformed HTTP"):
		status, body = 502, connectErr+"protocol error"
	}
	return &callResponse{headers: [][2]string{{":status", strconv.Itoa(status)},
		{"content-length", strconv.Itoa(len(body))}, {"content-type", "text/plain"}}, body: []byte(body)}
}

func (h *Host) fetch(ctx context.Context, c Callout, up Upstream) (*callResponse, error) {
	scheme := "http"
	if up.TLS != nil {
		scheme = "https"
	}
	req, err := http.NewRequestWithContext(ctx, pseudo(c.Headers, ":method"), scheme+"://"+up.Addr, strings.NewReader(string(c.Body)))
	if err != nil {
		return nil, err
	}
	if err := setTarget(req, pseudo(c.Headers, ":path")); err != nil {
		return nil, err
	}
	req.Host = pseudo(c.Headers, ":authority")
	req.Header["User-Agent"] = nil // no client default: only what the plugin set
	for _, p := range c.Headers {
		if !strings.HasPrefix(p[0], ":") {
			req.Header.Add(p[0], p[1])
		}
	}
	if len(c.Trailers) > 0 {
		req.Trailer = http.Header{}
		for _, p := range c.Trailers {
			req.Trailer.Add(p[0], p[1])
		}
	}
	resp, err := h.upstreams.client(c.Cluster, up).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCalloutBody+1))
	if err != nil {
		return nil, errAfterHeaders{err}
	}
	if len(body) > maxCalloutBody {
		return nil, errAfterHeaders{errBodyTooLarge}
	}
	headers := append([][2]string{{":status", strconv.Itoa(resp.StatusCode)}}, pairsOf(resp.Header)...)
	return &callResponse{headers: headers, body: body, trailers: pairsOf(resp.Trailer)}, nil
}

var errBodyTooLarge = errors.New("host: callout response body over the buffer limit")

// setTarget makes :path the request target as given (a path like "//x"
// included, which Go would otherwise read as an authority).
func setTarget(req *http.Request, path string) error {
	u, err := url.ParseRequestURI(path)
	if err != nil {
		return err
	}
	req.URL.Path, req.URL.RawPath, req.URL.RawQuery = u.Path, u.RawPath, u.RawQuery
	return nil
}

// pseudo returns the value of a pseudo-header (or "" if absent).
func pseudo(headers [][2]string, name string) string {
	for _, p := range headers {
		if p[0] == name {
			return p[1]
		}
	}
	return ""
}

// pairsOf flattens a header map into lower-case pairs, in key order so that
// what the guest reads does not depend on map iteration.
func pairsOf(h http.Header) [][2]string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out [][2]string
	for _, k := range keys {
		for _, v := range h[k] {
			out = append(out, [2]string{strings.ToLower(k), v})
		}
	}
	return out
}
