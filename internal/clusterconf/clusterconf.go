// Package clusterconf reads and writes the client configuration of a
// storage cluster (carrot.toml): where etcd is, the credentials for it, the
// cluster's TLS credentials (its CA and a member certificate, see tls.go),
// the cluster token every storage node demands, and the etcd key prefix
// that holds the cluster. `carrot up` writes one; every client command finds it
// through --config, then $CARROT_CONFIG, then DefaultPath.
//
// Everything else a cluster's members must agree on (replicas, chunk size,
// grace periods) is not here but in etcd (meta.Params), so it cannot
// disagree between clients.
package clusterconf

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/carrot-project/carrot/internal/kvsock"
)

// File is the content of carrot.toml.
type File struct {
	EtcdEndpoints []string `toml:"etcd_endpoints"`
	EtcdUsername  string   `toml:"etcd_username,omitempty"`
	EtcdPassword  string   `toml:"etcd_password,omitempty"`
	// Token authenticates every call to a storage node.
	Token string `toml:"token"`
	// Prefix is the etcd key prefix of this cluster, ending in "/".
	Prefix string `toml:"prefix"`
	// CA is the cluster CA's certificate; Cert and Key are this member's
	// certificate and private key (PEM). Every connection to a storage
	// node, and to etcd unless its endpoint is an http:// URL, is mutual
	// TLS with them.
	CA   string `toml:"ca"`
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
	// KVSocket is the unix socket on which `carrot up` serves etcd's
	// key-value calls to clients on its machine (internal/kvsock): from
	// another process a stat costs a quarter, a write half to two thirds,
	// of what it costs through etcd's gRPC (docs/benchmarks.md). DialEtcd
	// uses it when it is there and accepts the token, and gRPC otherwise (a
	// config copied to another machine).
	KVSocket string `toml:"kv_socket,omitempty"`
}

// DefaultPrefix is the etcd key prefix used when the file names none.
const DefaultPrefix = "/carrot/"

// DataDir is the user's carrot data directory: $XDG_DATA_HOME/carrot or
// ~/.local/share/carrot.
func DataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "carrot")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "carrot")
	}
	return filepath.Join(home, ".local", "share", "carrot")
}

// DefaultPath is where carrot up writes the config by default.
func DefaultPath() string { return filepath.Join(DataDir(), "carrot.toml") }

// Locate returns the config path to use: flag, else $CARROT_CONFIG, else
// DefaultPath.
func Locate(flag string) string {
	if flag != "" {
		return flag
	}
	if env := os.Getenv("CARROT_CONFIG"); env != "" {
		return env
	}
	return DefaultPath()
}

// Load reads and checks a config file.
func Load(path string) (*File, error) {
	var f File
	md, err := toml.DecodeFile(path, &f)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no cluster config at %s (start one with 'carrot up', or pass --config / set CARROT_CONFIG): %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("reading cluster config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("cluster config %s: unknown key %q", path, und[0].String())
	}
	if err := f.Check(); err != nil {
		return nil, fmt.Errorf("cluster config %s: %w", path, err)
	}
	return &f, nil
}

// Check fills defaults and validates.
func (f *File) Check() error {
	if f.Prefix == "" {
		f.Prefix = DefaultPrefix
	}
	if !strings.HasSuffix(f.Prefix, "/") {
		f.Prefix += "/"
	}
	if len(f.EtcdEndpoints) == 0 {
		return errors.New("etcd_endpoints is empty")
	}
	if f.Token == "" {
		return errors.New("token is empty")
	}
	if f.CA == "" || f.Cert == "" || f.Key == "" {
		return errors.New("no TLS credentials (ca, cert, key): a config written before carrot used TLS; start 'carrot up' on its directory once to add them, then use (and copy) the new config")
	}
	if err := CheckMember([]byte(f.CA), []byte(f.Cert), []byte(f.Key), 0); err != nil {
		return err
	}
	return nil
}

