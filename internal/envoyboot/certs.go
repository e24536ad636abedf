package envoyboot

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// TLSFiles are the files an UpstreamTlsContext names.
type TLSFiles struct{ Cert, Key, CA, SNI string }

// PKI is a throwaway CA for the demo's mTLS cluster (and the tests'): it
// writes the client certificate, key and CA file the bootstrap names, and
// gives servers and clients their own certificates from the same CA.
// Nothing here is meant for anything but demos and tests; it is made fresh
// on every run.
type PKI struct {
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	Pool  *x509.CertPool // trusts the CA
}

func NewPKI() (*PKI, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := certTemplate("meshprobe demo CA")
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &PKI{ca: ca, caKey: key, Pool: pool}, nil
}

func certTemplate(cn string) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(7 * 24 * time.Hour),
	}
}

// Issue signs a leaf for names (DNS names, IPs, or URIs such as SPIFFE
// ids) usable as server or client.
func (p *PKI) Issue(cn string, names ...string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := certTemplate(cn)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if u, err := url.Parse(n); err == nil && u.Scheme != "" {
			tmpl.URIs = append(tmpl.URIs, u)
		} else if n != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// WriteClient writes the proxy's side of f: its certificate and key, and
// the CA it trusts.
func (p *PKI) WriteClient(f *TLSFiles) error {
	leaf, err := p.Issue("meshprobe demo proxy")
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(leaf.PrivateKey)
	if err != nil {
		return err
	}
	files := []struct {
		path, kind string
		der        []byte
		mode       os.FileMode
	}{
		{f.Cert, "CERTIFICATE", leaf.Certificate[0], 0o644},
		{f.Key, "PRIVATE KEY", keyDER, 0o600},
		{f.CA, "CERTIFICATE", p.ca.Raw, 0o644},
	}
	for _, w := range files {
		if w.path == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(w.path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(w.path, pem.EncodeToMemory(&pem.Block{Type: w.kind, Bytes: w.der}), w.mode); err != nil {
			return err
		}
	}
	return nil
}

// ClientConfig is what the host's upstream does with f, as Envoy's
// UpstreamTlsContext: present the certificate, verify the server against
// the CA and the SNI name.
func ClientConfig(f *TLSFiles) (*tls.Config, error) {
	c := &tls.Config{ServerName: f.SNI, MinVersion: tls.VersionTLS12}
	if f.Cert != "" {
		pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
		if err != nil {
			return nil, err
		}
		c.Certificates = []tls.Certificate{pair}
	}
	if f.CA != "" {
		pem, err := os.ReadFile(f.CA)
		if err != nil {
			return nil, err
		}
		c.RootCAs = x509.NewCertPool()
		c.RootCAs.AppendCertsFromPEM(pem)
	}
	return c, nil
}
