package embedded

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
)

// Etcd is one embedded etcd member serving clients on loopback.
type Etcd struct {
	e        *embed.Etcd
	Endpoint string // host:port for clients
}

// StartEtcd starts a single-member etcd persisting in dir, serving clients
// on 127.0.0.1:clientPort (0 picks a free port; a restarted member reuses
// the port it had, recorded in dir/client-port, so configs stay valid).
func StartEtcd(ctx context.Context, dir string, clientPort int) (*Etcd, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	portFile := filepath.Join(dir, "client-port")
	if clientPort == 0 {
		if b, err := os.ReadFile(portFile); err == nil {
			fmt.Sscan(string(b), &clientPort)
		}
	}
	if clientPort == 0 {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		clientPort = p
	}
	peerPort, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg := embed.NewConfig()
	cfg.Name = "carrot"
	cfg.Dir = filepath.Join(dir, "member-data")
	cu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", clientPort))
	pu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", peerPort))
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	// The peer URL is only advertised to itself: a single member never
	// talks to peers, so a changed port on restart is harmless.
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "error"
	cfg.Logger = "zap"
	cfg.LogOutputs = []string{filepath.Join(dir, "etcd.log")}
	// Keep an hour of history for watchers, then compact.
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "1h"
	cfg.QuotaBackendBytes = 8 << 30
	cfg.MaxRequestBytes = 8 << 20
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	// etcd's grpc logs go to the standard logger on some paths.
	log.SetOutput(io.Discard)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("embedded etcd: not ready after 60s")
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	os.WriteFile(portFile, []byte(fmt.Sprint(clientPort)), 0o600)
	return &Etcd{e: e, Endpoint: fmt.Sprintf("127.0.0.1:%d", clientPort)}, nil
}

// Client returns a new client of the member.
func (e *Etcd) Client() (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{Endpoints: []string{e.Endpoint}, DialTimeout: 5 * time.Second})
}

// Close stops the member.
func (e *Etcd) Close() {
	e.e.Close()
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
