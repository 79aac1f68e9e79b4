package embedded

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/carrot-project/carrot/internal/clusterconf"
	"github.com/carrot-project/carrot/internal/kvsock"
	"github.com/carrot-project/carrot/internal/meta"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

func tctx(t *testing.T, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

// tryEtcd makes one request with a client built from cfg and returns its
// error (nil: etcd answered).
func tryEtcd(t *testing.T, cfg clientv3.Config) error {
	t.Helper()
	cfg.DialTimeout = time.Second
	cfg.Logger = zap.NewNop()
	cli, err := clientv3.New(cfg)
	if err != nil {
		return err
	}
	defer cli.Close()
	_, err = cli.Get(tctx(t, 1500*time.Millisecond), "/carrot/params")
	return err
}

// TestEtcdRefusesUnauthenticated: the embedded etcd answers only clients
// presenting a certificate of the cluster CA, on the client and the peer
// port, over gRPC and plain HTTP.
func TestEtcdRefusesUnauthenticated(t *testing.T) {
	e, conf, err := StartEtcdConf(tctx(t, time.Minute), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if !strings.HasPrefix(e.Endpoint, "https://127.0.0.1:") {
		t.Fatalf("endpoint %s", e.Endpoint)
	}
	hostport := strings.TrimPrefix(e.Endpoint, "https://")
	good, err := conf.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := tryEtcd(t, clientv3.Config{Endpoints: []string{e.Endpoint}, TLS: good}); err != nil {
		t.Fatalf("member refused: %v", err)
	}
	noCert := good.Clone()
	noCert.Certificates = nil
	foreignConf := &clusterconf.File{}
	foreignConf.CA, foreignConf.Cert, foreignConf.Key = readTLS(t, filepath.Join(t.TempDir(), "foreign"))
	foreign, err := foreignConf.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	foreign.InsecureSkipVerify = true // even trusting the server, its own cert is foreign
	for name, cfg := range map[string]clientv3.Config{
		"plaintext":       {Endpoints: []string{"http://" + hostport}},
		"TLS, no cert":    {Endpoints: []string{e.Endpoint}, TLS: noCert},
		"other CA's cert": {Endpoints: []string{e.Endpoint}, TLS: foreign},
		"password only":   {Endpoints: []string{e.Endpoint}, TLS: noCert, Username: "root", Password: "root"},
	} {
		if err := tryEtcd(t, cfg); err == nil {
			t.Errorf("%s: etcd answered", name)
		}
	}
	// etcd's HTTP services (/version, /metrics, /v3 JSON) on their own
	// port, and plain HTTP to the gRPC port.
	for name, tc := range map[string]*tls.Config{"https, no cert": {InsecureSkipVerify: true}, "https, foreign cert": foreign} {
		hc := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
		for _, u := range []string{e.HTTPEndpoint + "/version", e.PeerEndpoint + "/members", e.PeerEndpoint + "/version"} {
			if resp, err := hc.Get(u); err == nil {
				resp.Body.Close()
				t.Errorf("%s: %s answered %s", name, u, resp.Status)
			}
		}
	}
	hc := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: good}}
	for _, u := range []string{e.HTTPEndpoint + "/version", e.PeerEndpoint + "/members"} {
		resp, err := hc.Get(u)
		if err != nil {
			t.Fatalf("member over https, %s: %v", u, err)
		}
		resp.Body.Close()
	}
	for _, u := range []string{"http://" + hostport + "/version", "http://" + strings.TrimPrefix(e.HTTPEndpoint, "https://") + "/version",
		"http://" + strings.TrimPrefix(e.PeerEndpoint, "https://") + "/members"} {
		if resp, err := (&http.Client{Timeout: 3 * time.Second}).Get(u); err == nil && resp.StatusCode == 200 {
			t.Errorf("plain http %s answered", u)
		}
	}
}

func readTLS(t *testing.T, dir string) (string, string, string) {
	ca, cert, key, err := clusterconf.EnsureTLS(dir)
	if err != nil {
		t.Fatal(err)
	}
	return string(ca), string(cert), string(key)
}

