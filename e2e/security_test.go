package e2e

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/meshprobe/meshprobe/internal/envoyboot"
	"github.com/meshprobe/meshprobe/internal/testing/envoyrun"
	"github.com/meshprobe/meshprobe/internal/testing/wasmhost"
)

// The details policy against clients that lie in headers, on internal/testing/wasmhost and
// in Envoy, under the shipped bootstrap and under the connection manager
// Istio gives a sidecar's inbound listener. Envoy takes source.address from
// x-forwarded-for there (use_remote_address false, no trusted hops); such
// an address has port 0, and meshprobe never lets it match allow_cidrs.

const (
	monitoringID = "spiffe://cluster.local/ns/monitoring/sa/prometheus"
	shopID       = "spiffe://cluster.local/ns/shop/sa/web"
	probeToken   = "security-test-token"
)

// header is one request header line; a request may repeat a name.
type header = [2]string

// statusOf sends one request (hs: header lines, a name may repeat) and
// returns its status and body.
func statusOf(t *testing.T, c *http.Client, method, url string, hs []header) (int, string) {
	t.Helper()
	r := request(t, c, method, url, hs...)
	return r.status, r.body
}

// spoofs are requests from a loopback client that claim, in every header
// a proxy or an app might believe, to be 10.1.2.3 or the monitoring
// identity.
var spoofs = []struct {
	name    string
	headers []header
}{
	{"x-forwarded-for", []header{{"x-forwarded-for", "10.1.2.3"}}},
	{"x-forwarded-for list", []header{{"x-forwarded-for", "1.1.1.1, 10.1.2.3"}}},
	{"x-forwarded-for lines", []header{{"x-forwarded-for", "9.9.9.9"}, {"x-forwarded-for", "10.1.2.3"}}},
	{"x-forwarded-for v4-mapped", []header{{"x-forwarded-for", "::ffff:10.1.2.3"}}},
	{"forwarded", []header{{"forwarded", "for=10.1.2.3"}}},
	{"x-envoy-external-address", []header{{"x-envoy-external-address", "10.1.2.3"}}},
	{"x-real-ip", []header{{"x-real-ip", "10.1.2.3"}}},
	{"x-forwarded-client-cert", []header{{"x-forwarded-client-cert", "By=spiffe://cluster.local/ns/shop/sa/app;URI=" + monitoringID}}},
	{"x-envoy-internal", []header{{"x-envoy-internal", "true"}, {"x-forwarded-for", "10.1.2.3"}}},
	{"all at once", []header{{"x-forwarded-for", "10.1.2.3"}, {"forwarded", "for=10.1.2.3"},
		{"x-envoy-external-address", "10.1.2.3"}, {"x-real-ip", "10.1.2.3"}, {"x-envoy-internal", "true"},
		{"x-forwarded-client-cert", "By=spiffe://cluster.local/ns/shop/sa/app;URI=" + monitoringID}}},
}

// A client cannot talk its way into details or drain with headers: not
// with an allowed address in any forwarding header, nor with an allowed
// identity in x-forwarded-client-cert on a plaintext connection. The
// token, which it cannot forge, still works, which shows the refusals
// are refusals and not a broken proxy.
func TestSecurityHeadersCannotWidenDetails(t *testing.T) {
	app := healthyApp(t)
	config := `{"refresh":{"interval":"1s"},
 "checks":[{"name":"app","kind":"http","cluster":"app","path":"/healthz"}],
 "details":{"expose":"authorized","allow_cidrs":["10.1.2.3/32"],"token_sha256":["` + sha256Hex(probeToken) + `"],
  "allow_principals":["` + monitoringID + `"]},
 "drain":{"enabled":true}}`
	ups := map[string]upstream{"app": {Addr: app}}
	check := func(t *testing.T, px *proxy) {
		waitStatus(t, px.base+"/health/probes/readiness", 200, 20*time.Second)
		for _, s := range spoofs {
			assertNoDetails(t, px.base, s.name, nil, s.headers)
		}
		assertDetailsAndDrain(t, px.base, "bearer token", nil, []header{{"authorization", "Bearer " + probeToken}})
	}
	eachProxy(t, func(t *testing.T, rt runtimeCase) {
		check(t, rt.start(t, 2, config, ups))
	})
	t.Run("istio-sidecar-inbound", func(t *testing.T) {
		eachEnvoy(t, func(t *testing.T, rt runtimeCase) {
			check(t, rt.envoy(t, config, ups, envoyOptions{edit: istioSidecarInbound}))
		})
	})
}

