package istio

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	secretv3 "github.com/envoyproxy/go-control-plane/envoy/service/secret/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

const (
	sdsTestID   = "spiffe://cluster.local/ns/shop/sa/default"
	sdsTestPeer = "spiffe://cluster.local/ns/front/sa/web"
	// The type Envoy puts in SDS requests.
	secretTypeURL = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"
)

func newTestCA(t *testing.T) *CA {
	t.Helper()
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func parseChain(t *testing.T, chainPEM []byte) []*x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	for rest := chainPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		t.Fatalf("no certificate in %q", chainPEM)
	}
	return certs
}

// verifyLeaf checks chain[0] against ca's root for both uses Istio gives it.
func verifyLeaf(t *testing.T, ca *CA, chain []*x509.Certificate) {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca.RootPEM()) {
		t.Fatal("RootPEM holds no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	for _, use := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{use}}); err != nil {
			t.Errorf("verify for ext key usage %v: %v", use, err)
		}
	}
}

func uris(c *x509.Certificate) []string {
	var s []string
	for _, u := range c.URIs {
		s = append(s, u.String())
	}
	return s
}

func TestCAIssue(t *testing.T) {
	ca := newTestCA(t)
	for _, tc := range []struct {
		id      string
		wantErr bool
	}{
		{id: sdsTestID},
		{id: "spiffe://example.org/ns/a/sa/b"},
		{id: "shop.svc.cluster.local", wantErr: true},
		{id: "spiffe://cluster.local/workload", wantErr: true},
	} {
		t.Run(tc.id, func(t *testing.T) {
			chainPEM, keyPEM, err := ca.Issue(tc.id)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Issue error %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if _, err := tls.X509KeyPair(chainPEM, keyPEM); err != nil {
				t.Errorf("key does not match certificate: %v", err)
			}
			chain := parseChain(t, chainPEM)
			leaf := chain[0]
			if got := uris(leaf); !slices.Equal(got, []string{tc.id}) {
				t.Errorf("URI SANs %q, want only %q", got, tc.id)
			}
			if len(leaf.DNSNames)+len(leaf.IPAddresses)+len(leaf.EmailAddresses) != 0 || leaf.Subject.CommonName != "" {
				t.Errorf("unexpected names: DNS %v IP %v email %v CN %q", leaf.DNSNames, leaf.IPAddresses, leaf.EmailAddresses, leaf.Subject.CommonName)
			}
			if leaf.IsCA {
				t.Error("workload certificate is a CA")
			}
			if want := x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment; leaf.KeyUsage != want {
				t.Errorf("key usage %v, want %v", leaf.KeyUsage, want)
			}
			if want := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}; !slices.Equal(leaf.ExtKeyUsage, want) {
				t.Errorf("ext key usage %v, want %v", leaf.ExtKeyUsage, want)
			}
			if life := leaf.NotAfter.Sub(time.Now()); life < 23*time.Hour || life > 25*time.Hour {
				t.Errorf("certificate valid for another %v, want about 24h", life)
			}
			verifyLeaf(t, ca, chain)
		})
	}
}

// handshake runs a TLS handshake over net.Pipe and returns each side's
// error and view of the connection.
func handshake(t *testing.T, server, client *tls.Config) (srvErr, cliErr error, srvState, cliState tls.ConnectionState) {
	t.Helper()
	a, b := net.Pipe()
	deadline := time.Now().Add(10 * time.Second)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	srv, cli := tls.Server(a, server), tls.Client(b, client)
	done := make(chan struct{})
	go func() {
		defer close(done)
		srvErr = srv.Handshake()
		if srvErr != nil {
			a.Close() // unblock the client
		}
	}()
	cliErr = cli.Handshake()
	if cliErr != nil {
		b.Close()
	} else {
		// Under TLS 1.3 the client is done before the server has checked its
		// certificate; drain the pipe so a rejecting server's alert is not
		// left blocked on net.Pipe's unbuffered write.
		go io.Copy(io.Discard, b)
	}
	<-done
	srvState, cliState = srv.ConnectionState(), cli.ConnectionState()
	a.Close()
	b.Close()
	return
}

