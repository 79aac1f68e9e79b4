package kvsock

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// ErrRefused: the server said no to the hello (a wrong cluster token, a
// user not allowed), with its reason.
var ErrRefused = errors.New("the server refused this client")

// maxIdle bounds the connections a Client keeps open between calls.
const maxIdle = 32

// Client is a pb.KVClient over the socket: clientv3.NewKVFromKVClient
// makes it an etcd KV. Each call takes an idle connection (or opens one)
// and gives it back when the answer has been read; a call that ends early
// (its context, a broken connection) closes its connection instead, since
// an answer may still be on its way. Safe for concurrent use.
type Client struct {
	path, token string
	// Fallback serves what the socket does not carry (RangeStream).
	fallback pb.KVClient

	mu     sync.Mutex
	idle   []*clientConn
	closed bool
}

type clientConn struct {
	c       *net.UnixConn
	in, out []byte // frame buffers, reused
}

// Dial connects to the socket at path with the cluster token and checks
// that the server accepts it. fallback, if not nil, serves RangeStream.
func Dial(ctx context.Context, path, token string, fallback pb.KVClient) (*Client, error) {
	k := &Client{path: path, token: token, fallback: fallback}
	cc, err := k.dial(ctx)
	if err != nil {
		return nil, err
	}
	k.put(cc)
	return k, nil
}

func (k *Client) dial(ctx context.Context) (*clientConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", k.path)
	if err != nil {
		return nil, fmt.Errorf("kvsock: %w", err)
	}
	uc := c.(*net.UnixConn)
	// The token goes only to a server of our own user or root: a socket
	// that another user made at the path (a config copied to a machine
	// where the path is theirs) gets nothing.
	if ok, why := peerAllowed(uc); !ok {
		uc.Close()
		return nil, fmt.Errorf("kvsock %s: not our server: %s", k.path, why)
	}
	if dl, ok := ctx.Deadline(); ok {
		uc.SetDeadline(dl)
	} else {
		uc.SetDeadline(time.Now().Add(helloTimeout))
	}
	fail := func(err error) (*clientConn, error) {
		uc.Close()
		return nil, fmt.Errorf("kvsock %s: %w", k.path, err)
	}
	h := binary.BigEndian.AppendUint16([]byte(magic), uint16(len(k.token)))
	_, werr := uc.Write(append(h, k.token...))
	// Even if the write failed, the server may have said why.
	var ok [1]byte
	if _, err := io.ReadFull(uc, ok[:]); err != nil {
		if werr != nil {
			return fail(werr)
		}
		return fail(err)
	}
	if ok[0] != 0 {
		var l [2]byte
		io.ReadFull(uc, l[:])
		msg := make([]byte, binary.BigEndian.Uint16(l[:]))
		io.ReadFull(uc, msg)
		return fail(fmt.Errorf("%w: %s", ErrRefused, strings.TrimPrefix(string(msg), "refused: ")))
	}
	uc.SetDeadline(time.Time{})
	return &clientConn{c: uc}, nil
}

// get returns an idle connection (reused) or a new one.
func (k *Client) get(ctx context.Context, fresh bool) (cc *clientConn, reused bool, err error) {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil, false, status.Error(codes.Canceled, "kvsock: client closed")
	}
	if n := len(k.idle); n > 0 && !fresh {
		cc := k.idle[n-1]
		k.idle = k.idle[:n-1]
		k.mu.Unlock()
		return cc, true, nil
	}
	k.mu.Unlock()
	cc, err = k.dial(ctx)
	if err != nil {
		return nil, false, callError(ctx, err)
	}
	return cc, false, nil
}

// dropIdle closes the idle connections: the server closed one, so it has
// closed them all (it restarted).
func (k *Client) dropIdle() {
	k.mu.Lock()
	idle := k.idle
	k.idle = nil
	k.mu.Unlock()
	for _, cc := range idle {
		cc.c.Close()
	}
}

// callError is the gRPC status for a failed call: the context's end as
// the context's error (a deadline the socket's timer noticed first
// included), anything else Unavailable, as gRPC reports a lost server.
func callError(ctx context.Context, err error) error {
	var timeout interface{ Timeout() bool }
	if ctx.Err() == nil && errors.As(err, &timeout) && timeout.Timeout() {
		// The socket has the context's deadline; its timer may fire a
		// moment before the context's. Wait for the context, so that the
		// caller (and clientv3) see its error.
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < time.Millisecond {
			select {
			case <-ctx.Done():
			case <-time.After(time.Until(dl) + 10*time.Millisecond):
			}
		}
	}
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	return status.Error(codes.Unavailable, err.Error())
}

func (k *Client) put(cc *clientConn) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed || len(k.idle) >= maxIdle {
		cc.c.Close()
		return
	}
	k.idle = append(k.idle, cc)
}