// allow_cidrs still grants a client whose socket peer is in the list. An
// address from a header never matches, even the client's own.
func TestSecurityPeerAddressGrants(t *testing.T) {
	config := `{"details":{"expose":"authorized","allow_cidrs":["127.0.0.1/32"]},"drain":{"enabled":true},` + softApp
	ups := map[string]upstream{"app": {Addr: healthyApp(t)}}
	eachProxy(t, func(t *testing.T, rt runtimeCase) {
		px := rt.start(t, 2, config, ups)
		assertDetailsAndDrain(t, px.base, "loopback peer", nil, nil)
		assertNoDetails(t, px.base, "loopback in x-forwarded-for", nil, []header{{"x-forwarded-for", "127.0.0.1"}})
	})
}

// allow_principals takes the identity from the client certificate the
// listener verified, never from a header.
func TestSecurityPrincipals(t *testing.T) {
	pki, err := envoyboot.NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	serverCert := issue(t, pki, "meshprobe listener", "127.0.0.1")
	files := listenerTLSFiles{cert: filepath.Join(dir, "server.pem"), key: filepath.Join(dir, "server-key.pem"), ca: filepath.Join(dir, "ca.pem")}
	writePair(t, serverCert, files.cert, files.key)
	if err := pki.WriteClient(&envoyboot.TLSFiles{CA: files.ca}); err != nil {
		t.Fatal(err)
	}
	otherPKI, err := envoyboot.NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	client := func(certs ...tls.Certificate) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pki.Pool, Certificates: certs, MinVersion: tls.VersionTLS12}}}
	}
	monitoring := client(issue(t, pki, "prometheus", monitoringID))
	shop := client(issue(t, pki, "web", shopID))
	noURI := client(issue(t, pki, "monitoring", "monitoring.example"))
	config := `{"details":{"expose":"authorized","allow_principals":["` + monitoringID + `"]},"drain":{"enabled":true},` + softApp
	ups := map[string]upstream{"app": {Addr: healthyApp(t)}}

	eachProxy(t, func(t *testing.T, rt runtimeCase) {
		var base string
		if rt.envoy != nil {
			px := rt.envoy(t, config, ups, envoyOptions{edit: func(b *bootstrapv3.Bootstrap) error {
				if err := istioSidecarInbound(b); err != nil {
					return err
				}
				return downstreamMTLS(b, files)
			}})
			base = strings.Replace(px.base, "http://", "https://", 1)
		} else {
			px := rt.start(t, 2, config, ups)
			l, err := px.h.ListenTLS("127.0.0.1:0", "app", &tls.Config{Certificates: []tls.Certificate{serverCert},
				ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.Pool, MinVersion: tls.VersionTLS12})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			base = l.URL()
		}
		assertDetailsAndDrain(t, base, "monitoring certificate", monitoring, nil)
		assertNoDetails(t, base, "other SPIFFE id", shop, nil)
		assertNoDetails(t, base, "other SPIFFE id claiming the monitoring id in x-forwarded-client-cert", shop,
			[]header{{"x-forwarded-client-cert", "By=spiffe://cluster.local/ns/shop/sa/app;URI=" + monitoringID}})
		assertNoDetails(t, base, "certificate without a URI SAN", noURI, nil)
		// The listener verifies: no certificate, or the monitoring id from
		// another CA, does not get through the handshake.
		for name, c := range map[string]*http.Client{
			"no client certificate":         client(),
			"monitoring id from another CA": client(issue(t, otherPKI, "prometheus", monitoringID)),
		} {
			if resp, err := c.Get(base + "/health/probes/liveness"); err == nil {
				resp.Body.Close()
				t.Errorf("%s: the listener answered %d; want the handshake refused", name, resp.StatusCode)
			}
		}
	})
}

