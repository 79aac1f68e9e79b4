package relay

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		ch <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-ch
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

// TestPipeHalfClose: the client sends a body and half-closes; the server
// reads to EOF and only then answers; the answer must still arrive, and the
// counts must be exact. Data goes through splice (both sides TCP).
func TestPipeHalfClose(t *testing.T) {
	client, relayA := tcpPair(t)
	relayB, server := tcpPair(t)
	body := make([]byte, 3<<20)
	rand.Read(body)

	res := make(chan Stats, 1)
	go func() {
		st, err := Pipe(relayA, relayB, time.Minute)
		if err != nil {
			t.Errorf("Pipe: %v", err)
		}
		res <- st
	}()
	go func() {
		got, err := io.ReadAll(server)
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("server got %d bytes, %v", len(got), err)
		}
		server.Write([]byte("answer after EOF"))
		server.Close()
	}()
	client.Write(body)
	client.(*net.TCPConn).CloseWrite()
	ans, err := io.ReadAll(client)
	if err != nil || string(ans) != "answer after EOF" {
		t.Fatalf("client got %q, %v", ans, err)
	}
	st := <-res
	if st.AToB != int64(len(body)) || st.BToA != int64(len(ans)) {
		t.Fatalf("stats %+v, want %d/%d", st, len(body), len(ans))
	}
}

func TestPipeIdle(t *testing.T) {
	for _, kind := range []string{"tcp", "pipe"} {
		var a, b, peerA, peerB net.Conn
		if kind == "tcp" {
			peerA, a = tcpPair(t)
			b, peerB = tcpPair(t)
		} else {
			peerA, a = net.Pipe()
			b, peerB = net.Pipe()
		}
		res := make(chan error, 1)
		start := time.Now()
		go func() {
			_, err := Pipe(a, b, 300*time.Millisecond)
			res <- err
		}()
		// keep it busy for a while: activity must postpone the timeout
		go io.Copy(io.Discard, peerB)
		for range 6 {
			peerA.Write([]byte("x"))
			time.Sleep(100 * time.Millisecond)
		}
		select {
		case err := <-res:
			t.Fatalf("%s: pipe ended while active after %v: %v", kind, time.Since(start), err)
		default:
		}
		select {
		case err := <-res:
			if !errors.Is(err, ErrIdle) {
				t.Fatalf("%s: err = %v, want ErrIdle", kind, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: idle pipe not closed", kind)
		}
		peerA.Close()
		peerB.Close()
	}
}

// TestPipeResetEndsBoth: an abort on one side ends the whole relay.
func TestPipeResetEndsBoth(t *testing.T) {
	client, relayA := tcpPair(t)
	relayB, server := tcpPair(t)
	res := make(chan error, 1)
	go func() {
		_, err := Pipe(relayA, relayB, 0)
		res <- err
	}()
	server.(*net.TCPConn).SetLinger(0)
	server.Close()
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(client); err != nil {
		t.Fatalf("client read: %v", err)
	}
	select {
	case <-res:
	case <-time.After(5 * time.Second):
		t.Fatal("relay still running")
	}
}

// silentPipe is a relay's two connections to a client and to a destination
// that never sends nor closes, running Pipe under ctx.
func silentPipe(t *testing.T, ctx context.Context) (client, server net.Conn, res <-chan pipeResult) {
	t.Helper()
	client, relayA := tcpPair(t)
	relayB, server := tcpPair(t)
	ch := make(chan pipeResult, 1)
	go func() {
		st, err := PipeContext(ctx, relayA, relayB, time.Minute)
		ch <- pipeResult{st, err}
	}()
	return client, server, ch
}

type pipeResult struct {
	st  Stats
	err error
}

// TestPipeHalfClosedThenGone: a client that half-closed and then reset its
// connection ends the relay, although the destination never sends nor
// closes; one that only half-closed does not.
func TestPipeHalfClosedThenGone(t *testing.T) {
	client, server, res := silentPipe(t, context.Background())
	client.Write([]byte("request"))
	client.(*net.TCPConn).CloseWrite()
	buf := make([]byte, 7)
	server.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(server, buf); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-res:
		t.Fatalf("relay ended after a half-close: %v", r.err)
	case <-time.After(300 * time.Millisecond):
	}
	client.(*net.TCPConn).SetLinger(0)
	client.Close() // a reset
	select {
	case r := <-res:
		if !errors.Is(r.err, ErrGone) || r.st.AToB != 7 {
			t.Errorf("relay ended with %+v, %v; want 7 bytes up, ErrGone", r.st, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("relay still running after the half-closed client reset")
	}
	// the destination's connection was closed
	if _, err := server.Read(buf); err != io.EOF {
		t.Errorf("destination read %v, want EOF", err)
	}
}

// TestPipeContextEnds: a relay whose client half-closed and whose
// destination is silent ends when its context is done, both connections
// closed, with its counts.
func TestPipeContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	client, server, res := silentPipe(t, ctx)
	client.Write([]byte("request"))
	client.(*net.TCPConn).CloseWrite()
	server.Write([]byte("ab"))
	buf := make([]byte, 7)
	server.SetReadDeadline(time.Now().Add(5 * time.Second))
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.ReadFull(server, buf)
	io.ReadFull(client, buf[:2])
	cancel()
	select {
	case r := <-res:
		if !errors.Is(r.err, context.Canceled) || r.st.AToB != 7 || r.st.BToA != 2 {
			t.Errorf("relay ended with %+v, %v; want 7 up, 2 down, context.Canceled", r.st, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("relay still running after its context ended")
	}
	if _, err := server.Read(buf); err != io.EOF {
		t.Errorf("destination read %v, want EOF", err)
	}
	if _, err := client.Read(buf); err != io.EOF {
		t.Errorf("client read %v, want EOF", err)
	}
}

// TestPipeIdleOnTime: an idle relay is closed no sooner than the idle
// timeout after its last byte, and not much later (1 to 1.125 times it,
// asserted with slack for a loaded machine). Several pairs, their last
// byte at different moments of the watchdog's period.
func TestPipeIdleOnTime(t *testing.T) {
	const idle = 400 * time.Millisecond
	const trials = 16
	type outcome struct {
		after time.Duration // from the last write to the close
		err   error
	}
	res := make(chan outcome, trials)
	for i := range trials {
		peerA, a := tcpPair(t)
		b, peerB := tcpPair(t)
		go io.Copy(io.Discard, peerB)
		ended := make(chan time.Time, 1)
		errc := make(chan error, 1)
		go func() {
			_, err := Pipe(a, b, idle)
			ended <- time.Now()
			errc <- err
		}()
		go func() {
			time.Sleep(150*time.Millisecond + time.Duration(i)*idle/watchSteps/trials*2)
			last := time.Now()
			peerA.Write([]byte("x"))
			select {
			case end := <-ended:
				res <- outcome{end.Sub(last), <-errc}
			case <-time.After(10 * time.Second):
				res <- outcome{-1, errors.New("not closed")}
			}
		}()
	}
	for range trials {
		o := <-res
		switch {
		case o.err != nil && !errors.Is(o.err, ErrIdle) || o.after < 0:
			t.Errorf("relay ended with %v", o.err)
		case o.after < idle:
			t.Errorf("closed %v after its last byte, sooner than the idle timeout %v", o.after, idle)
		case o.after > idle*5/4+30*time.Millisecond:
			t.Errorf("closed %v after its last byte: over 1.25 times the idle timeout %v", o.after, idle)
		default:
			t.Logf("closed %v after its last byte (%.3fx)", o.after, float64(o.after)/float64(idle))
		}
	}
}

// pipeFds counts this process's pipe descriptors.
func pipeFds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, "pipe:") {
			n++
		}
	}
	return n
}

// TestIdleRelayHoldsNoPipe: a relay waiting for bytes holds its two
// sockets and no splice pipe (Go's own splice holds one per direction
// while it waits), and one that moved bytes gives its pipes back.
func TestIdleRelayHoldsNoPipe(t *testing.T) {
	const n = 20
	before := pipeFds(t)
	var clients []net.Conn
	for range n {
		client, relayA := tcpPair(t)
		relayB, server := tcpPair(t)
		go Pipe(relayA, relayB, 0)
		// One exchange each way, then idle.
		client.Write([]byte("ping"))
		buf := make([]byte, 4)
		if _, err := io.ReadFull(server, buf); err != nil {
			t.Fatal(err)
		}
		server.Write(buf)
		if _, err := io.ReadFull(client, buf); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, client)
	}
	time.Sleep(50 * time.Millisecond)
	if held := pipeFds(t) - before; held >= 2*n {
		t.Errorf("%d idle relays hold %d pipe descriptors", n, held)
	}
}