// Save writes the config with mode 0600 (it holds secrets), atomically.
func (f *File) Save(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".carrot.toml.*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	fmt.Fprintln(tmp, "# carrot storage cluster: client configuration (keep secret: it holds the cluster token and a member key)")
	if err := toml.NewEncoder(tmp).Encode(f); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// NewToken returns a random 256-bit token in hex.
func NewToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// MaxRequestBytes is the largest etcd request carrot's clients send, and
// what `carrot up`'s etcd accepts (etcd's own default is 1.5 MiB): a
// file's metadata, its whole chunk list, is one request, so this bounds a
// file to about 115,000 chunks (460 GiB at the default 4 MiB chunk).
const MaxRequestBytes = 8 << 20

// DialEtcd connects to the config's etcd and checks it answers. opts are
// extra gRPC dial options (interceptors that count calls, for instance).
func (f *File) DialEtcd(ctx context.Context, opts ...grpc.DialOption) (*clientv3.Client, error) {
	tc, err := f.TLSConfig()
	if err != nil {
		return nil, err
	}
	cli, err := clientv3.New(clientv3.Config{
		TLS:         tc,
		DialOptions: opts,
		Endpoints:   f.EtcdEndpoints,
		Username:    f.EtcdUsername,
		Password:    f.EtcdPassword,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
		Context:     ctx,
		// gRPC's default, 2 MiB, would refuse a request the server takes;
		// etcd allows 512 KiB of gRPC's own bytes beyond its limit.
		MaxCallSendMsgSize: MaxRequestBytes + 512<<10,
	})
	if err != nil {
		return nil, fmt.Errorf("etcd %v: %w", f.EtcdEndpoints, err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// gRPC retries a refused TLS handshake, or a refused connection, until
	// the deadline and then says only "deadline exceeded"; a probe of the
	// endpoints, in parallel, names the cause at once.
	refused := make(chan error, 1)
	// The probe may outlive DialEtcd (the answer came first): it reads its
	// own copy of the config, which the caller may change after.
	pf := *f
	pf.EtcdEndpoints = slices.Clone(f.EtcdEndpoints)
	go func() { refused <- pf.probe(cctx, tc) }()
	got := make(chan error, 1)
	go func() {
		_, err := cli.Get(cctx, f.Prefix+"params")
		got <- err
	}()
	for {
		select {
		case err = <-got:
		case err = <-refused:
			if err == nil {
				continue
			}
			cancel()
		}
		break
	}
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("etcd %v: %w", f.EtcdEndpoints, err)
	}
	if f.KVSocket != "" {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		kc, err := kvsock.Dial(sctx, f.KVSocket, f.Token, pb.NewKVClient(cli.ActiveConnection()))
		cancel()
		if errors.Is(err, kvsock.ErrRefused) {
			// carrot up's own socket, which does not take this config's
			// token: its storage nodes will not either.
			cli.Close()
			return nil, fmt.Errorf("%w (is this config from this cluster?)", err)
		}
		if err == nil {
			cli.KV = clientv3.NewKVFromKVClient(kc, cli)
			// Client.Close closes its Watcher: the socket's connections
			// go with it.
			cli.Watcher = closingWatcher{cli.Watcher, kc}
		}
	}
	return cli, nil
}

type closingWatcher struct {
	clientv3.Watcher
	also io.Closer
}

func (w closingWatcher) Close() error {
	w.also.Close()
	return w.Watcher.Close()
}

// probeTLS opens one TLS connection to addr and reports a refusal of
// either side's certificate (nil if none is seen within a second of the
// handshake, or if the address cannot be reached: the caller's own
// request reports that).
// probe returns why etcd cannot be reached, when a probe can tell: the
// first TLS endpoint refuses our certificate, or every endpoint refuses
// the connection (nothing listens: no carrot up, or another port). nil when
// it cannot tell.
func (f *File) probe(ctx context.Context, tc *tls.Config) error {
	down := 0
	for i, ep := range f.EtcdEndpoints {
		if strings.HasPrefix(ep, "unix") {
			return nil
		}
		addr := strings.TrimPrefix(strings.TrimPrefix(ep, "https://"), "http://")
		if i == 0 && !strings.HasPrefix(ep, "http://") {
			err := probeTLS(ctx, addr, tc)
			if errors.Is(err, syscall.ECONNREFUSED) {
				down++
			} else if err != nil {
				return err // our certificate refused
			}
			continue
		}
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			down++
		}
	}
	if down == len(f.EtcdEndpoints) {
		what := "etcd"
		if f.KVSocket != "" {
			what = "carrot up" // the embedded member: its socket is in the config
		}
		return fmt.Errorf("connection refused at every endpoint (is %s running?): %w", what, syscall.ECONNREFUSED)
	}
	return nil
}

// probeTLS dials addr with tc: a TLS refusal of our certificate is an
// error, and so is a refused connection; anything else (a slow or silent
// endpoint) is nil.
func probeTLS(ctx context.Context, addr string, tc *tls.Config) error {
	d := tls.Dialer{Config: tc}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		// TLS 1.3: a server that refuses our certificate says so with an
		// alert after our side of the handshake is done.
		conn.SetReadDeadline(time.Now().Add(time.Second))
		_, err = conn.Read(make([]byte, 1))
		conn.Close()
	}
	var alert tls.AlertError
	var verr *tls.CertificateVerificationError
	if errors.As(err, &alert) || errors.As(err, &verr) {
		return fmt.Errorf("TLS handshake refused (is this config from this cluster, and its certificate current?): %w", err)
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return err
	}
	return nil
}
