package chunkstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"time"

	"github.com/carrot-project/carrot/internal/chunkstore/chunkpb"
	"github.com/carrot-project/carrot/internal/clusterconf"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/status"
)

// Conn is a client of one node.
type Conn struct {
	Addr string
	cc   *grpc.ClientConn
	rpc  chunkpb.ChunkStoreClient
}

// Dial connects to the node at addr over mutual TLS with tc, sending the
// cluster token with every call. The connection is lazy: errors show on
// the first call.
func Dial(addr string, tc *tls.Config, token string) (*Conn, error) {
	if tc == nil {
		return nil, fmt.Errorf("chunkstore: dial %s: no TLS configuration", addr)
	}
	cc, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(newTLSCreds(tc)), experimental.WithBufferPool(nodeBufferPool),
		grpc.WithWriteBufferSize(writeBufferSize), grpc.WithReadBufferSize(readBufferSize),
		grpc.WithPerRPCCredentials(TokenCredentials(token)),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(2*frameSize), grpc.MaxCallSendMsgSize(2*frameSize)),
		grpc.WithInitialWindowSize(4<<20), grpc.WithInitialConnWindowSize(16<<20))
	if err != nil {
		return nil, fmt.Errorf("chunkstore: dial %s: %w", addr, err)
	}
	return &Conn{Addr: addr, cc: cc, rpc: chunkpb.NewChunkStoreClient(cc)}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.cc.Close() }

// RPC returns the raw service client.
func (c *Conn) RPC() chunkpb.ChunkStoreClient { return c.rpc }

// Put stores data under its id on the node; it returns once the node has
// made it durable.
func (c *Conn) Put(ctx context.Context, id string, data []byte) (existed bool, err error) {
	stream, err := c.rpc.Put(ctx)
	if err != nil {
		return false, err
	}
	first := true
	for first || len(data) > 0 {
		n := min(len(data), frameSize)
		m := &chunkpb.PutRequest{Data: data[:n]}
		if first {
			m.Id, m.Size = id, uint64(len(data))
			first = false
		}
		if err := stream.Send(m); err != nil {
			if err == io.EOF {
				break // the server answered early; CloseAndRecv says how
			}
			return false, err
		}
		data = data[n:]
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return false, err
	}
	return resp.Existed, nil
}

// Get fetches a whole chunk into buf (grown if needed) and verifies it
// against id. If the bytes do not match, it asks the node once more to
// verify the chunk itself before sending it: a copy corrupt on the node's
// disk is then quarantined and reported by the node, and the answer is
// DATA_LOSS; a chunk damaged on the way arrives whole the second time. A
// mismatch the second time is ErrCorrupt.
func (c *Conn) Get(ctx context.Context, id string, buf []byte) ([]byte, error) {
	data, err := c.get(ctx, id, buf, false)
	if !errors.Is(err, ErrCorrupt) {
		return data, err
	}
	return c.get(ctx, id, data, true)
}

var getDesc = &grpc.StreamDesc{StreamName: "Get", ServerStreams: true}

func (c *Conn) get(ctx context.Context, id string, buf []byte, verify bool) ([]byte, error) {
	want, _ := hex.DecodeString(id) // the node refuses an invalid id
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.cc.NewStream(ctx, getDesc, chunkpb.ChunkStore_Get_FullMethodName, grpc.ForceCodecV2(frameCodec{}))
	if err != nil {
		return nil, err
	}
	if err := stream.SendMsg(&chunkpb.GetRequest{Id: id, Verify: verify}); err != nil {
		return nil, err
	}
	if err := stream.CloseSend(); err != nil {
		return nil, err
	}
	h := hashPool.Get().(hash.Hash)
	defer hashPool.Put(h)
	h.Reset()
	f := getFrame{buf: buf[:0]}
	for {
		err := stream.RecvMsg(&f)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if f.size > MaxChunkSize {
			return nil, fmt.Errorf("chunkstore: %s announced %d bytes: %w", c.Addr, f.size, ErrCorrupt)
		}
		h.Write(f.buf[len(f.buf)-f.n:])
	}
	var sum [sha256.Size]byte
	if !bytes.Equal(h.Sum(sum[:0]), want) {
		return f.buf, fmt.Errorf("chunkstore: %s sent bad data for %s: %w", c.Addr, id, ErrCorrupt)
	}
	return f.buf, nil
}