// TestStartUpgradesOldConfig: a directory whose carrot.toml predates TLS
// keeps its token and prefix and gets TLS credentials; the config is 0600.
func TestStartUpgradesOldConfig(t *testing.T) {
	dir := t.TempDir()
	old := "# old\netcd_endpoints = [\"127.0.0.1:1\"]\ntoken = \"old-token\"\nprefix = \"/kept/\"\n"
	if err := os.WriteFile(filepath.Join(dir, "carrot.toml"), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	p := meta.DefaultParams()
	p.Replicas = 1
	c, err := Start(tctx(t, time.Minute), Options{Dir: dir, Nodes: 1, Params: p})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conf, err := clusterconf.Load(c.ConfPath)
	if err != nil {
		t.Fatal(err)
	}
	if conf.Token != "old-token" || conf.Prefix != "/kept/" || conf.EtcdEndpoints[0] != c.Etcd.Endpoint {
		t.Fatalf("config %+v", conf)
	}
	st, _ := os.Stat(c.ConfPath)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("config mode %v", st.Mode())
	}
	var raw map[string]any
	if _, err := toml.DecodeFile(c.ConfPath, &raw); err != nil || raw["key"] == nil {
		t.Fatalf("no key in config: %v", err)
	}
	// The written config works from another "process": a real TLS client.
	cli, err := conf.DialEtcd(tctx(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	cli.Close()
}

// TestKVSocket: a client of the written config sends its KV calls through
// the cluster's socket (watches still work, over gRPC); a config whose
// socket is missing, or whose token the socket refuses, still works over
// gRPC; a restart on the same directory replaces the stale socket.
func TestKVSocket(t *testing.T) {
	dir := t.TempDir()
	for round := range 2 {
		c, err := Start(tctx(t, time.Minute), Options{Dir: dir})
		if err != nil {
			t.Fatalf("start %d: %v", round, err)
		}
		conf, err := clusterconf.Load(c.ConfPath)
		if err != nil {
			c.Close()
			t.Fatal(err)
		}
		if conf.KVSocket != filepath.Join(dir, "kv.sock") || c.KVServer == nil {
			c.Close()
			t.Fatalf("start %d: kv_socket %q", round, conf.KVSocket)
		}
		ctx := tctx(t, 20*time.Second)
		cli, err := conf.DialEtcd(ctx)
		if err != nil {
			c.Close()
			t.Fatal(err)
		}
		wch := cli.Watch(ctx, "/sock/", clientv3.WithPrefix())
		before := c.KVServer.Served()
		if _, err := cli.Put(ctx, "/sock/k", fmt.Sprint(round)); err != nil {
			t.Fatal(err)
		}
		if r, err := cli.Get(ctx, "/sock/k"); err != nil || string(r.Kvs[0].Value) != fmt.Sprint(round) {
			t.Fatalf("get: %v %v", r, err)
		}
		if n := c.KVServer.Served() - before; n != 2 {
			t.Errorf("start %d: the socket served %d of 2 calls", round, n)
		}
		select {
		case w := <-wch:
			if len(w.Events) != 1 {
				t.Errorf("watch: %+v", w)
			}
		case <-ctx.Done():
			t.Error("no watch event")
		}
		cli.Close()

		// A config whose socket is not there (copied to another machine)
		// uses gRPC; one whose token the socket refuses is refused, with
		// the socket's reason.
		other := *conf
		other.KVSocket = filepath.Join(dir, "none.sock")
		before = c.KVServer.Served()
		cli, err = other.DialEtcd(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cli.Put(ctx, "/sock/k", "grpc"); err != nil {
			t.Fatal(err)
		}
		cli.Close()
		if n := c.KVServer.Served() - before; n != 0 {
			t.Errorf("a client with kv_socket %q used the socket", other.KVSocket)
		}
		other = *conf
		other.Token = "another-cluster"
		if cli, err := other.DialEtcd(ctx); !errors.Is(err, kvsock.ErrRefused) || !strings.Contains(err.Error(), "wrong cluster token") {
			if err == nil {
				cli.Close()
			}
			t.Errorf("a client with another cluster's token: %v", err)
		}
		c.Close()
	}
}
