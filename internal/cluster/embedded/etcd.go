package embedded

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/carrot-project/carrot/internal/clusterconf"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3rpc"
	"go.etcd.io/etcd/server/v3/proxy/grpcproxy/adapter"
)

// Etcd is one embedded etcd member serving clients on loopback.
type Etcd struct {
	e            *embed.Etcd
	Endpoint     string // https://host:port for clients (gRPC)
	HTTPEndpoint string // https://host:port of etcd's HTTP services
	PeerEndpoint string // https://host:port of the (unused) peer port
}

// StartEtcd starts a single-member etcd persisting in dir, serving clients
// on https://127.0.0.1:clientPort (0 picks a free port; a restarted member
// reuses the port it had, recorded in dir/client-port, so configs stay
// valid). Client and peer connections are mutual TLS with the cluster's
// member certificate: a client without a certificate signed by the cluster
// CA is refused during the handshake.
func StartEtcd(ctx context.Context, dir string, clientPort int, tlsFiles clusterconf.TLSFiles) (*Etcd, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	portFile := filepath.Join(dir, "client-port")
	if clientPort == 0 {
		if b, err := os.ReadFile(portFile); err == nil {
			fmt.Sscan(string(b), &clientPort)
		}
	}
	// Ports picked free may be taken before etcd binds them (by another
	// process's outgoing connection, from the same ephemeral range): then
	// pick again.
	for try := 1; ; try++ {
		e, err := startEtcd(ctx, dir, clientPort, tlsFiles)
		if err == nil || try == 5 || !errors.Is(err, syscall.EADDRINUSE) && !strings.Contains(err.Error(), "address already in use") {
			return e, err
		}
		select { // a port being let go of may be free a moment later
		case <-time.After(time.Duration(try) * 100 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// startEtcd is StartEtcd's one try, with clientPort read from dir if
// any, else picked free, and the other ports picked free.
func startEtcd(ctx context.Context, dir string, clientPort int, tlsFiles clusterconf.TLSFiles) (*Etcd, error) {
	portFile := filepath.Join(dir, "client-port")
	// The client port (unless given), the peer port and the HTTP port
	// (below), picked together so that no two are the same.
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	if clientPort == 0 {
		clientPort = ports[0]
	}
	peerPort, httpPort := ports[1], ports[2]
	if peerPort == clientPort || httpPort == clientPort {
		// a kept client port that a pick took too: a port in use, retried
		return nil, fmt.Errorf("port %d: %w", clientPort, syscall.EADDRINUSE)
	}
	cfg := embed.NewConfig()
	cfg.Name = "carrot"
	cfg.Dir = filepath.Join(dir, "member-data")
	cu, _ := url.Parse(fmt.Sprintf("https://127.0.0.1:%d", clientPort))
	pu, _ := url.Parse(fmt.Sprintf("https://127.0.0.1:%d", peerPort))
	ti := transport.TLSInfo{
		CertFile: tlsFiles.Cert, KeyFile: tlsFiles.CertKey, TrustedCAFile: tlsFiles.CA,
		ClientCertFile: tlsFiles.Cert, ClientKeyFile: tlsFiles.CertKey,
		ClientCertAuth: true, ServerName: clusterconf.ServerName,
	}
	cfg.ClientTLSInfo, cfg.PeerTLSInfo = ti, ti
	// HTTP (/health, /metrics, /version) on a port of its own: the client
	// port then serves gRPC alone, on gRPC's own transport. Shared with
	// HTTP over TLS, etcd serves gRPC through net/http's HTTP/2 server,
	// which made every request about 0.4 ms slower here.
	hu, _ := url.Parse(fmt.Sprintf("https://127.0.0.1:%d", httpPort))
	cfg.ListenClientHttpUrls = []url.URL{*hu}
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
	cfg.MaxRequestBytes = clusterconf.MaxRequestBytes
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
	return &Etcd{e: e, Endpoint: fmt.Sprintf("https://127.0.0.1:%d", clientPort), HTTPEndpoint: hu.String(), PeerEndpoint: pu.String()}, nil
}

// InProcessClient returns a new client of the member that calls the
// server directly, in this process: no socket, no TLS, no gRPC encoding.
// The caller closes it.
func (e *Etcd) InProcessClient() *clientv3.Client {
	return v3client.New(e.e.Server)
}

// KVClient returns the member's KV API called in this process, as
// InProcessClient's KV calls it (with the space quota enforced): what
// kvsock serves.
func (e *Etcd) KVClient() pb.KVClient {
	return adapter.KvServerToKvClient(v3rpc.NewQuotaKVServer(e.e.Server))
}

// SingleMember reports whether the member is its cluster's only one (what
// kvsock.Server.LocalReads asks at every call: a member someone added with
// etcdctl would turn it off).
func (e *Etcd) SingleMember() bool {
	return len(e.e.Server.Cluster().Members()) == 1
}

// Close stops the member. etcd's own Close first waits up to its request
// timeout (7 s) for clients' streams to end, and a separate 'carrot node'
// keeps its watches and lease stream open until it notices; then it stops
// the raft loop and closes the storage. Close gives that wait closeWait,
// long enough for connections without streams; past it, it stops the
// raft loop and closes the storage itself (the WAL and database closed,
// whatever the clients do; the listeners are closed by then, so the port
// is free) and leaves the servers to finish alone.
func (e *Etcd) Close() {
	done := make(chan struct{})
	go func() {
		e.e.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(closeWait):
		e.e.Server.Stop()
	}
}

const closeWait = time.Second

// freePorts returns n ports of 127.0.0.1 that were free, and different:
// each is held until all are picked (one picked and let go of before the
// next could come back, and etcd refuses the same port for two uses).
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// StartEtcdConf starts a member in dir as StartEtcd does (making the TLS
// material under dir/tls) and returns the client config for it, with a
// new token and the default prefix: a metadata service alone, for tests.
func StartEtcdConf(ctx context.Context, dir string) (*Etcd, *clusterconf.File, error) {
	tdir := filepath.Join(dir, "tls")
	ca, cert, key, err := clusterconf.EnsureTLS(tdir)
	if err != nil {
		return nil, nil, err
	}
	e, err := StartEtcd(ctx, filepath.Join(dir, "etcd"), 0, clusterconf.TLSPaths(tdir))
	if err != nil {
		return nil, nil, err
	}
	conf := &clusterconf.File{
		EtcdEndpoints: []string{e.Endpoint}, Token: clusterconf.NewToken(),
		CA: string(ca), Cert: string(cert), Key: string(key),
	}
	if err := conf.Check(); err != nil {
		e.Close()
		return nil, nil, err
	}
	return e, conf, nil
}
