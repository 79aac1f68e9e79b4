package netns

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Censored is issue 4's censored network on one machine:
//
//		          hub (bridge br0, 203.0.113.0/24, 2001:db8:c::/64)
//		   ┌─────────┬───────────┬───────────┬───────────┐
//		client    origin     exit[0]     exit[1]     exit[2] ...
//		 .10        .20     .30 BLOCKED    .31         .32
//
//	  - the client's firewall drops everything it sends to the origin (and
//	    counts it: ClientToOrigin), and its
//	    resolver (a DNS server on the hub, .53, the only one in the client's
//	    resolv.conf) gives a poisoned answer for the origin's name (an address
//	    that leads nowhere) and counts the queries it gets;
//	  - the origin serves HTTP on :80 and HTTPS on :443 (certificate from a
//	    CA made for the test, CAFile) for OriginName, both IPv4 and IPv6;
//	  - exit[0]'s firewall also drops its traffic to the origin (a censored
//	    exit); the other exits reach it;
//	  - only the exits' hosts files know the origin's name.
//
// The firewall rules drop silently (a connect times out) unless Options
// say reject (the connect fails at once with EHOSTUNREACH).
type Censored struct {
	Net    *Net
	Hub    *Host
	Client *Host
	Origin *Host
	Exits  []*Host

	OriginName         string     // "origin.test"
	OriginV4, OriginV6 netip.Addr // its real addresses
	PoisonV4           netip.Addr // what the client's resolver says instead
	PoisonV6           netip.Addr
	ResolverV4         netip.Addr // the client's resolver (on the hub)
	Resolver           *PoisonResolver
	ClientV4           netip.Addr
	ExitV4             []netip.Addr
	ExitV6             []netip.Addr
	// Mux serves the origin's HTTP and HTTPS; tests may add handlers.
	Mux               *http.ServeMux
	CAFile            string // PEM of the CA that signed the origin's certificate
	CA                *x509.CertPool
	HTTPURL, HTTPSURL string // by name: http://origin.test/, https://origin.test/
}

// CensoredOptions vary the topology.
type CensoredOptions struct {
	Exits int // exit hosts, default 3
	// Blocked is how many of the first exits are blocked from the origin,
	// default 1; BlockAll blocks every exit.
	Blocked  int
	BlockAll bool
	// Reject makes the firewalls answer with ICMP host-unreachable instead
	// of dropping silently.
	Reject bool
}

// OriginBody is what the origin's "/" answers.
const OriginBody = "hello from the origin\n"

// NewCensored builds the network, starts the origin's servers and returns
// the description. Everything is removed when t ends.
func NewCensored(t testing.TB, o CensoredOptions) *Censored {
	t.Helper()
	if o.Exits == 0 {
		o.Exits = 3
	}
	if o.Blocked == 0 {
		o.Blocked = 1
	}
	if o.BlockAll {
		o.Blocked = o.Exits
	}
	n := New(t)
	c := &Censored{
		Net:        n,
		OriginName: "origin.test",
		OriginV4:   netip.MustParseAddr("203.0.113.20"),
		OriginV6:   netip.MustParseAddr("2001:db8:c::20"),
		PoisonV4:   netip.MustParseAddr("198.51.100.66"),
		PoisonV6:   netip.MustParseAddr("2001:db8:dead::66"),
		ResolverV4: netip.MustParseAddr("203.0.113.53"),
		ClientV4:   netip.MustParseAddr("203.0.113.10"),
	}
	c.Hub = n.Host("hub")
	c.Client = n.Host("client")
	c.Origin = n.Host("origin")
	n.Attach(c.Hub, c.Client, "203.0.113.10/24", "2001:db8:c::10/64")
	n.Attach(c.Hub, c.Origin, "203.0.113.20/24", "2001:db8:c::20/64")
	for i := range o.Exits {
		h := n.Host("exit" + strconv.Itoa(i))
		v4 := netip.AddrFrom4([4]byte{203, 0, 113, byte(30 + i)})
		v6 := netip.MustParseAddr(fmt.Sprintf("2001:db8:c::%d", 30+i))
		n.Attach(c.Hub, h, v4.String()+"/24", v6.String()+"/64")
		c.Exits = append(c.Exits, h)
		c.ExitV4 = append(c.ExitV4, v4)
		c.ExitV6 = append(c.ExitV6, v6)
		h.SetHosts(map[string][]string{
			c.OriginV4.String(): {c.OriginName},
			c.OriginV6.String(): {c.OriginName},
		})
		if i < o.Blocked {
			h.Nft(c.blockRules(o.Reject))
		}
		// What an exit's operator sets so that carrot's client can send
		// its request in the SYN (see internal/exit, Listen).
		h.Sysctl("ipv4/tcp_fastopen", "3")
	}
	c.Client.Nft(c.blockRules(o.Reject))
	n.ip("-n", c.Hub.Name, "addr", "add", c.ResolverV4.String()+"/24", "dev", "br0")
	c.Resolver = startPoisonResolver(t, c.Hub, c.ResolverV4, map[string][2]netip.Addr{
		c.OriginName: {c.PoisonV4, c.PoisonV6},
	})
	c.Client.WriteEtc("resolv.conf", "nameserver "+c.ResolverV4.String()+"\n")
	c.startOrigin(t)
	c.HTTPURL = "http://" + c.OriginName + "/"
	c.HTTPSURL = "https://" + c.OriginName + "/"
	return c
}