// internal/testing/wasmhost derives source.address as Envoy does (wasmhost.SourceAddress), so the
// fast tests meet the addresses Envoy would give the plugin. The cases and
// answers are Envoy 1.40's; "peer" is the socket's peer.
func TestSecuritySourceAddressLikeEnvoy(t *testing.T) {
	xff := func(lines ...string) []header {
		var hs []header
		for _, l := range lines {
			hs = append(hs, header{"x-forwarded-for", l})
		}
		return hs
	}
	cases := []struct {
		name    string
		headers []header
		want    string
	}{
		{"none", nil, "peer"},
		{"one", xff("10.1.2.3"), "10.1.2.3:0"},
		{"last of a list", xff("1.1.1.1, 10.1.2.3"), "10.1.2.3:0"},
		{"spaces", xff("9.9.9.9 ,  10.1.2.3 "), "10.1.2.3:0"},
		{"last line", xff("10.1.2.3", "9.9.9.9"), "9.9.9.9:0"},
		{"empty last line", xff("10.1.2.3", ""), "10.1.2.3:0"},
		{"empty first line", xff("", "10.1.2.3"), "10.1.2.3:0"},
		{"empty", xff(""), "peer"},
		{"empty last entry", xff("10.1.2.3,"), "peer"},
		{"bad last entry", xff("10.1.2.3, unknown"), "peer"},
		{"with a port", xff("10.1.2.3:5555"), "peer"},
		{"bracketed v6 with a port", xff("[::1]:80"), "peer"},
		{"leading zeros", xff("010.1.2.3"), "peer"},
		{"short v4", xff("10.1"), "peer"},
		{"v6", xff("::1"), "[::1]:0"},
		{"v6 upper case", xff("FD00::ABCD"), "[fd00::abcd]:0"},
		{"v6 uncompressed", xff("fd00:0:0:0:0:0:0:1"), "[fd00::1]:0"},
		{"v6 zero runs", xff("1:0:0:2:0:0:3:4"), "[1::2:0:0:3:4]:0"},
		{"v4-mapped", xff("::ffff:10.1.2.3"), "[::ffff:10.1.2.3]:0"},
		{"v4-compatible", xff("::10.1.2.3"), "[::10.1.2.3]:0"},
		{"v4-compatible, small", xff("::0.0.1.2"), "[::102]:0"},
		{"unspecified", xff("0.0.0.0"), "0.0.0.0:0"},
		{"link-local, numeric zone", xff("fe80::1%7"), "[fe80::1%7]:0"},
		{"link-local, loopback's zone", xff("fe80::1%lo"), "[fe80::1%1]:0"},
		{"link-local, unknown zone", xff("fe80::1%nosuchifc"), "peer"},
		{"zone on a global address", xff("fd00::1%lo"), "peer"},
		{"forwarded", []header{{"forwarded", "for=10.1.2.3"}}, "peer"},
		{"x-real-ip", []header{{"x-real-ip", "10.1.2.3"}}, "peer"},
		{"x-envoy-external-address", []header{{"x-envoy-external-address", "10.1.2.3"}}, "peer"},
		{"x-forwarded-client-cert", []header{{"x-forwarded-client-cert", "URI=" + monitoringID}}, "peer"},
	}
	const peer = "127.0.0.1:40000"
	raw := func(hs []header) string {
		s := "GET /echo HTTP/1.1\r\nHost: app\r\n"
		for _, h := range hs {
			s += h[0] + ": " + h[1] + "\r\n"
		}
		return s + "Connection: close\r\n\r\n"
	}
	t.Run("host", func(t *testing.T) {
		for _, c := range cases {
			r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw(c.headers))))
			if err != nil {
				t.Fatal(err)
			}
			r.RemoteAddr = peer
			got := wasmhost.SourceAddress(r)
			if got == peer {
				got = "peer"
			}
			if got != c.want {
				t.Errorf("%s: source.address %q; Envoy's is %q", c.name, got, c.want)
			}
		}
	})
	app := healthyApp(t)
	eachEnvoy(t, func(t *testing.T, rt runtimeCase) {
		// Envoy shows its downstream remote address (source.address) in a
		// response header on pass-through traffic.
		px := rt.envoy(t, `{}`, map[string]upstream{"app": {Addr: app}}, envoyOptions{edit: func(b *bootstrapv3.Bootstrap) error {
			return envoyrun.EachConnectionManager(b.GetStaticResources().GetListeners()[0], func(h *hcmv3.HttpConnectionManager) error {
				rc := h.GetRouteConfig()
				rc.ResponseHeadersToAdd = append(rc.ResponseHeadersToAdd, &corev3.HeaderValueOption{
					Header: &corev3.HeaderValue{Key: "x-test-source-address", Value: "%DOWNSTREAM_REMOTE_ADDRESS%"}})
				return nil
			})
		}})
		for _, c := range cases {
			conn, err := net.Dial("tcp", strings.TrimPrefix(px.base, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(conn, raw(c.headers))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				conn.Close()
				t.Fatalf("%s: %v", c.name, err)
			}
			resp.Body.Close()
			got := resp.Header.Get("x-test-source-address")
			if got == conn.LocalAddr().String() {
				got = "peer"
			}
			conn.Close()
			if resp.StatusCode != 200 || got != c.want {
				t.Errorf("%s: Envoy %s: %d, source.address %q; the test (and wasmhost.SourceAddress) say %q",
					c.name, rt.name, resp.StatusCode, got, c.want)
			}
		}
	})
}

