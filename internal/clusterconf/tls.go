package clusterconf

// Transport security. A cluster has its own small certificate authority
// (made by `carrot up` under DIR/tls). Every member — the embedded etcd,
// each storage node, each client — holds a member certificate signed by it,
// valid for both ends of a TLS connection, and every connection is mutual
// TLS 1.3: a peer without a certificate from the cluster CA is refused
// during the handshake, before any request is read. The member certificate
// names ServerName (plus localhost and the loopback addresses), and clients
// check that name, not the address they dialed, so a node's certificate
// does not depend on where it listens.
//
// The config carries the CA certificate and this member's certificate and
// key as PEM (the file is written 0600); the CA's private key never leaves
// DIR/tls.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// ServerName is the name every member certificate carries and every
// client verifies.
const ServerName = "carrot-cluster"

// Validity of what NewCA and IssueMember make.
const (
	CAValidity     = 20 * 365 * 24 * time.Hour
	MemberValidity = 5 * 365 * 24 * time.Hour
)

func newKey() (*ecdsa.PrivateKey, []byte, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	return k, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	return n
}

// NewCA makes a self-signed cluster CA and returns its certificate and
// private key, PEM.
func NewCA(name string) (certPEM, keyPEM []byte, err error) {
	k, keyPEM, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"carrot"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

// IssueMember signs a member certificate (server and client
// authentication, for ServerName, localhost and the loopback addresses)
// with the CA and returns it and its new private key, PEM.
func IssueMember(caCertPEM, caKeyPEM []byte, cn string) (certPEM, keyPEM []byte, err error) {
	ca, err := tls.X509KeyPair(caCertPEM, caKeyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster CA: %w", err)
	}
	caCert, err := x509.ParseCertificate(ca.Certificate[0])
	if err != nil {
		return nil, nil, fmt.Errorf("cluster CA: %w", err)
	}
	k, keyPEM, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	notAfter := now.Add(MemberValidity)
	if caCert.NotAfter.Before(notAfter) {
		notAfter = caCert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"carrot"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{ServerName, "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, ca.PrivateKey)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

// CheckMember verifies that certPEM/keyPEM are a key pair, that the
// certificate chains to caPEM for both client and server use, and that it
// is valid for at least another minValid.
func CheckMember(caPEM, certPEM, keyPEM []byte, minValid time.Duration) error {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("member certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return fmt.Errorf("member certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return errors.New("cluster CA: no certificate in PEM")
	}
	at := time.Now().Add(minValid)
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: ServerName, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			return fmt.Errorf("member certificate (valid until %s): %w", leaf.NotAfter.Format(time.DateOnly), err)
		}
	}
	return nil
}

// TLSConfig returns the mutual-TLS configuration of a member: it presents
// the member certificate, demands one signed by the cluster CA from the
// other end, and (as a client) verifies the server as ServerName. The same
// value serves for servers and clients.
func (f *File) TLSConfig() (*tls.Config, error) {
	if f.CA == "" || f.Cert == "" || f.Key == "" {
		return nil, errors.New("no TLS credentials (ca, cert, key)")
	}
	pair, err := tls.X509KeyPair([]byte(f.Cert), []byte(f.Key))
	if err != nil {
		return nil, fmt.Errorf("cert/key: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(f.CA)) {
		return nil, errors.New("ca: no certificate in PEM")
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{pair},
		RootCAs:      pool,
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ServerName:   ServerName,
	}, nil
}

// TLSFiles are the paths of a cluster's TLS material in its directory.
type TLSFiles struct {
	Dir                      string
	CA, CAKey, Cert, CertKey string
}

// TLSPaths returns the file names under dir.
func TLSPaths(dir string) TLSFiles {
	return TLSFiles{
		Dir: dir, CA: filepath.Join(dir, "ca.pem"), CAKey: filepath.Join(dir, "ca.key"),
		Cert: filepath.Join(dir, "member.pem"), CertKey: filepath.Join(dir, "member.key"),
	}
}

// EnsureTLS makes sure dir holds a cluster CA and a member certificate
// signed by it, valid for at least 30 more days: it keeps what is there
// and valid, issues a new member certificate when the old one is missing
// or about to expire, and makes a new CA only when there is none (or it
// is unusable). It returns the CA certificate and the member certificate
// and key, PEM. Keys are written 0600 in a 0700 directory.
func EnsureTLS(dir string) (ca, cert, key []byte, err error) {
	p := TLSPaths(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, nil, err
	}
	const margin = 30 * 24 * time.Hour
	ca, e1 := os.ReadFile(p.CA)
	caKey, e2 := os.ReadFile(p.CAKey)
	caOK := e1 == nil && e2 == nil
	if caOK {
		pair, err := tls.X509KeyPair(ca, caKey)
		if err == nil {
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(pair.Certificate[0]); err == nil && (!c.IsCA || time.Until(c.NotAfter) < margin) {
				err = errors.New("not a CA or expiring")
			}
		}
		caOK = err == nil
	}
	if !caOK {
		if ca, caKey, err = NewCA("carrot cluster CA"); err != nil {
			return nil, nil, nil, err
		}
		if err := writeSecret(p.CAKey, caKey); err != nil {
			return nil, nil, nil, err
		}
		if err := writeSecret(p.CA, ca); err != nil {
			return nil, nil, nil, err
		}
	}
	cert, e1 = os.ReadFile(p.Cert)
	key, e2 = os.ReadFile(p.CertKey)
	if e1 == nil && e2 == nil && CheckMember(ca, cert, key, margin) == nil {
		return ca, cert, key, nil
	}
	if cert, key, err = IssueMember(ca, caKey, "carrot member"); err != nil {
		return nil, nil, nil, err
	}
	if err := writeSecret(p.CertKey, key); err != nil {
		return nil, nil, nil, err
	}
	if err := writeSecret(p.Cert, cert); err != nil {
		return nil, nil, nil, err
	}
	return ca, cert, key, nil
}

// writeSecret writes b to path atomically with mode 0600, durably.
func writeSecret(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