// Verify asks the node to check the copy of chunk id it holds: the node
// reads it whole and checks its hash (as for a verified Get), and sends
// back one byte of it. It returns nil and the size of a good copy; a copy
// that fails is quarantined and reported by the node itself (never on the
// caller's word), and the answer wraps ErrCorrupt; a copy the node does
// not hold, ErrNotFound.
func (c *Conn) Verify(ctx context.Context, id string) (int64, error) {
	stream, err := c.rpc.Get(ctx, &chunkpb.GetRequest{Id: id, Verify: true, Length: 1})
	if err == nil {
		var size int64
		for {
			m, rerr := stream.Recv()
			if rerr == io.EOF {
				return size, nil
			}
			if err = rerr; err != nil {
				break
			}
			if m.Size != 0 {
				size = int64(m.Size)
			}
		}
	}
	switch status.Code(err) {
	case codes.DataLoss:
		return 0, fmt.Errorf("chunkstore: %s: %v: %w", c.Addr, err, ErrCorrupt)
	case codes.NotFound:
		return 0, fmt.Errorf("chunkstore: %s: %v: %w", c.Addr, err, ErrNotFound)
	}
	return 0, err
}

// Has asks which of ids the node holds.
func (c *Conn) Has(ctx context.Context, ids []string) ([]bool, error) {
	r, err := c.rpc.Has(ctx, &chunkpb.HasRequest{Ids: ids})
	if err != nil {
		return nil, err
	}
	if len(r.Present) != len(ids) {
		return nil, fmt.Errorf("chunkstore: %s answered %d of %d ids", c.Addr, len(r.Present), len(ids))
	}
	return r.Present, nil
}

// ChunkInfo is one entry of a node's inventory.
type ChunkInfo struct {
	ID    string
	Size  int64
	Mtime time.Time
}

// List returns the node's inventory.
func (c *Conn) List(ctx context.Context) ([]ChunkInfo, error) { return c.ListIdle(ctx, 0) }

// ListIdle is List that gives up (DeadlineExceeded) when the node sends
// nothing for idle (0: no limit): a node that hangs fails, one that is
// slow to list a large store does not.
func (c *Conn) ListIdle(ctx context.Context, idle time.Duration) ([]ChunkInfo, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var quiet *time.Timer
	if idle > 0 {
		quiet = time.AfterFunc(idle, func() { cancel(fmt.Errorf("no answer for %v: %w", idle, context.DeadlineExceeded)) })
		defer quiet.Stop()
	}
	stream, err := c.rpc.List(ctx, &chunkpb.ListRequest{})
	if err != nil {
		return nil, err
	}
	var out []ChunkInfo
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			if ctx.Err() != nil {
				err = context.Cause(ctx) // "no answer for ...", or the caller's
			}
			return nil, err
		}
		if quiet != nil {
			quiet.Reset(idle)
		}
		for _, ci := range m.Chunks {
			out = append(out, ChunkInfo{ci.Id, int64(ci.Size), time.Unix(0, ci.MtimeUnixNano)})
		}
	}
}

// Delete removes ids not touched since olderThan (zero: unconditionally).
func (c *Conn) Delete(ctx context.Context, ids []string, olderThan time.Time) (int, error) {
	var ns int64
	if !olderThan.IsZero() {
		ns = olderThan.UnixNano()
	}
	r, err := c.rpc.Delete(ctx, &chunkpb.DeleteRequest{Ids: ids, OlderThanUnixNano: ns})
	if err != nil {
		return 0, err
	}
	return int(r.Deleted), nil
}

// Stats returns the node's counters.
func (c *Conn) Stats(ctx context.Context) (*chunkpb.StatsResponse, error) {
	return c.rpc.Stats(ctx, &chunkpb.StatsRequest{})
}

// Pool keeps one connection per node address.
type Pool struct {
	tls   *tls.Config
	token string

	mu    sync.Mutex
	conns map[string]*Conn
}

// NewPool returns an empty pool that dials with tc and token.
func NewPool(tc *tls.Config, token string) *Pool {
	return &Pool{tls: tc, token: token, conns: map[string]*Conn{}}
}

// NewPoolConf returns an empty pool that dials with a cluster config's
// TLS credentials and token.
func NewPoolConf(conf *clusterconf.File) (*Pool, error) {
	tc, err := conf.TLSConfig()
	if err != nil {
		return nil, err
	}
	return NewPool(tc, conf.Token), nil
}

// Get returns the connection to addr, dialing it the first time.
func (p *Pool) Get(addr string) (*Conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.conns[addr]; ok {
		return c, nil
	}
	c, err := Dial(addr, p.tls, p.token)
	if err != nil {
		return nil, err
	}
	p.conns[addr] = c
	return c, nil
}

// Close closes every connection.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for a, c := range p.conns {
		c.Close()
		delete(p.conns, a)
	}
}
