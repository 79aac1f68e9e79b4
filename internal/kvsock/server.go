package kvsock

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// helloTimeout bounds a new connection's hello.
const helloTimeout = 5 * time.Second

// Listen makes the socket at path, mode 0600, replacing a stale one left
// by a server that is gone (a live one is not replaced: EADDRINUSE).
func Listen(path string) (*net.UnixListener, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("kvsock: %s: %w (another server is running)", path, unix.EADDRINUSE)
	}
	os.Remove(path)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("kvsock: %w", err)
	}
	// Another user who connects before the chmod is still refused by the
	// peer check; the mode (and a 0700 directory) keep them out before it.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("kvsock: %w", err)
	}
	return ln, nil
}

// Server answers KV calls with kv, typically the member's own in-process
// KV (v3rpc.NewQuotaKVServer behind an adapter, as etcd's v3client does).
type Server struct {
	KV    pb.KVClient
	Token string // the cluster token a client must present
	// Logf, when set, reports refused connections.
	Logf func(format string, args ...any)
	// LocalReads, asked at every call, says whether to serve reads from
	// the member's applied state, as etcd serves a serializable read,
	// skipping the read-index round a linearizable read makes. It must
	// say yes only while the member is its cluster's only one: then it
	// leads alone, and etcd answers a write only once it is applied, so
	// the applied state holds every write any client has been told of —
	// the read is as linearizable as the round would make it. With more
	// members a follower's state may be behind. nil: never.
	LocalReads func() bool

	served atomic.Int64
}

// Served is how many calls the server has answered.
func (s *Server) Served() int64 { return s.served.Load() }

// Serve accepts connections on ln until ctx ends, then closes ln and every
// connection and waits for their calls to finish.
func (s *Server) Serve(ctx context.Context, ln *net.UnixListener) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[*net.UnixConn]bool{}
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	defer stop()
	defer wg.Wait()
	var delay time.Duration // backoff after a failed accept
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of descriptors or memory, for instance: wait and go
			// on, as net/http does, rather than stop serving.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.logf("kvsock: accept: %v; again in %v", err, delay)
			select {
			case <-time.After(delay):
				continue
			case <-ctx.Done():
				return nil
			}
		}
		delay = 0
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			c.Close()
			return nil
		}
		conns[c] = true
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(ctx, c)
			c.Close()
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
		}()
	}
}

func (s *Server) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

// peerAllowed reports whether c's peer is this process's user or root.
func peerAllowed(c *net.UnixConn) (bool, string) {
	raw, err := c.SyscallConn()
	if err != nil {
		return false, err.Error()
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return false, err.Error()
	}
	if cerr != nil {
		return false, cerr.Error()
	}
	if cred.Uid == 0 || int(cred.Uid) == os.Geteuid() {
		return true, ""
	}
	return false, fmt.Sprintf("uid %d (pid %d) is neither this process's user nor root", cred.Uid, cred.Pid)
}

func (s *Server) hello(c *net.UnixConn) error {
	c.SetDeadline(time.Now().Add(helloTimeout))
	defer c.SetDeadline(time.Time{})
	refuse := func(why string) error {
		msg := []byte("refused: " + why)
		b := append([]byte{1}, binary.BigEndian.AppendUint16(nil, uint16(len(msg)))...)
		c.Write(append(b, msg...))
		return errors.New(why)
	}
	// The hello is read before any refusal, so that a refused client
	// finds the reason, not a broken pipe, when it looks for the answer.
	var h [6]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return err
	}
	if string(h[:4]) != magic {
		return refuse("not a kvsock client")
	}
	n := int(binary.BigEndian.Uint16(h[4:]))
	if n > maxToken {
		return refuse("token too long")
	}
	tok := make([]byte, n)
	if _, err := io.ReadFull(c, tok); err != nil {
		return err
	}
	if ok, why := peerAllowed(c); !ok {
		return refuse(why)
	}
	if subtle.ConstantTimeCompare(tok, []byte(s.Token)) != 1 {
		return refuse("wrong cluster token")
	}
	_, err := c.Write([]byte{0})
	return err
}

func (s *Server) serveConn(ctx context.Context, c *net.UnixConn) {
	if err := s.hello(c); err != nil {
		s.logf("kvsock: connection refused: %v", err)
		return
	}
	var in, out []byte
	for {
		head, body, grown, err := readFrame(c, in, maxRequest)
		in = grown
		if err != nil {
			return // EOF: the client is done; anything else ends it too
		}
		resp, err := s.call(ctx, method(head), body)
		s.served.Add(1)
		if err == nil {
			if out, err = messageFrame(out, answerOK, resp, false); err == nil {
				if sendFrame(c, out) != nil {
					return
				}
				continue
			}
		}
		if out, err = writeFrame(c, out, answerErr, errorBody(err)); err != nil {
			return
		}
	}
}

func (s *Server) call(ctx context.Context, m method, body []byte) (proto.Message, error) {
	req := newRequest(m)
	if req == nil {
		return nil, status.Errorf(codes.Unimplemented, "kvsock: unknown method %d", m)
	}
	if err := proto.Unmarshal(body, req); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "kvsock: %v", err)
	}
	if s.LocalReads != nil && s.LocalReads() {
		localReads(req)
	}
	switch r := req.(type) {
	case *pb.RangeRequest:
		return s.KV.Range(ctx, r)
	case *pb.PutRequest:
		return s.KV.Put(ctx, r)
	case *pb.DeleteRangeRequest:
		return s.KV.DeleteRange(ctx, r)
	case *pb.TxnRequest:
		return s.KV.Txn(ctx, r)
	default:
		return s.KV.Compact(ctx, r.(*pb.CompactionRequest))
	}
}

// localReads marks every range in req serializable: the request itself, or
// each range of a transaction, nested ones included (a transaction with
// writes goes through raft whatever its ranges say).
func localReads(req proto.Message) {
	switch r := req.(type) {
	case *pb.RangeRequest:
		r.Serializable = true
	case *pb.TxnRequest:
		for _, ops := range [][]*pb.RequestOp{r.Success, r.Failure} {
			for _, op := range ops {
				switch o := op.Request.(type) {
				case *pb.RequestOp_RequestRange:
					o.RequestRange.Serializable = true
				case *pb.RequestOp_RequestTxn:
					localReads(o.RequestTxn)
				}
			}
		}
	}
}
