package istio

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"istio.io/istio/pkg/security"
	"istio.io/istio/pkg/spiffe"
	cacmd "istio.io/istio/security/pkg/cmd"
	"istio.io/istio/security/pkg/nodeagent/sds"
	pkica "istio.io/istio/security/pkg/pki/ca"
)

// CA is a throwaway mesh root for one test. It is Istio's own CA
// (security/pkg/pki/ca) in the in-memory self-signed mode istiod uses
// outside Kubernetes, so workload certificates come out exactly as istiod
// issues them: a SPIFFE URI SAN only (no subject, no DNS names), key usage
// digital signature + key encipherment, ext key usage server + client auth,
// valid from 2 minutes ago for istiod's default workload TTL (24h).
type CA struct {
	ca   *pkica.IstioCA
	pool *x509.CertPool
}

// NewCA makes a root with istiod's defaults: RSA 2048, 10 years, O=cluster.local.
func NewCA() (*CA, error) {
	opts, err := pkica.NewSelfSignedDebugIstioCAOptions("", cacmd.DefaultSelfSignedCACertTTL,
		cacmd.DefaultWorkloadCertTTL, cacmd.DefaultMaxWorkloadCertTTL, "cluster.local", 2048)
	if err != nil {
		return nil, err
	}
	ca, err := pkica.NewIstioCA(opts)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca.GetCAKeyCertBundle().GetRootCertPem()) {
		return nil, errors.New("istio CA produced no root certificate")
	}
	return &CA{ca: ca, pool: pool}, nil
}

// RootPEM is the mesh root, as served in the ROOTCA secret.
func (ca *CA) RootPEM() []byte { return ca.ca.GetCAKeyCertBundle().GetRootCertPem() }

// Issue returns a PEM chain and PEM key for spiffeID (e.g.
// spiffe://cluster.local/ns/shop/sa/default). Anything that is not a
// SPIFFE workload id is refused, since Istio's CA would otherwise turn it
// into a DNS or IP SAN.
func (ca *CA) Issue(spiffeID string) (chainPEM, keyPEM []byte, err error) {
	if _, err := spiffe.ParseIdentity(spiffeID); err != nil {
		return nil, nil, err
	}
	// TTL 0 means the CA's default workload TTL, as for an agent's CSR.
	return ca.ca.GenKeyCert([]string{spiffeID}, 0, false)
}

func (ca *CA) keyPair(spiffeID string) (tls.Certificate, error) {
	chain, key, err := ca.Issue(spiffeID)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(chain, key)
}

// ServerTLS is a tls.Config for a test server speaking Istio mTLS as
// spiffeID: it presents that identity and requires a client certificate
// chaining to ca's root (the peer's SPIFFE id is then in
// ConnectionState().PeerCertificates[0].URIs).
func (ca *CA) ServerTLS(spiffeID string) (*tls.Config, error) {
	cert, err := ca.keyPair(spiffeID)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    ca.pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	}, nil
}

// ClientTLS is a tls.Config for a test client speaking Istio mTLS as
// spiffeID, trusting only ca's root (RootCAs; replace it to trust another).
//
// nextProtos is the ALPN the client offers. A sidecar's inbound listener
// (pilot/pkg/networking/core/filterchain_options.go, listener.go) picks the
// mTLS filter chain by it: "istio-http/1.0", "istio-http/1.1", "istio-h2"
// select the HTTP chain; "istio-peer-exchange", "istio" select the TCP chain
// on ports whose protocol is auto-detected (on ports declared HTTP or TCP
// all five select that port's one mTLS chain). In STRICT mode an mTLS
// connection without those ALPNs still lands on the TCP chain.
func (ca *CA) ClientTLS(spiffeID string, nextProtos ...string) (*tls.Config, error) {
	cert, err := ca.keyPair(spiffeID)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      ca.pool,
		NextProtos:   nextProtos,
		// Istio certificates name no host, only a SPIFFE URI, so Go's
		// hostname check can never pass: verify the chain to RootCAs here
		// instead, which is what Envoy does before it matches SANs.
		InsecureSkipVerify: true,
	}
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("server presented no certificate")
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
			Roots:         cfg.RootCAs,
			Intermediates: inter,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
		return err
	}
	return cfg, nil
}