// assertNoDetails: the request (with c, or the shared client; with hs) gets
// 403 on /info and /metrics, /dependencies without details, and cannot
// drain: POST /drain is refused and readiness stays 200.
func assertNoDetails(t *testing.T, base, name string, c *http.Client, hs []header) {
	t.Helper()
	if code, body := statusOf(t, c, "GET", base+"/health/info", hs); code != 403 || strings.Contains(body, `"checks"`) {
		t.Errorf("%s: /health/info = %d %s; want 403", name, code, body)
	}
	if code, _ := statusOf(t, c, "GET", base+"/health/metrics", hs); code != 403 {
		t.Errorf("%s: /health/metrics = %d; want 403", name, code)
	}
	if code, body := statusOf(t, c, "GET", base+"/health/dependencies", hs); code != 200 || strings.Contains(body, `"kind"`) {
		t.Errorf("%s: /health/dependencies = %d %s; want 200 without details", name, code, body)
	}
	if code, body := statusOf(t, c, "POST", base+"/health/drain", hs); code != 403 {
		t.Errorf("%s: POST /health/drain = %d %s; want 403", name, code, body)
	}
	if code, body := statusOf(t, c, "GET", base+"/health/probes/readiness", nil); code != 200 {
		t.Fatalf("%s: readiness = %d %s after a refused drain; want 200", name, code, body)
	}
}