// TestRelayWithoutDescriptors: a relay that is up keeps working when its
// next bytes come while the process's descriptor table is full (no pipe
// can be had): the burst goes through user space.
func TestRelayWithoutDescriptors(t *testing.T) {
	client, a := tcpPair(t)
	b, server := tcpPair(t)
	ended := make(chan error, 1)
	go func() { _, err := Pipe(a, b, 0); ended <- err }()
	buf := make([]byte, 3)
	client.Write([]byte("one"))
	if _, err := io.ReadFull(server, buf); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // idle: the pipe went back to the free list
	for len(freePipes) > 0 {          // so that the next burst needs a new one
		p := <-freePipes
		unix.Close(p.r)
		unix.Close(p.w)
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	old := lim
	lim.Cur = 256
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	var fill []int
	for range 1024 {
		fd, err := unix.Dup(0)
		if err != nil {
			break
		}
		fill = append(fill, fd)
	}
	client.Write([]byte("two"))
	server.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, rerr := io.ReadFull(server, buf)
	for _, fd := range fill {
		unix.Close(fd)
	}
	unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
	if rerr != nil || string(buf) != "two" {
		t.Fatalf("bytes sent with the table full: %q, %v", buf, rerr)
	}
	select {
	case err := <-ended:
		t.Fatalf("the relay ended: %v", err)
	default:
	}
}
