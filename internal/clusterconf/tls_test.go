package clusterconf

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func confFrom(t *testing.T, dir string) *File {
	t.Helper()
	ca, cert, key, err := EnsureTLS(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &File{CA: string(ca), Cert: string(cert), Key: string(key)}
}

func TestEnsureTLSKeepsAndReissues(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	a := confFrom(t, dir)
	for _, f := range []string{"ca.key", "member.key", "ca.pem", "member.pem"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, st.Mode(), err)
		}
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v", st.Mode())
	}
	b := confFrom(t, dir)
	if a.CA != b.CA || a.Cert != b.Cert || a.Key != b.Key {
		t.Fatal("a second EnsureTLS changed valid material")
	}
	// A lost member certificate is reissued by the same CA.
	os.Remove(filepath.Join(dir, "member.pem"))
	c := confFrom(t, dir)
	if c.CA != a.CA || c.Cert == a.Cert {
		t.Fatal("member certificate not reissued under the same CA")
	}
	if err := CheckMember([]byte(a.CA), []byte(c.Cert), []byte(c.Key), 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	// A certificate from another CA does not check.
	other := confFrom(t, filepath.Join(t.TempDir(), "other"))
	if err := CheckMember([]byte(a.CA), []byte(other.Cert), []byte(other.Key), 0); err == nil {
		t.Fatal("foreign certificate accepted")
	}
	if err := CheckMember([]byte(a.CA), []byte(a.Cert), []byte(other.Key), 0); err == nil {
		t.Fatal("mismatched key accepted")
	}
	// Expiry: the member certificate is not valid in 10 years.
	if err := CheckMember([]byte(a.CA), []byte(a.Cert), []byte(a.Key), 10*365*24*time.Hour); err == nil {
		t.Fatal("validity not checked")
	}
}

// handshake runs a TLS handshake between a server and a client config
// over loopback TCP and returns the server's and the client's errors.
func handshake(t *testing.T, server, client *tls.Config) (error, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	b, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	a, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.SetDeadline(time.Now().Add(10 * time.Second))
	b.SetDeadline(time.Now().Add(10 * time.Second))
	srvErr := make(chan error, 1)
	go func() {
		s := tls.Server(a, server)
		err := s.Handshake()
		if err == nil {
			// TLS 1.3: the client's certificate is checked after the
			// client's handshake returned; read to see the outcome.
			_, err = s.Read(make([]byte, 1))
		}
		s.Close()
		srvErr <- err
	}()
	c := tls.Client(b, client)
	cerr := c.Handshake()
	if cerr == nil {
		c.Write([]byte("x"))
		_, cerr = c.Read(make([]byte, 1))
	}
	c.Close()
	return <-srvErr, cerr
}

func TestMutualTLS(t *testing.T) {
	good, err := confFrom(t, filepath.Join(t.TempDir(), "a")).TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	if good.MinVersion != tls.VersionTLS13 || good.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatal("not mutual TLS 1.3")
	}
	if serr, _ := handshake(t, good, good); serr != nil {
		t.Fatalf("members of one cluster: %v", serr)
	}
	foreign, _ := confFrom(t, filepath.Join(t.TempDir(), "b")).TLSConfig()
	if serr, _ := handshake(t, good, foreign); serr == nil {
		t.Fatal("server accepted a client of another cluster")
	}
	noCert := good.Clone()
	noCert.Certificates = nil
	if serr, _ := handshake(t, good, noCert); serr == nil {
		t.Fatal("server accepted a client without a certificate")
	}
	// A client of this cluster refuses a server of another one.
	if _, cerr := handshake(t, foreign, good); cerr == nil {
		t.Fatal("client accepted a foreign server")
	}
}
