package e2e

import (
	"cmp"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/meshprobe/meshprobe/internal/envoyboot"
	"github.com/meshprobe/meshprobe/internal/testing/wasmhost"
)

// Dependencies on loopback that a test controls, and that count what they
// receive: assertions are on what the peers saw, not only on the plugin's
// answers.

// peerMode is how an httpPeer answers.
type peerMode string

const (
	modeUp       peerMode = "up"       // 200 with the peer's body
	modeDown     peerMode = "down"     // 503
	modeError    peerMode = "error"    // 500
	modeDocDown  peerMode = "doc-down" // 200 with the peer's "down" document (HSM not ready)
	modeSlow     peerMode = "slow"     // the up answer, after slowFor
	modeHang     peerMode = "hang"     // never answers
	modeReset    peerMode = "reset"    // resets the connection before any byte
	modeGarbage  peerMode = "garbage"  // bytes that are not HTTP
	modeFlap     peerMode = "flap"     // up and down on alternate requests
	modeRedirect peerMode = "redirect" // 302 to elsewhere (not followed)
	modeHuge     peerMode = "huge"     // 200 with a 10 MB body
	modeEndless  peerMode = "endless"  // 200, then a body that never ends
	modeBadUTF8  peerMode = "bad-utf8" // 200 with a JSON document holding invalid UTF-8
)

const slowFor = 2 * time.Second

// httpPeer is an HTTP dependency.
type httpPeer struct {
	up, down string        // bodies of the up and doc-down answers
	delay    time.Duration // modeSlow's delay (default slowFor)
	srv      *http.Server
	ln       net.Listener
	mode     atomic.Value // peerMode
	hits     atomic.Int64
	flips    atomic.Int64
	quit     chan struct{}

	mu    sync.Mutex
	times []time.Time // when each request arrived
}

// recorded is a request as the peer received it.
type recorded struct {
	method, uri, host string
	header            http.Header
	body              []byte
}

func newHTTPPeer(t testing.TB, up, down string) *httpPeer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveHTTPPeer(t, ln, up, down)
}

// newMTLSPeer is an HTTP peer behind mTLS, as the shipped bootstrap's HSM
// gateway: it presents a certificate for hsm-gateway.local from a
// throwaway CA and requires the proxy's, whose files it writes for the
// cluster pointing at it.
func newMTLSPeer(t testing.TB, up, down string) (*httpPeer, upstream) {
	t.Helper()
	pki, err := envoyboot.NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := &envoyboot.TLSFiles{Cert: filepath.Join(dir, "proxy.pem"), Key: filepath.Join(dir, "proxy-key.pem"),
		CA: filepath.Join(dir, "ca.pem"), SNI: "hsm-gateway.local"}
	if err := pki.WriteClient(files); err != nil {
		t.Fatal(err)
	}
	leaf, err := pki.Issue("test HSM gateway", files.SNI, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := serveHTTPPeer(t, tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{leaf}, ClientCAs: pki.Pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}), up, down)
	return p, upstream{Addr: p.addr(), TLS: files}
}

func serveHTTPPeer(t testing.TB, ln net.Listener, up, down string) *httpPeer {
	p := &httpPeer{up: up, down: down, ln: ln, quit: make(chan struct{})}
	p.mode.Store(modeUp)
	p.srv = &http.Server{Handler: p}
	go p.srv.Serve(ln)
	t.Cleanup(func() { close(p.quit); p.srv.Close() })
	return p
}

func (p *httpPeer) set(m peerMode) { p.mode.Store(m) }
func (p *httpPeer) count() int64   { return p.hits.Load() }
func (p *httpPeer) addr() string   { return p.ln.Addr().String() }
func (p *httpPeer) arrivals() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.times)
}

