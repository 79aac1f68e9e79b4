package kvsock_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"

	"github.com/carrot-project/carrot/internal/cluster/embedded"
	"github.com/carrot-project/carrot/internal/clusterconf"
	"github.com/carrot-project/carrot/internal/kvsock"
)

// The child half of TestRefusesOtherUsers: dial as another user.
func TestMain(m *testing.M) {
	if path := os.Getenv("KVSOCK_TEST_FAKE_SERVER"); path != "" {
		// Accept one connection, say "ok", and report what the client
		// sent before it hung up.
		ln, err := net.Listen("unix", path)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		os.Chmod(path, 0o666)
		fmt.Println("listening")
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		c.Write([]byte{0})
		b, _ := io.ReadAll(c)
		fmt.Printf("received %d bytes\n", len(b))
		os.Exit(0)
	}
	if path := os.Getenv("KVSOCK_TEST_DIAL"); path != "" {
		_, err := kvsock.Dial(context.Background(), path, os.Getenv("KVSOCK_TEST_TOKEN"), nil)
		fmt.Println(err)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type fixture struct {
	conf        *clusterconf.File
	member      pb.KVClient
	stop        func() // stops the server (and waits for it)
	sock, token string
	srv         *kvsock.Server
	logs        *bytes.Buffer
	logMu       *sync.Mutex
}

// start runs an embedded etcd member and a kvsock server for it, its
// socket in sockDir (default: the member's directory).
func start(t *testing.T, sockDir ...string) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	e, conf, err := embedded.StartEtcdConf(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	if len(sockDir) > 0 {
		dir = sockDir[0]
	}
	f := &fixture{sock: filepath.Join(dir, "kv.sock"), token: conf.Token, logs: &bytes.Buffer{}, logMu: &sync.Mutex{}}
	ln, err := kvsock.Listen(f.sock)
	if err != nil {
		t.Fatal(err)
	}
	f.conf, f.member = conf, e.KVClient()
	f.srv = &kvsock.Server{KV: e.KVClient(), Token: conf.Token, LocalReads: e.SingleMember, Logf: func(format string, args ...any) {
		f.logMu.Lock()
		defer f.logMu.Unlock()
		fmt.Fprintf(f.logs, format+"\n", args...)
	}}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Serve(sctx, ln) }()
	var once sync.Once
	f.stop = func() {
		once.Do(func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(f.stop)
	return f
}

func (f *fixture) kv(t *testing.T) clientv3.KV {
	t.Helper()
	kc, err := kvsock.Dial(context.Background(), f.sock, f.token, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kc.Close() })
	return clientv3.NewKVFromKVClient(kc, nil)
}

func tctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestKV runs etcd's KV calls through the socket, with etcd's own errors.
func TestKV(t *testing.T) {
	f := start(t)
	kv := f.kv(t)
	ctx := tctx(t)
	for i := range 3 {
		if _, err := kv.Put(ctx, fmt.Sprintf("/d/k%d", i), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	r, err := kv.Get(ctx, "/d/", clientv3.WithPrefix())
	if err != nil || len(r.Kvs) != 3 || string(r.Kvs[2].Value) != "2" {
		t.Fatalf("get prefix: %v %v", r, err)
	}
	// a transaction, both branches
	for _, want := range []bool{true, false} {
		tr, err := kv.Txn(ctx).If(clientv3.Compare(clientv3.Value("/d/k0"), "=", "0")).
			Then(clientv3.OpPut("/d/then", "x")).Else(clientv3.OpGet("/d/k1")).Commit()
		if err != nil || tr.Succeeded != want {
			t.Fatalf("txn: succeeded %v, err %v; want %v", tr.Succeeded, err, want)
		}
		if _, err := kv.Put(ctx, "/d/k0", "changed"); err != nil {
			t.Fatal(err)
		}
	}
	d, err := kv.Delete(ctx, "/d/", clientv3.WithPrefix())
	if err != nil || d.Deleted != 4 {
		t.Fatalf("delete: %v %v", d, err)
	}
	// etcd's errors come back as etcd's errors
	if _, err := kv.Compact(ctx, d.Header.Revision); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx, "/d/k1", clientv3.WithRev(d.Header.Revision-2)); !errors.Is(err, rpctypes.ErrCompacted) {
		t.Errorf("get at a compacted revision: %v, want %v", err, rpctypes.ErrCompacted)
	}
	if _, err := kv.Put(ctx, "/big", strings.Repeat("x", 9<<20)); !errors.Is(err, rpctypes.ErrRequestTooLarge) {
		t.Errorf("9 MiB put: %v, want %v", err, rpctypes.ErrRequestTooLarge)
	}
	ops := make([]clientv3.Op, 200)
	for i := range ops {
		ops[i] = clientv3.OpPut(fmt.Sprint("/ops/", i), "")
	}
	if _, err := kv.Txn(ctx).Then(ops...).Commit(); !errors.Is(err, rpctypes.ErrTooManyOps) {
		t.Errorf("200-op txn: %v, want %v", err, rpctypes.ErrTooManyOps)
	}
	// the connection that carried errors still works
	if _, err := kv.Put(ctx, "/after", "ok"); err != nil {
		t.Fatal(err)
	}
	// an expired context fails at once
	dctx, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()
	if _, err := kv.Get(dctx, "/after"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("expired context: %v", err)
	}
	if f.srv.Served() < 10 {
		t.Errorf("server answered %d calls", f.srv.Served())
	}
}

// TestConcurrent: many goroutines share one client's connections.
func TestConcurrent(t *testing.T) {
	f := start(t)
	kv := f.kv(t)
	ctx := tctx(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprint("/c/", g)
			for i := range 40 {
				r, err := kv.Txn(ctx).If(clientv3.Compare(clientv3.Version(key), "=", int64(i))).
					Then(clientv3.OpPut(key, fmt.Sprint(i))).Commit()
				if err != nil || !r.Succeeded {
					errs <- fmt.Errorf("%s step %d: %v %v", key, i, r, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	r, err := kv.Get(ctx, "/c/", clientv3.WithPrefix())
	if err != nil || len(r.Kvs) != 16 {
		t.Fatalf("%v %v", r, err)
	}
	for _, k := range r.Kvs {
		if k.Version != 40 {
			t.Errorf("%s: version %d, want 40", k.Key, k.Version)
		}
	}
}

// TestRefusals: a wrong token, a stranger's protocol, and a second server
// on a live socket are refused.
func TestRefusals(t *testing.T) {
	f := start(t)
	if _, err := kvsock.Dial(context.Background(), f.sock, "not-the-token", nil); !errors.Is(err, kvsock.ErrRefused) || !strings.Contains(err.Error(), "wrong cluster token") {
		t.Errorf("wrong token: %v", err)
	}
	c, err := net.Dial("unix", f.sock)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	c.SetDeadline(time.Now().Add(10 * time.Second))
	b, _ := io.ReadAll(c)
	c.Close()
	if !bytes.Contains(b, []byte("not a kvsock client")) {
		t.Errorf("HTTP request answered %q", b)
	}
	if _, err := kvsock.Listen(f.sock); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("second Listen on a live socket: %v", err)
	}
	if _, err := kvsock.Dial(context.Background(), filepath.Join(t.TempDir(), "none.sock"), f.token, nil); err == nil || errors.Is(err, kvsock.ErrRefused) {
		t.Error("dial of a missing socket succeeded")
	}
	f.logMu.Lock()
	logs := f.logs.String()
	f.logMu.Unlock()
	for _, want := range []string{"wrong cluster token", "not a kvsock client"} {
		if !strings.Contains(logs, want) {
			t.Errorf("server log lacks %q:\n%s", want, logs)
		}
	}
	fi, err := os.Stat(f.sock)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, %v; want 0600", fi.Mode(), err)
	}
}

// TestRefusesOtherUsers: even with the token and a socket others may
// open, a process of another user is refused (SO_PEERCRED).
func TestRefusesOtherUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a process as another user")
	}
	cmd, open := asNobody(t)
	f := start(t, open)
	os.Chmod(f.sock, 0o666)
	cmd.Env = append(cmd.Env, "KVSOCK_TEST_DIAL="+f.sock, "KVSOCK_TEST_TOKEN="+f.token)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "uid 65534") {
		t.Errorf("dial as uid 65534: %v: %s", err, out)
	}
}

// rawConn is a connection past a good hello, for writing frames by hand.
func rawConn(t *testing.T, f *fixture) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", f.sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	h := binary.BigEndian.AppendUint16([]byte("CKV1"), uint16(len(f.token)))
	c.Write(append(h, f.token...))
	var ok [1]byte
	if _, err := io.ReadFull(c, ok[:]); err != nil || ok[0] != 0 {
		t.Fatalf("hello: %v %v", ok, err)
	}
	return c
}

func frame(head byte, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(1+len(body)))
	return append(append(b, head), body...)
}