func TestCAMutualTLS(t *testing.T) {
	ca, other := newTestCA(t), newTestCA(t)
	otherRoots := x509.NewCertPool()
	otherRoots.AppendCertsFromPEM(other.RootPEM())
	alpn := []string{"istio-http/1.1", "istio"}

	for _, tc := range []struct {
		name string
		// adjust changes the configs for the case; nil leaves them as issued by ca.
		adjust func(server, client *tls.Config)
		// clientCA issues the client's config; nil means ca.
		clientCA *CA
		// rejectedBy is the side whose handshake must fail with an unknown authority.
		rejectedBy string
	}{
		{name: "same mesh"},
		{name: "client trusts another root", adjust: func(_, c *tls.Config) { c.RootCAs = otherRoots }, rejectedBy: "client"},
		{name: "server trusts another root", adjust: func(s, _ *tls.Config) { s.ClientCAs = otherRoots }, rejectedBy: "server"},
		{name: "client from another mesh", clientCA: other, rejectedBy: "client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server, err := ca.ServerTLS(sdsTestID)
			if err != nil {
				t.Fatal(err)
			}
			clientCA := ca
			if tc.clientCA != nil {
				clientCA = tc.clientCA
			}
			client, err := clientCA.ClientTLS(sdsTestPeer, alpn...)
			if err != nil {
				t.Fatal(err)
			}
			var offered []string
			server.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
				offered = h.SupportedProtos
				return nil, nil
			}
			if tc.adjust != nil {
				tc.adjust(server, client)
			}
			srvErr, cliErr, srvState, cliState := handshake(t, server, client)

			var unknown x509.UnknownAuthorityError
			switch tc.rejectedBy {
			case "":
				if srvErr != nil || cliErr != nil {
					t.Fatalf("handshake failed: server %v, client %v", srvErr, cliErr)
				}
				if !slices.Equal(offered, alpn) {
					t.Errorf("client offered ALPN %q, want %q", offered, alpn)
				}
				if got := uris(srvState.PeerCertificates[0]); !slices.Equal(got, []string{sdsTestPeer}) {
					t.Errorf("server sees client as %q, want %q", got, sdsTestPeer)
				}
				if got := uris(cliState.PeerCertificates[0]); !slices.Equal(got, []string{sdsTestID}) {
					t.Errorf("client sees server as %q, want %q", got, sdsTestID)
				}
			case "client":
				if !errors.As(cliErr, &unknown) {
					t.Errorf("client error %v, want unknown authority", cliErr)
				}
			case "server":
				// Under TLS 1.3 the client may finish before the server
				// rejects it, so only the server's verdict is certain.
				if !errors.As(srvErr, &unknown) {
					t.Errorf("server error %v, want unknown authority", srvErr)
				}
			}
		})
	}
}

func TestServeSDS(t *testing.T) {
	ca := newTestCA(t)
	root := t.TempDir()
	// Where Envoy, run in root with Istio's bootstrap, looks for the socket.
	sock := filepath.Join(root, "var/run/secrets/workload-spiffe-uds/socket")
	stop, err := ServeSDS(sock, ca, sdsTestID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)

	// Envoy may run as another uid: the socket must be writable by others,
	// and each directory ServeSDS created searchable by others.
	for p, want := range map[string]os.FileMode{
		sock:                                   0o666,
		filepath.Join(root, "var"):             0o005,
		filepath.Join(root, "var/run/secrets"): 0o005,
		filepath.Dir(sock):                     0o005,
		filepath.Join(root, "var/run"):         0o005,
	} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&want != want {
			t.Errorf("%s has mode %v, want at least %v", p, fi.Mode().Perm(), want)
		}
	}
	if sockFi, _ := os.Stat(sock); sockFi.Mode().Type() != os.ModeSocket {
		t.Errorf("%s is %v, not a socket", sock, sockFi.Mode().Type())
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(sock), ".sds-*")); len(left) != 0 {
		t.Errorf("scratch left behind: %v", left)
	}

	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := secretv3.NewSecretDiscoveryServiceClient(conn)

	for _, tc := range []struct {
		name  string
		check func(t *testing.T, s *tlsv3.Secret)
	}{
		{"default", func(t *testing.T, s *tlsv3.Secret) {
			cert := s.GetTlsCertificate()
			chainPEM, keyPEM := cert.GetCertificateChain().GetInlineBytes(), cert.GetPrivateKey().GetInlineBytes()
			if _, err := tls.X509KeyPair(chainPEM, keyPEM); err != nil {
				t.Errorf("certificate and key: %v", err)
			}
			chain := parseChain(t, chainPEM)
			if got := uris(chain[0]); !slices.Equal(got, []string{sdsTestID}) {
				t.Errorf("URI SANs %q, want only %q", got, sdsTestID)
			}
			verifyLeaf(t, ca, chain)
		}},
		{"ROOTCA", func(t *testing.T, s *tlsv3.Secret) {
			got := s.GetValidationContext().GetTrustedCa().GetInlineBytes()
			if !bytes.Equal(got, ca.RootPEM()) {
				t.Errorf("trusted CA\n%s\nwant the mesh root\n%s", got, ca.RootPEM())
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One stream per secret, as Envoy does.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			stream, err := client.StreamSecrets(ctx)
			if err != nil {
				t.Fatal(err)
			}
			err = stream.Send(&discovery.DiscoveryRequest{
				Node:          &core.Node{Id: "sidecar~10.1.0.5~web-0.shop~shop.svc.cluster.local"},
				TypeUrl:       secretTypeURL,
				ResourceNames: []string{tc.name},
			})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if resp.TypeUrl != secretTypeURL || len(resp.Resources) != 1 {
				t.Fatalf("response type %q with %d resources, want one %q", resp.TypeUrl, len(resp.Resources), secretTypeURL)
			}
			var s tlsv3.Secret
			if err := resp.Resources[0].UnmarshalTo(&s); err != nil {
				t.Fatal(err)
			}
			if s.Name != tc.name {
				t.Errorf("secret named %q, want %q", s.Name, tc.name)
			}
			tc.check(t, &s)
			if t.Failed() {
				t.Logf("secret: %v", &s)
			}
		})
	}

	stop()
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket still there after stop: %v", err)
	}
}