// Close closes the idle connections; calls in flight finish, then close
// theirs.
func (k *Client) Close() error {
	k.mu.Lock()
	k.closed = true
	k.mu.Unlock()
	k.dropIdle()
	return nil
}

// call sends req and decodes the answer into resp.
func (k *Client) call(ctx context.Context, m method, req, resp proto.Message) error {
	if err := ctx.Err(); err != nil {
		return status.FromContextError(err).Err()
	}
	if n := proto.Size(req); n+1 > maxRequest {
		return status.Errorf(codes.InvalidArgument, "kvsock: request of %d bytes (limit %d)", n, maxRequest)
	}
	var (
		cc            *clientConn
		head          byte
		ans           []byte
		reused, wrote bool
		err           error
	)
	for fresh := false; ; fresh = true {
		cc, reused, err = k.get(ctx, fresh)
		if err != nil {
			return err
		}
		dl, _ := ctx.Deadline() // zero: none
		cc.c.SetDeadline(dl)
		// A cancelled context unblocks the call through the deadline.
		stop := context.AfterFunc(ctx, func() { cc.c.SetDeadline(time.Unix(1, 0)) })
		head, ans, wrote, err = k.exchange(cc, m, req)
		if stop() && err == nil {
			break
		}
		if me, ok := err.(marshalError); ok { // nothing was sent
			k.put(cc)
			return status.Error(codes.Internal, "kvsock: "+me.Error())
		}
		cc.c.Close() // an answer may still come: the connection is done
		if err != nil && !wrote && reused && !fresh && ctx.Err() == nil {
			// An idle connection the server had closed (a restart):
			// the request never left. Once more, on a new connection.
			k.dropIdle()
			continue
		}
		if err == nil {
			err = ctx.Err()
		}
		return callError(ctx, fmt.Errorf("kvsock: %w", err))
	}
	switch head {
	case answerOK:
		if err = proto.Unmarshal(ans, resp); err != nil {
			err = status.Error(codes.Internal, fmt.Sprintf("kvsock: answer: %v", err))
		}
	case answerErr:
		err = bodyError(ans)
	default:
		cc.c.Close()
		return status.Errorf(codes.Internal, "kvsock: answer kind %d", head)
	}
	k.put(cc)
	return err
}

// exchange writes the request and reads the answer; wrote says the
// request was written.
func (k *Client) exchange(cc *clientConn, m method, req proto.Message) (head byte, ans []byte, wrote bool, err error) {
	if cc.out, err = messageFrame(cc.out, byte(m), req, true); err != nil {
		return 0, nil, false, marshalError{err}
	}
	if err = sendFrame(cc.c, cc.out); err != nil {
		return 0, nil, false, err
	}
	head, ans, cc.in, err = readFrame(cc.c, cc.in, maxAnswer)
	return head, ans, true, err
}

// marshalError is a request that could not be marshalled: no connection
// is to blame.
type marshalError struct{ error }

// answer makes a call and returns out, or nil and the error.
func answer[R proto.Message](k *Client, ctx context.Context, m method, in proto.Message, out R) (R, error) {
	if err := k.call(ctx, m, in, out); err != nil {
		var none R
		return none, err
	}
	return out, nil
}

// Range implements pb.KVClient.
func (k *Client) Range(ctx context.Context, in *pb.RangeRequest, _ ...grpc.CallOption) (*pb.RangeResponse, error) {
	return answer(k, ctx, mRange, in, new(pb.RangeResponse))
}

// RangeStream implements pb.KVClient through the fallback (gRPC).
func (k *Client) RangeStream(ctx context.Context, in *pb.RangeRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[pb.RangeStreamResponse], error) {
	if k.fallback == nil {
		return nil, status.Error(codes.Unimplemented, "kvsock: RangeStream needs gRPC")
	}
	return k.fallback.RangeStream(ctx, in, opts...)
}

// Put implements pb.KVClient.
func (k *Client) Put(ctx context.Context, in *pb.PutRequest, _ ...grpc.CallOption) (*pb.PutResponse, error) {
	return answer(k, ctx, mPut, in, new(pb.PutResponse))
}

// DeleteRange implements pb.KVClient.
func (k *Client) DeleteRange(ctx context.Context, in *pb.DeleteRangeRequest, _ ...grpc.CallOption) (*pb.DeleteRangeResponse, error) {
	return answer(k, ctx, mDeleteRange, in, new(pb.DeleteRangeResponse))
}

// Txn implements pb.KVClient.
func (k *Client) Txn(ctx context.Context, in *pb.TxnRequest, _ ...grpc.CallOption) (*pb.TxnResponse, error) {
	return answer(k, ctx, mTxn, in, new(pb.TxnResponse))
}

// Compact implements pb.KVClient.
func (k *Client) Compact(ctx context.Context, in *pb.CompactionRequest, _ ...grpc.CallOption) (*pb.CompactionResponse, error) {
	return answer(k, ctx, mCompact, in, new(pb.CompactionResponse))
}
