package chunkstore

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"sync"

	"google.golang.org/grpc/credentials"
)

// crypto/tls writes every record (at most 16 KiB) with its own write(2),
// so streaming a 4 MiB chunk costs 256 system calls and as many wake-ups of
// the reader. coalescingCreds wraps gRPC's TLS credentials so that every
// Write gRPC makes on the TLS connection reaches the socket as one system
// call: the records of one Write are gathered in a buffer below TLS and
// flushed when the Write returns. Writes TLS makes on its own (handshake,
// alerts, key updates) go through unbuffered. Nothing else changes: same
// handshake, same records, same security.
type coalescingCreds struct {
	credentials.TransportCredentials
}

func newTLSCreds(tc *tls.Config) credentials.TransportCredentials {
	return coalescingCreds{credentials.NewTLS(tc)}
}

// writeBufferSize is gRPC's write buffer on node connections: one Write of
// up to this many bytes per flush.
const writeBufferSize = 1 << 20

// readBufferSize is gRPC's read buffer on node connections.
const readBufferSize = 256 << 10

func (c coalescingCreds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	bc := &batchConn{Conn: raw}
	conn, info, err := c.TransportCredentials.ClientHandshake(ctx, authority, bc)
	if err != nil {
		return nil, nil, err
	}
	return &flushConn{Conn: conn, raw: bc}, info, nil
}

func (c coalescingCreds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	bc := &batchConn{Conn: raw}
	conn, info, err := c.TransportCredentials.ServerHandshake(bc)
	if err != nil {
		return nil, nil, err
	}
	return &flushConn{Conn: conn, raw: bc}, info, nil
}

func (c coalescingCreds) Clone() credentials.TransportCredentials {
	return coalescingCreds{c.TransportCredentials.Clone()}
}

// batchConn is the socket below TLS: while batching, writes are gathered.
type batchConn struct {
	net.Conn
	mu       sync.Mutex
	batching bool
	w        *bufio.Writer
}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.batching {
		return b.Conn.Write(p)
	}
	return b.w.Write(p)
}

func (b *batchConn) begin() {
	b.mu.Lock()
	if b.w == nil {
		// Room for a whole gRPC buffer and its TLS overhead (22 bytes a
		// record): one write(2) per flush.
		b.w = bufio.NewWriterSize(b.Conn, writeBufferSize+writeBufferSize/512)
	}
	b.batching = true
	b.mu.Unlock()
}

func (b *batchConn) end() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batching = false
	return b.w.Flush()
}

// flushConn is the TLS connection gRPC sees.
type flushConn struct {
	net.Conn // *tls.Conn
	raw      *batchConn
	wmu      sync.Mutex
}

func (f *flushConn) Write(p []byte) (int, error) {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	f.raw.begin()
	n, err := f.Conn.Write(p)
	if ferr := f.raw.end(); err == nil {
		err = ferr
	}
	return n, err
}

// bufferPool is the gRPC buffer pool of node connections: size classes
// that fit the messages a node exchanges (up to a 512 KiB frame and its
// header), and no clearing of reused buffers. gRPC's default pool clears
// every buffer it hands out, 1 MiB at a time for these messages; gRPC
// overwrites every byte of a buffer it reads a message into, so the
// clearing only costs time (about 5% of a get's CPU).
type bufferPool struct {
	classes []int
	pools   []sync.Pool
}

var nodeBufferPool = newBufferPool(256, 4<<10, 16<<10, 32<<10, 64<<10, 256<<10, frameSize+4<<10, 1<<20+4<<10)

func newBufferPool(classes ...int) *bufferPool {
	return &bufferPool{classes: classes, pools: make([]sync.Pool, len(classes))}
}

// Get implements mem.BufferPool.
func (p *bufferPool) Get(n int) *[]byte {
	for i, c := range p.classes {
		if n <= c {
			if b, ok := p.pools[i].Get().(*[]byte); ok {
				*b = (*b)[:n]
				return b
			}
			b := make([]byte, n, c)
			return &b
		}
	}
	b := make([]byte, n)
	return &b
}

// Put implements mem.BufferPool.
func (p *bufferPool) Put(b *[]byte) {
	c := cap(*b)
	for i, cl := range p.classes {
		if c == cl {
			p.pools[i].Put(b)
			return
		}
	}
}
