package exit

import (
	"crypto/tls"
	"fmt"
	"io"
	"os"
)

// LoadKeyPair reads a TLS certificate and its private key (PEM), as
// tls.LoadX509KeyPair does, but refuses a key file that others can read,
// as LoadUsers refuses such a users file: whoever reads the key can pose
// as the exit to its clients, pin and all.
func LoadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := readPrivate(keyFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s, %s: %w", certFile, keyFile, err)
	}
	return cert, nil
}

// readPrivate reads a file that must not be readable by every user; the
// mode is checked on the file opened, not on the name.
func readPrivate(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o004 != 0 {
		return nil, fmt.Errorf("%s: readable by every user (mode %v); chmod o-r it", path, fi.Mode().Perm())
	}
	return io.ReadAll(f)
}