func (p *httpPeer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	p.mu.Lock()
	p.times = append(p.times, time.Now())
	p.mu.Unlock()
	p.hits.Add(1)
	mode := p.mode.Load().(peerMode)
	if mode == modeFlap {
		mode = modeUp
		if p.flips.Add(1)%2 == 0 {
			mode = modeDown
		}
	}
	switch mode {
	case modeUp:
		io.WriteString(w, p.up)
	case modeDown:
		http.Error(w, "down", http.StatusServiceUnavailable)
	case modeError:
		http.Error(w, "failing", http.StatusInternalServerError)
	case modeDocDown:
		io.WriteString(w, p.down)
	case modeSlow:
		select {
		case <-time.After(cmp.Or(p.delay, slowFor)):
			io.WriteString(w, p.up)
		case <-r.Context().Done():
		case <-p.quit:
		}
	case modeHang:
		select {
		case <-r.Context().Done():
		case <-p.quit:
		}
	case modeReset, modeGarbage:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		if mode == modeGarbage {
			conn.Write([]byte("\x00\x17\x03garbage, not HTTP\r\n\r\n"))
		} else if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0) // close with RST
		}
		conn.Close()
	case modeRedirect:
		http.Redirect(w, r, "http://127.0.0.1:1/elsewhere", http.StatusFound)
	case modeHuge:
		w.Write([]byte(strings.Repeat("x", 10<<20)))
	case modeEndless:
		w.WriteHeader(http.StatusOK)
		chunk := []byte(strings.Repeat("y", 4096))
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-p.quit:
				return
			case <-time.After(time.Millisecond):
			}
		}
	case modeBadUTF8:
		io.WriteString(w, "{\"status\":\"\xff\xfe\xfd"+strings.Repeat("\xc3", 100)+"\"}")
	}
}

// grpcPeer is a gRPC dependency served by grpc-go's own health server.
type grpcPeer struct {
	ln     net.Listener
	health *health.Server
	hits   atomic.Int64
}

func newGRPCPeer(t testing.TB, service string) *grpcPeer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &grpcPeer{ln: ln, health: health.NewServer()}
	srv := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		p.hits.Add(1)
		return next(ctx, req)
	}))
	healthpb.RegisterHealthServer(srv, p.health)
	p.health.SetServingStatus(service, healthpb.HealthCheckResponse_SERVING)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return p
}

func (p *grpcPeer) addr() string { return p.ln.Addr().String() }
func (p *grpcPeer) count() int64 { return p.hits.Load() }

// startReal runs the plugin on workers VMs with real timers, real callouts
// to ups and a listener whose pass-through traffic goes to cluster "app"
// (if ups has it). It returns the host and the listener's URL.
func startReal(t testing.TB, workers int, config string, ups map[string]wasmhost.Upstream) (*wasmhost.Host, string) {
	t.Helper()
	var (
		mu     sync.Mutex
		closed bool
	)
	h, err := wasmhost.New(context.Background(), wasmhost.Options{
		Wasm: pluginWasm(t), PluginConfig: []byte(config), Workers: workers, Upstreams: ups,
		Properties: map[string]string{"plugin_name": "meshprobe"},
		OldEnvoy:   true, // as strict as the oldest claimed Envoy
		OnError: func(err error) {
			mu.Lock()
			defer mu.Unlock()
			if !closed {
				t.Errorf("host: %v", err)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range workers {
		if !h.VM(i).Configured() {
			h.Close()
			t.Fatalf("worker %d refused the configuration: %v", i, h.VM(i).Logs())
		}
	}
	l, err := h.Listen("127.0.0.1:0", "app")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		closed = true
		mu.Unlock()
		h.Close()
	})
	h.StartTimers()
	return h, l.URL()
}

// client is one keep-alive client for probes, so a storm reuses connections.
var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}

// get returns the status and body of GET url.
func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// reply is a response as the client got it.
type reply struct {
	status int
	header http.Header
	body   string
}

// request sends one request with the header lines hs (a name may repeat)
// through c (nil: client) and reads the whole reply.
func request(t testing.TB, c *http.Client, method, url string, hs ...[2]string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		req.Header.Add(h[0], h[1])
	}
	resp, err := cmp.Or(c, client).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// waitStatus polls url until it answers want, and returns how long that
// took; it fails the test after limit.
func waitStatus(t testing.TB, url string, want int, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		code, body := get(t, url)
		if code == want {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("GET %s: still %d %s after %v, want %d", url, code, body, limit, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
