// Package clusterconf reads and writes the client configuration of a
// storage cluster (carrot.toml): where etcd is, the credentials for it, the
// cluster token every storage node demands, and the etcd key prefix that
// holds the cluster. `carrot up` writes one; every client command finds it
// through --config, then $CARROT_CONFIG, then DefaultPath.
//
// Everything else a cluster's members must agree on (replicas, chunk size,
// grace periods) is not here but in etcd (meta.Params), so it cannot
// disagree between clients.
package clusterconf

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
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
	fmt.Fprintln(tmp, "# carrot storage cluster: client configuration (keep secret: it holds the cluster token)")
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

// DialEtcd connects to the config's etcd and checks it answers. opts are
// extra gRPC dial options (interceptors that count calls, for instance).
func (f *File) DialEtcd(ctx context.Context, opts ...grpc.DialOption) (*clientv3.Client, error) {
	cli, err := clientv3.New(clientv3.Config{
		DialOptions: opts,
		Endpoints:   f.EtcdEndpoints,
		Username:    f.EtcdUsername,
		Password:    f.EtcdPassword,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
		Context:     ctx,
	})
	if err != nil {
		return nil, fmt.Errorf("etcd %v: %w", f.EtcdEndpoints, err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cli.Get(cctx, f.Prefix+"params"); err != nil {
		cli.Close()
		return nil, fmt.Errorf("etcd %v: %w", f.EtcdEndpoints, err)
	}
	return cli, nil
}