// TestMalformed: bad requests get an error answer, bad frames end the
// connection, and the server keeps serving others.
func TestMalformed(t *testing.T) {
	f := start(t)
	for _, tc := range []struct {
		name string
		in   []byte
		code codes.Code // 0: the connection must be closed
	}{
		{"unknown method", frame(99, nil), codes.Unimplemented},
		{"garbage protobuf", frame(1, []byte{0xff, 0xff, 0xff}), codes.InvalidArgument},
		{"empty frame", []byte{0, 0, 0, 0}, 0},
		{"huge frame", []byte{0x7f, 0xff, 0xff, 0xff, 1}, 0},
	} {
		c := rawConn(t, f)
		c.Write(tc.in)
		var l [4]byte
		_, err := io.ReadFull(c, l[:])
		if tc.code == 0 {
			if err == nil {
				t.Errorf("%s: answered", tc.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		body := make([]byte, binary.BigEndian.Uint32(l[:]))
		io.ReadFull(c, body)
		if body[0] != 1 || len(body) < 5 || codes.Code(binary.BigEndian.Uint32(body[1:5])) != tc.code {
			t.Errorf("%s: answer %q, want an error with code %v", tc.name, body, tc.code)
		}
	}
	kv := f.kv(t)
	if _, err := kv.Put(tctx(t), "/still", "serving"); err != nil {
		t.Fatal(err)
	}
}

// TestLocalReadsSeeAcknowledgedWrites: with LocalReads (a single member),
// a read through the socket sees every write another client was told of,
// with a read that starts after the acknowledgment: in a transaction too.
func TestLocalReadsSeeAcknowledgedWrites(t *testing.T) {
	f := start(t)
	if !f.srv.LocalReads() {
		t.Fatal("an embedded member is not single")
	}
	ctx := tctx(t)
	grpcConf := *f.conf
	grpcConf.KVSocket = ""
	writer, err := grpcConf.DialEtcd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	kv := f.kv(t)
	for i := range 300 {
		want := fmt.Sprint(i)
		if _, err := writer.Put(ctx, "/lin", want); err != nil {
			t.Fatal(err)
		}
		var got string
		if i%2 == 0 {
			r, err := kv.Get(ctx, "/lin")
			if err != nil || len(r.Kvs) != 1 {
				t.Fatalf("get: %v %v", r, err)
			}
			got = string(r.Kvs[0].Value)
		} else {
			r, err := kv.Txn(ctx).Then(clientv3.OpGet("/lin")).Commit()
			if err != nil {
				t.Fatal(err)
			}
			got = string(r.Responses[0].GetResponseRange().Kvs[0].Value)
		}
		if got != want {
			t.Fatalf("write %d acknowledged, then read %q", i, got)
		}
	}
}

// asNobody returns a command running this test binary as uid 65534, from a
// copy in a directory that user may enter, and that directory.
func asNobody(t *testing.T, env ...string) (*exec.Cmd, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a process as another user")
	}
	open, err := os.MkdirTemp("", "kvsock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(open) })
	os.Chmod(open, 0o777)
	self, _ := os.Executable()
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(open, "kvsock.test")
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	return cmd, open
}

// TestClientChecksServer: a socket another user made at the path gets
// neither the token nor the client's calls.
func TestClientChecksServer(t *testing.T) {
	cmd, dir := asNobody(t)
	sock := filepath.Join(dir, "kv.sock")
	cmd.Env = append(cmd.Env, "KVSOCK_TEST_FAKE_SERVER="+sock)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	r := bufio.NewReader(out)
	if l, err := r.ReadString('\n'); err != nil || l != "listening\n" {
		t.Fatalf("fake server: %q %v", l, err)
	}
	_, err = kvsock.Dial(context.Background(), sock, "the-cluster-token", nil)
	if err == nil || !strings.Contains(err.Error(), "uid 65534") {
		t.Errorf("dial of another user's socket: %v", err)
	}
	rest, _ := io.ReadAll(r)
	cmd.Wait()
	if string(rest) != "received 0 bytes\n" {
		t.Errorf("the fake server got: %q", rest)
	}
}

// TestServerRestart: after the server restarts, the client's pooled
// connections are dead; calls go on without an error.
func TestServerRestart(t *testing.T) {
	f := start(t)
	kv := f.kv(t)
	ctx := tctx(t)
	var wg sync.WaitGroup
	for i := range 8 { // fill the pool with several connections
		wg.Add(1)
		go func() {
			defer wg.Done()
			kv.Put(ctx, fmt.Sprint("/r/", i), "x")
		}()
	}
	wg.Wait()
	// A second server on the same path, once the first is gone.
	f.stop()
	ln, err := kvsock.Listen(f.sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &kvsock.Server{KV: f.member, Token: f.token}
	sctx, stop := context.WithCancel(context.Background())
	defer stop()
	go srv.Serve(sctx, ln)
	for i := range 20 {
		if _, err := kv.Put(ctx, "/r/after", fmt.Sprint(i)); err != nil {
			t.Fatalf("put %d after the restart: %v", i, err)
		}
	}
}

// TestDeadlines: a call whose deadline passes reports the context's error,
// whichever timer noticed first.
func TestDeadlines(t *testing.T) {
	f := start(t)
	kv := f.kv(t)
	failed := 0
	for range 200 {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Microsecond)
		_, err := kv.Get(ctx, "/d")
		cancel()
		if err != nil {
			failed++
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("get with a 50µs deadline: %v", err)
			}
		}
	}
	if failed == 0 {
		t.Skip("no call ran out of time")
	}
}
