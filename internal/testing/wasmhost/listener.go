package wasmhost

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// Listener is an HTTP listener whose requests go through the plugin, as an
// Envoy listener with the wasm filter ahead of the router.
type Listener struct {
	ln  net.Listener
	srv *http.Server
	tls bool // http.Server.Serve sets srv.TLSConfig on its own: not a sign of TLS
}

// Listen serves HTTP/1.1 on addr ("127.0.0.1:0" for a free port). Each
// request goes to the next VM in turn (Envoy hands connections to workers;
// per request is the harder case for the plugin: consecutive probes see
// different VMs). A local reply is written back as is; a request the
// plugin continues is proxied to the Upstream of cluster, and its response
// passes through proxy_on_response_headers on the way back.
func (h *Host) Listen(addr, cluster string) (*Listener, error) {
	return h.ListenRoutes(addr, func(string) (string, bool) { return cluster, true })
}

// Router picks a request's route as Envoy's route table does: the cluster
// it goes to ("": no route, 404), and whether the plugin's filter runs on it (a filter
// declared disabled runs only where a route enables it).
type Router func(path string) (cluster string, filter bool)

// ListenRoutes is Listen with a route table: a request whose route skips
// the filter goes to its cluster without entering the plugin.
func (h *Host) ListenRoutes(addr string, route Router) (*Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	l := &Listener{ln: ln, srv: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cluster, filter := route(r.RequestURI)
		if cluster == "" {
			w.WriteHeader(http.StatusNotFound) // Envoy's router: no route, no body
			return
		}
		if !filter {
			h.forward(w, r, nil, cluster)
			return
		}
		h.serve(w, r, cluster)
	})}}
	go l.srv.Serve(ln)
	return l, nil
}

// Addr is the listener's host:port.
func (l *Listener) Addr() string { return l.ln.Addr().String() }

// URL is http://Addr, or https://Addr for ListenTLS.
func (l *Listener) URL() string {
	if l.tls {
		return "https://" + l.Addr()
	}
	return "http://" + l.Addr()
}

// Close stops the listener and its open connections.
func (l *Listener) Close() error { return l.srv.Close() }

func (h *Host) serve(w http.ResponseWriter, r *http.Request, cluster string) {
	vms := h.gen.Load().vms
	v := vms[int(h.next.Add(1)-1)%len(vms)]
	// source.address as Envoy's connection manager derives it (from
	// x-forwarded-for, else the socket's peer) and the TLS peer's identity:
	// see downstreamProperties.
	s := v.open(requestPairs(r), downstreamProperties(r), r.ContentLength == 0)
	defer s.Close()
	select {
	case <-s.settled:
	case <-r.Context().Done(): // the client left before the plugin decided
		return
	}
	if rep := s.Reply(); rep != nil {
		headers, body := ClientReply(r.Method, rep.Headers, rep.Body)
		for _, p := range headers {
			w.Header().Add(p[0], p[1])
		}
		if w.Header().Get("Content-Length") == "" {
			w.Header().Set("Content-Length", "0") // Envoy's HTTP/1 codec, for a reply without a body
		}
		w.WriteHeader(rep.Status)
		w.Write(body)
		return
	}
	if !s.Resumed() && s.Action() != ActionContinue { // the guest failed: recorded in Err
		http.Error(w, "meshprobe host: the plugin failed on this request", http.StatusInternalServerError)
		return
	}
	h.forward(w, r, s, cluster)
}

// requestPairs are the request headers as Envoy gives them to a filter:
// the pseudo-headers first, then every header lower-cased. Envoy would also
// add x-forwarded-proto and x-request-id; this host adds nothing.
func requestPairs(r *http.Request) [][2]string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	out := [][2]string{
		{":authority", r.Host}, {":path", r.RequestURI}, {":method", r.Method}, {":scheme", scheme},
	}
	if len(r.TransferEncoding) > 0 {
		out = append(out, [2]string{"transfer-encoding", strings.Join(r.TransferEncoding, ", ")})
	}
	return append(out, pairsOf(r.Header)...)
}

// forward proxies a continued request, with the headers as the plugin left
// them (as the client sent them when s is nil: the filter did not run), to
// the cluster's upstream. An unknown cluster or an unreachable upstream is
// a 503, as Envoy's router answers.
func (h *Host) forward(w http.ResponseWriter, r *http.Request, s *Stream, cluster string) {
	up, ok := h.opts.Upstreams[cluster]
	if !ok {
		http.Error(w, "no cluster "+cluster, http.StatusServiceUnavailable)
		return
	}
	headers := requestPairs(r)
	if s != nil {
		headers = s.RequestHeaders()
	}
	scheme := "http"
	if up.TLS != nil {
		scheme = "https"
	}
	req, err := http.NewRequestWithContext(r.Context(), pseudo(headers, ":method"), scheme+"://"+up.Addr, r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := setTarget(req, pseudo(headers, ":path")); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req.Host = pseudo(headers, ":authority")
	req.ContentLength = r.ContentLength
	req.Header["User-Agent"] = nil // forward the client's, add none
	for _, p := range headers {
		if !strings.HasPrefix(p[0], ":") && p[0] != "transfer-encoding" {
			req.Header.Add(p[0], p[1])
		}
	}
	resp, err := h.upstreams.client(cluster, up).Do(req)
	if err != nil {
		http.Error(w, "upstream connect error or disconnect/reset before headers", http.StatusServiceUnavailable)
		return
	}
	defer resp.Body.Close()
	status, out := resp.StatusCode, pairsOf(resp.Header)
	if s != nil {
		status, out = s.responseHeaders(resp)
	}
	for _, p := range out {
		w.Header().Add(p[0], p[1])
	}
	w.WriteHeader(status)
	io.Copy(w, resp.Body)
}

// responseHeaders runs proxy_on_response_headers with the upstream's
// headers (":status" first, as Envoy's map has it) open to the plugin, and
// returns the status and headers as the plugin left them.
func (s *Stream) responseHeaders(resp *http.Response) (int, [][2]string) {
	v := s.vm
	v.mu.Lock()
	defer v.mu.Unlock()
	s.respHeaders = append([][2]string{{":status", strconv.Itoa(resp.StatusCode)}}, pairsOf(resp.Header)...)
	eos := uint64(0)
	if resp.ContentLength == 0 {
		eos = 1
	}
	s.respOpen = true
	v.call(s.id, "proxy_on_response_headers", uint64(s.id), uint64(len(s.respHeaders)), eos)
	s.respOpen = false
	status, err := strconv.Atoi(pseudo(s.respHeaders, ":status"))
	if err != nil {
		status = resp.StatusCode
	}
	var out [][2]string
	for _, p := range s.respHeaders {
		if !strings.HasPrefix(p[0], ":") {
			out = append(out, p)
		}
	}
	return status, out
}
