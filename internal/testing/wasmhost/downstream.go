package wasmhost

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// ListenTLS is Listen over TLS, as an Envoy listener whose filter chain has a
// DownstreamTlsContext: cfg holds the certificate the listener presents and
// says whether it requires and verifies client certificates (ClientAuth
// tls.RequireAndVerifyClientCert with ClientCAs is require_client_certificate
// with a validation context's trusted_ca). HTTP/1.1 only, as Listen.
func (h *Host) ListenTLS(addr, cluster string, cfg *tls.Config) (*Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	cfg = cfg.Clone()
	cfg.NextProtos = []string{"http/1.1"}
	// A refused handshake is the client's problem, as in Envoy's log at
	// debug level: not printed.
	l := &Listener{ln: ln, tls: true, srv: &http.Server{TLSConfig: cfg, ErrorLog: log.New(io.Discard, "", 0), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.serve(w, r, cluster)
	})}}
	go l.srv.Serve(tls.NewListener(ln, cfg))
	return l, nil
}

// downstreamProperties are the request-scoped properties Envoy derives
// from the downstream connection and its connection manager.
func downstreamProperties(r *http.Request) map[string]string {
	props := map[string]string{"source.address": SourceAddress(r)}
	// connection.uri_san_peer_certificate: the first URI SAN of the
	// certificate the client presented; not found on plaintext or without
	// one. (Verification is the listener's: ListenTLS's cfg.)
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		if uris := r.TLS.PeerCertificates[0].URIs; len(uris) > 0 {
			props["connection.uri_san_peer_certificate"] = uris[0].String()
		}
	}
	return props
}

// SourceAddress is source.address as Envoy's HTTP connection manager sets
// it with use_remote_address false and xff_num_trusted_hops 0: Envoy's
// defaults, envoy/envoy.yaml's, and Istio's sidecar inbound listener's.
// Envoy then takes the downstream address from the request's
// x-forwarded-for: the last entry (the header's lines joined with ",",
// empty lines dropped), trimmed of spaces and tabs, parsed as a bare IP
// address with port 0 ("10.1.2.3:0", "[::1]:0"). An entry that is no bare
// IP ("10.1.2.3:5555", "[::1]", "unknown", an empty last entry, a zone on a
// non-link-local or an unknown interface) leaves the socket's peer,
// "ip:port". No other header (forwarded, x-real-ip,
// x-envoy-external-address, x-forwarded-client-cert) changes it.
// e2e/security_test.go (TestSecuritySourceAddressLikeEnvoy) holds Envoy
// 1.40's answers and checks both Envoy and this function against them.
func SourceAddress(r *http.Request) string {
	var lines []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		if v != "" {
			lines = append(lines, v)
		}
	}
	if len(lines) > 0 {
		all := strings.Join(lines, ",")
		if a, ok := envoyParseIP(strings.Trim(all[strings.LastIndexByte(all, ',')+1:], " \t")); ok {
			return envoyAddrString(a) + ":0"
		}
	}
	return r.RemoteAddr
}

// envoyParseIP parses s as Envoy parses an x-forwarded-for entry: a bare
// IPv4 (dotted quad, no leading zeros) or IPv6 address; an IPv6 zone only on
// a link-local address, an interface name becoming its index.
func envoyParseIP(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	if z := a.Zone(); z != "" {
		if !a.IsLinkLocalUnicast() {
			return netip.Addr{}, false
		}
		if _, err := strconv.ParseUint(z, 10, 32); err != nil {
			ifc, err := net.InterfaceByName(z)
			if err != nil {
				return netip.Addr{}, false
			}
			a = a.WithZone(strconv.Itoa(ifc.Index))
		}
	}
	return a, true
}

// envoyAddrString is an address as Envoy prints it (inet_ntop), bracketed
// for IPv6. It differs from netip's only for an IPv4-compatible address
// (the first 96 bits zero, then not 0.0.x.y), printed "::a.b.c.d".
func envoyAddrString(a netip.Addr) string {
	if a.Is4() {
		return a.String()
	}
	b := a.As16()
	if a.Zone() == "" && b == [16]byte{12: b[12], 13: b[13], 14: b[14], 15: b[15]} && b[12]|b[13] != 0 {
		return "[::" + netip.AddrFrom4([4]byte(b[12:])).String() + "]"
	}
	return "[" + a.String() + "]"
}