// assertDetailsAndDrain: the request sees /info and /dependencies with
// details, and can drain (readiness 503) and undo it.
func assertDetailsAndDrain(t *testing.T, base, name string, c *http.Client, hs []header) {
	t.Helper()
	if code, body := statusOf(t, c, "GET", base+"/health/info", hs); code != 200 || !strings.Contains(body, `"details"`) {
		t.Errorf("%s: /health/info = %d %s; want 200 with the configuration", name, code, body)
	}
	if code, body := statusOf(t, c, "GET", base+"/health/dependencies", hs); code != 200 || !strings.Contains(body, `"kind"`) {
		t.Errorf("%s: /health/dependencies = %d %s; want details", name, code, body)
	}
	if code, body := statusOf(t, c, "POST", base+"/health/drain", hs); code != 200 {
		t.Errorf("%s: POST /health/drain = %d %s; want 200", name, code, body)
	}
	if code, body := statusOf(t, c, "GET", base+"/health/probes/readiness", nil); code != 503 || !strings.Contains(body, "draining") {
		t.Errorf("%s: readiness = %d %s after draining; want 503 draining", name, code, body)
	}
	if code, body := statusOf(t, c, "DELETE", base+"/health/drain", hs); code != 200 {
		t.Errorf("%s: DELETE /health/drain = %d %s; want 200", name, code, body)
	}
	if code, body := statusOf(t, c, "GET", base+"/health/probes/readiness", nil); code != 200 {
		t.Fatalf("%s: readiness = %d %s after undoing the drain; want 200", name, code, body)
	}
}

// istioSidecarInbound gives the listener's connection manager what Istio
// gives a sidecar's inbound listener: the remote address from
// x-forwarded-for (use_remote_address false, no trusted hops, no
// original-IP detection extension) and client certificate details
// appended to x-forwarded-client-cert on mTLS.
func istioSidecarInbound(b *bootstrapv3.Bootstrap) error {
	return envoyrun.EachConnectionManager(b.GetStaticResources().GetListeners()[0], func(h *hcmv3.HttpConnectionManager) error {
		h.UseRemoteAddress = wrapperspb.Bool(false)
		h.XffNumTrustedHops = 0
		h.OriginalIpDetectionExtensions = nil
		h.ForwardClientCertDetails = hcmv3.HttpConnectionManager_APPEND_FORWARD
		h.SetCurrentClientCertDetails = &hcmv3.HttpConnectionManager_SetCurrentClientCertDetails{
			Subject: wrapperspb.Bool(true), Uri: true, Dns: true}
		return nil
	})
}

// listenerTLSFiles are the listener's certificate and key and the CA its
// clients' certificates must chain to.
type listenerTLSFiles struct{ cert, key, ca string }

// downstreamMTLS puts a TLS transport socket on the listener's filter
// chains that requires a client certificate and verifies it against f.ca.
func downstreamMTLS(b *bootstrapv3.Bootstrap, f listenerTLSFiles) error {
	file := envoyrun.File
	ctx, err := anypb.New(&tlsv3.DownstreamTlsContext{
		RequireClientCertificate: wrapperspb.Bool(true),
		CommonTlsContext: &tlsv3.CommonTlsContext{
			TlsCertificates: []*tlsv3.TlsCertificate{{CertificateChain: file(f.cert), PrivateKey: file(f.key)}},
			ValidationContextType: &tlsv3.CommonTlsContext_ValidationContext{
				ValidationContext: &tlsv3.CertificateValidationContext{TrustedCa: file(f.ca)}},
		},
	})
	if err != nil {
		return err
	}
	for _, fc := range b.GetStaticResources().GetListeners()[0].GetFilterChains() {
		fc.TransportSocket = &corev3.TransportSocket{Name: "envoy.transport_sockets.tls",
			ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: ctx}}
	}
	return nil
}

func issue(t *testing.T, p *envoyboot.PKI, cn string, names ...string) tls.Certificate {
	t.Helper()
	c, err := p.Issue(cn, names...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writePair writes c's leaf and key as PEM files.
func writePair(t *testing.T, c tls.Certificate, certFile, keyFile string) {
	t.Helper()
	key, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// healthyApp is an app that answers 200 to everything; its address.
// softApp is a checks list (the end of a configuration) with one soft
// check of cluster "app", so /dependencies has a check to show details of
// and readiness does not wait for it.
const softApp = `"checks":[{"name":"app","kind":"http","cluster":"app","type":"soft"}]}`

func healthyApp(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
