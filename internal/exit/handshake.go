package exit

import (
	"bufio"
	"io"
	"net"
	"sync"
)

// handshakeConn is the client's connection during the SOCKS5 handshake.
// Reads are buffered, so a client that pipelines (carrot's client sends
// greeting, credentials and request at once) is read with one system call
// rather than one per field. Writes wait in a buffer until the server has
// to wait for the client (a read that finds nothing buffered) or Flush:
// the answers to pipelined messages (method choice, auth status, reply)
// then leave together, in one segment, while a client that waits for each
// answer still gets each before it is asked for more. (The handler also
// flushes when the destination is slow to answer: see answerHold.)
type handshakeConn struct {
	net.Conn
	r *bufio.Reader

	mu  sync.Mutex // Write and Flush: a timer may flush (answerHold)
	out []byte
}

func newHandshakeConn(c net.Conn) *handshakeConn {
	h := &handshakeConn{Conn: c}
	h.r = bufio.NewReaderSize(flushingReader{h}, 1024)
	return h
}

func (h *handshakeConn) Read(p []byte) (int, error) { return h.r.Read(p) }

func (h *handshakeConn) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.out = append(h.out, p...)
	return len(p), nil
}

// Flush sends what was written.
func (h *handshakeConn) Flush() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.out) == 0 {
		return nil
	}
	_, err := h.Conn.Write(h.out)
	h.out = h.out[:0]
	return err
}

// early returns the bytes the client sent after its request, which the
// handshake read ahead: the first of the stream, for the destination.
func (h *handshakeConn) early() []byte {
	b, _ := h.r.Peek(h.r.Buffered())
	return b
}

// flushingReader is the buffer's source: it flushes the pending answers
// before it waits for the client.
type flushingReader struct{ h *handshakeConn }

func (f flushingReader) Read(p []byte) (int, error) {
	if err := f.h.Flush(); err != nil {
		return 0, err
	}
	return f.h.Conn.Read(p)
}

// peekedConn is a connection whose first bytes were read ahead (peek).
type peekedConn struct {
	net.Conn
	ahead []byte
}

// peek reads what the client has sent so far (at least a byte): the
// first bytes of a TLS ClientHello, or of something else.
func peek(c net.Conn) (*peekedConn, error) {
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if n == 0 {
		if err == nil {
			err = io.ErrNoProgress
		}
		return nil, err
	}
	return &peekedConn{Conn: c, ahead: buf[:n]}, nil
}

func (p *peekedConn) Read(b []byte) (int, error) {
	if len(p.ahead) > 0 {
		n := copy(b, p.ahead)
		p.ahead = p.ahead[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// NetConn is the connection under p (for internal/relay's idle timeout).
func (p *peekedConn) NetConn() net.Conn { return p.Conn }