func (c *Censored) blockRules(reject bool) string {
	verdict := "drop"
	if reject {
		verdict = "reject with icmpx type host-unreachable"
	}
	return fmt.Sprintf(`table inet censor {
	chain out {
		type filter hook output priority 0; policy accept;
		ip daddr %s counter %s
		ip6 daddr %s counter %s
	}
}
`, c.OriginV4, verdict, c.OriginV6, verdict)
}

// ClientToOrigin is how many packets the client host has sent straight to
// the origin (its firewall's counters): any would be a connection that
// did not go through an exit.
func (c *Censored) ClientToOrigin(t testing.TB) int64 {
	t.Helper()
	n, err := c.Client.NftPackets("inet", "censor")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// startOrigin makes a CA and a certificate for the origin and serves HTTP
// and HTTPS in the origin host from this process:
//
//	/         OriginBody
//	/bytes?n=N  N bytes (for throughput), streamed
func (c *Censored) startOrigin(t testing.TB) {
	t.Helper()
	caCert, caKey := makeCA(t)
	c.CA = x509.NewCertPool()
	c.CA.AddCert(caCert)
	c.CAFile = filepath.Join(t.TempDir(), "origin-ca.pem")
	if err := os.WriteFile(c.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	leaf := makeLeaf(t, caCert, caKey, c.OriginName, c.OriginV4, c.OriginV6)

	mux := http.NewServeMux()
	c.Mux = mux
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, OriginBody)
	})
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		buf := make([]byte, 256<<10)
		for n > 0 {
			k := min(n, int64(len(buf)))
			if _, err := w.Write(buf[:k]); err != nil {
				return
			}
			n -= k
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	tlsSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{leaf}}}
	plain, err := c.Origin.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	secure, err := c.Origin.Listen("tcp", ":443")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(plain)
	go tlsSrv.ServeTLS(secure, "", "")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		tlsSrv.Shutdown(ctx)
		srv.Close()
		tlsSrv.Close()
	})
}

func makeCA(t testing.TB) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "carrot test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func makeLeaf(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, name string, ips ...netip.Addr) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(ip.AsSlice()))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.Raw}, PrivateKey: key}
}

// ExitCert makes a CA and a certificate it signs for an exit's TLS
// listener, written as PEM files: the certificate chain, the key and the CA
// (for a client's ca=).
func ExitCert(t testing.TB, name string) (certFile, keyFile, caFile string) {
	t.Helper()
	caCert, caKey := makeCA(t)
	leaf := makeLeaf(t, caCert, caKey, name)
	dir := t.TempDir()
	certFile, keyFile, caFile = filepath.Join(dir, "exit.pem"), filepath.Join(dir, "exit.key"), filepath.Join(dir, "exit-ca.pem")
	keyDER, err := x509.MarshalECPrivateKey(leaf.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	var chain strings.Builder
	for _, der := range leaf.Certificate {
		pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	for file, data := range map[string][]byte{
		certFile: []byte(chain.String()),
		keyFile:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		caFile:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw}),
	} {
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile, caFile
}

// Exit accounts of the censored network's `carrot exit` servers.
const (
	ExitUser = "alice"
	ExitPass = "s3cret"
)

// StartCarrotExit runs `carrot exit` (the binary at bin) in exit i on
// :1080 with the account ExitUser:ExitPass, allowing the test LAN (which
// the default policy denies: it is a documentation range), and waits
// until it listens.
func (c *Censored) StartCarrotExit(t testing.TB, bin string, i int, extra ...string) *Proc {
	t.Helper()
	users := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(users, []byte(ExitUser+":"+ExitPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"exit", "--listen", ":1080", "--users", users,
		"--allow", "203.0.113.0/24", "--allow", "2001:db8:c::/64"}, extra...)
	p := c.Exits[i].Start(bin, args...)
	if !p.WaitOutput("listening on", 10*time.Second) {
		t.Fatalf("carrot exit in %s did not start:\n%s", c.Exits[i].Role, p.Output())
	}
	return p
}

// ExitURL is the socks5:// URL of exit i's `carrot exit`, with credentials.
func (c *Censored) ExitURL(i int) string {
	return fmt.Sprintf("socks5://%s:%s@%s:1080", ExitUser, ExitPass, c.ExitV4[i])
}

// RequireBinaries skips t, loudly, when a peer tool is missing; in CI
// (where .ci/install provides them) it fails instead.
func RequireBinaries(t testing.TB, bins ...string) {
	t.Helper()
	for _, bin := range bins {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s missing in CI (.ci/install)", bin)
			}
			t.Skipf("SKIP: %s not installed (run .ci/install)", bin)
		}
	}
}

// StartMicrosocks runs microsocks, a peer SOCKS5 server, in exit i on port
// with the account ExitUser:ExitPass. It has no "ready" line: callers retry.
func (c *Censored) StartMicrosocks(t testing.TB, i, port int) *Proc {
	t.Helper()
	return c.Exits[i].Start("microsocks", "-i", "0.0.0.0", "-p", fmt.Sprint(port), "-u", ExitUser, "-P", ExitPass)
}

// StartDante runs Dante, a peer SOCKS5 server, in exit i on port, without
// authentication. It has no "ready" line: callers retry.
func (c *Censored) StartDante(t testing.TB, i, port int) *Proc {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "danted.conf")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`logoutput: stderr
internal: 0.0.0.0 port = %d
external: eth0
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {
	from: 0.0.0.0/0 to: 0.0.0.0/0
}
socks pass {
	from: 0.0.0.0/0 to: 0.0.0.0/0
	command: connect
}
`, port)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return c.Exits[i].Start("danted", "-f", conf, "-N", "1")
}