// sdsSecrets is the security.SecretManager behind ServeSDS: the two
// secrets Envoy's Istio bootstrap asks for, fixed for the server's life
// (the real agent also hands out one cached certificate until rotation).
type sdsSecrets struct{ chain, key, root []byte }

func (s *sdsSecrets) GenerateSecret(name string) (*security.SecretItem, error) {
	switch name {
	case security.WorkloadKeyCertResourceName:
		return &security.SecretItem{ResourceName: name, CertificateChain: s.chain, PrivateKey: s.key, RootCert: s.root}, nil
	case security.RootCertReqResourceName:
		return &security.SecretItem{ResourceName: name, RootCert: s.root}, nil
	}
	return nil, fmt.Errorf("no SDS secret %q here", name)
}

// sdsChdirMu serialises the working-directory switch in ServeSDS.
var sdsChdirMu sync.Mutex

// ServeSDS serves Istio's own SDS service (the one pilot-agent runs) on the
// unix socket at socketPath, answering "default" with a certificate for
// spiffeID and "ROOTCA" with ca's root. Envoy started with Istio's bootstrap
// dials "./var/run/secrets/workload-spiffe-uds/socket" relative to its
// working directory, so pass that path under Envoy's working directory.
// Directories it creates are 0755 and the socket 0666, so Envoy may run as
// another uid (1337); existing ancestors are left as they are. stop stops
// the server and removes the socket.
//
// Istio's sds.NewServer ignores its options for the socket path: it always
// listens on the relative security.GetIstioSDSServerSocketPath(). So the
// server is created with the process's working directory switched, for that
// instant, to a scratch directory beside socketPath (as Istio's own tests
// do), and the socket is then renamed into place. The switch is process-wide:
// code resolving relative paths on another goroutine at that instant would
// see the scratch directory.
func ServeSDS(socketPath string, ca *CA, spiffeID string) (stop func(), err error) {
	chain, key, err := ca.Issue(spiffeID)
	if err != nil {
		return nil, err
	}
	if socketPath, err = filepath.Abs(socketPath); err != nil {
		return nil, err
	}
	dir := filepath.Dir(socketPath)
	if err := mkdirShared(dir); err != nil {
		return nil, err
	}
	// Beside socketPath so the rename stays on one filesystem.
	scratch, err := os.MkdirTemp(dir, ".sds-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)

	srv, err := newSDSServerIn(scratch, &sdsSecrets{chain: chain, key: key, root: ca.RootPEM()})
	if err != nil {
		return nil, err
	}
	// A bound unix socket keeps working when renamed: the listener holds the
	// inode, and clients resolve the new name to it.
	if err := os.Rename(filepath.Join(scratch, security.GetIstioSDSServerSocketPath()), socketPath); err != nil {
		srv.Stop()
		return nil, err
	}
	if err := os.Chmod(socketPath, 0o666); err != nil {
		srv.Stop()
		os.Remove(socketPath)
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			// Stop also unlinks the relative socket path, now resolved against
			// the current working directory, where it normally does not exist.
			srv.Stop()
			os.Remove(socketPath)
		})
	}, nil
}

func newSDSServerIn(dir string, secrets security.SecretManager) (*sds.Server, error) {
	sdsChdirMu.Lock()
	defer sdsChdirMu.Unlock()
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	if err := os.Chdir(dir); err != nil {
		return nil, err
	}
	// No private key provider: Envoy gets the key inline, as in a default mesh.
	srv := sds.NewServer(&security.Options{}, secrets, nil)
	// NewServer binds synchronously but only logs a failure (then retries in
	// the background, relative to whatever the working directory is by then).
	_, statErr := os.Stat(security.GetIstioSDSServerSocketPath())
	if err := os.Chdir(wd); err != nil {
		srv.Stop()
		return nil, err
	}
	if statErr != nil {
		srv.Stop()
		return nil, fmt.Errorf("istio SDS server did not bind its socket: %w", statErr)
	}
	return srv, nil
}

// mkdirShared creates dir and any missing parents with mode 0755 regardless
// of umask, so another uid can reach a socket inside.
func mkdirShared(dir string) error {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || d == filepath.Dir(d) {
			break
		}
		missing = append(missing, d)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, d := range missing {
		if err := os.Chmod(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}
