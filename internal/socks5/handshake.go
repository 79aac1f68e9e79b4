package socks5

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"syscall"
)

// ErrNoAcceptableMethod is returned by ServerHandshake when the client
// offers no method the server accepts (typically: a client without
// credentials at a server that requires them). The client has been told
// (METHOD 0xFF).
var ErrNoAcceptableMethod = errors.New("socks5: client offers no acceptable authentication method")

// ErrUnsupportedCommand is returned by ServerHandshake for BIND and UDP
// ASSOCIATE; the client has been answered "command not supported".
var ErrUnsupportedCommand = errors.New("socks5: command not supported")

// ServerHandshake runs the server side of a connection up to, but not
// including, the reply to the request: method selection, RFC 1929
// authentication when auth is not nil, and reading the CONNECT request.
// It returns the authenticated user name ("" without authentication) and the
// request; the caller dials and then calls WriteReply.
//
// Where SOCKS5 has an answer for a failure, the client has been sent it
// before the error returns: no acceptable method, bad credentials, a command
// other than CONNECT, an unknown address type, and (general failure) a
// request that arrived whole but is malformed (IsMalformed: a wrong
// version, an empty domain name, one with a NUL). A client that closed the
// connection cleanly between messages (before its greeting, or after
// authenticating, with no request: a connection opened ahead of time and
// not needed) gives an error for which errors.Is(err, io.EOF) is true; a
// message cut short gives io.ErrUnexpectedEOF.
func ServerHandshake(rw io.ReadWriter, auth func(user, pass string) bool) (user string, req Request, err error) {
	methods, err := ReadGreeting(rw)
	if err != nil {
		return "", Request{}, err
	}
	want := byte(MethodNoAuth)
	if auth != nil {
		want = MethodUserPass
	}
	choice := want
	switch {
	case bytes.IndexByte(methods, want|MethodPipelines) >= 0:
		// This server reads message by message (see MethodPipelines).
		choice = want | MethodPipelines
	case bytes.IndexByte(methods, want) < 0:
		rw.Write([]byte{Version, MethodNoAcceptable})
		return "", Request{}, ErrNoAcceptableMethod
	}
	if _, err := rw.Write([]byte{Version, choice}); err != nil {
		return "", Request{}, fmt.Errorf("socks5: writing method choice: %w", err)
	}
	if auth != nil {
		u, p, err := ReadUserPass(rw)
		if err != nil {
			return "", Request{}, err
		}
		if !auth(u, p) {
			rw.Write([]byte{authVersion, 0x01})
			return u, Request{}, fmt.Errorf("%w for user %q", ErrAuthFailed, u)
		}
		if _, err := rw.Write([]byte{authVersion, 0x00}); err != nil {
			return u, Request{}, fmt.Errorf("socks5: writing auth status: %w", err)
		}
		user = u
	}
	req, err = ReadRequest(rw)
	if err != nil {
		switch {
		case IsAddrTypeError(err):
			WriteReply(rw, ReplyAddrTypeUnsupported, Addr{})
		case IsMalformed(err):
			// An empty name, a NUL in one, a wrong version: the client
			// is told, rather than left to guess from a closed connection.
			WriteReply(rw, ReplyGeneralFailure, Addr{})
		}
		return user, req, err
	}
	if req.Cmd != CmdConnect {
		WriteReply(rw, ReplyCmdNotSupported, Addr{})
		return user, req, fmt.Errorf("%w: %#x", ErrUnsupportedCommand, req.Cmd)
	}
	return user, req, nil
}

// Auth is a client's RFC 1929 credentials.
type Auth struct {
	User, Pass string
}

// ClientOptions tune ClientHandshake.
type ClientOptions struct {
	// Auth, when not nil, offers username/password authentication only;
	// when nil, only "no authentication" is offered.
	Auth *Auth
	// Pipeline sends the greeting, the credentials and the request in one
	// write, saving two round trips. It is safe only with servers that read
	// exactly one message at a time (carrot exit, Dante, Tor); microsocks
	// drops the pipelined bytes.
	Pipeline bool
}

// ClientHandshake runs the client side over rw: it asks the server to
// CONNECT to dest and returns the address the server bound for it. A failure
// reply is a *ReplyError (which unwraps to the matching errno); rejected
// credentials are ErrAuthFailed.
func ClientHandshake(rw io.ReadWriter, dest Addr, opts ClientOptions) (bound Addr, err error) {
	if !opts.Pipeline {
		if err := ClientAuth(rw, opts.Auth); err != nil {
			return Addr{}, err
		}
		return ClientRequest(rw, dest)
	}
	buf, err := AppendPipelined(make([]byte, 0, 600), dest, opts.Auth)
	if err != nil {
		return Addr{}, err
	}
	if _, err := rw.Write(buf); err != nil {
		return Addr{}, fmt.Errorf("socks5: writing greeting: %w", err)
	}
	return ReadPipelined(rw, opts.Auth)
}

// AppendPipelined appends what a pipelining client sends at once: the
// greeting, the credentials (with auth) and a CONNECT request for dest.
// A caller that sends it itself (in a TCP fast open SYN, say) then reads
// the answers with ReadPipelined.
func AppendPipelined(b []byte, dest Addr, auth *Auth) ([]byte, error) {
	b, err := appendHello(b, auth)
	if err != nil {
		return nil, err
	}
	return AppendRequest(b, CmdConnect, dest)
}

// ReadPipelined reads the answers to AppendPipelined's messages: the
// method choice, the auth status and the reply; see ClientHandshake.
func ReadPipelined(r io.Reader, auth *Auth) (bound Addr, err error) {
	if err := readHello(r, auth); err != nil {
		return Addr{}, err
	}
	return readReplyTo(r)
}

// ClientAuth runs the first half of the client side over rw: the greeting
// and, with auth, the RFC 1929 sub-negotiation. rw is then ready for
// ClientRequest (which a client may send much later: a connection
// authenticated ahead of time saves two round trips when it is needed).
func ClientAuth(rw io.ReadWriter, auth *Auth) error {
	_, err := clientAuth(rw, auth, false)
	return err
}

// ClientAuthProbe is ClientAuth offering MethodPipelines too; pipelines
// reports whether the server chose it (then ClientHandshake may pipeline
// with it).
func ClientAuthProbe(rw io.ReadWriter, auth *Auth) (pipelines bool, err error) {
	return clientAuth(rw, auth, true)
}

func clientAuth(rw io.ReadWriter, auth *Auth, probe bool) (pipelines bool, err error) {
	method := methodFor(auth)
	hello, err := appendHello(nil, auth)
	if err != nil {
		return false, err
	}
	greeting, creds := hello[:3], hello[3:]
	if probe {
		greeting = AppendGreeting(nil, method, method|MethodPipelines)
	}
	if _, err := rw.Write(greeting); err != nil {
		return false, fmt.Errorf("socks5: writing greeting: %w", err)
	}
	chosen, err := readMethodOf(rw, method, probe)
	if err != nil {
		return false, err
	}
	if auth != nil {
		if _, err := rw.Write(creds); err != nil {
			return false, fmt.Errorf("socks5: writing credentials: %w", err)
		}
		if err := readAuthStatus(rw, auth); err != nil {
			return false, err
		}
	}
	return chosen&MethodPipelines != 0, nil
}

// ClientRequest asks a server that ClientAuth prepared to CONNECT to dest,
// and reads its reply; see ClientHandshake.
func ClientRequest(rw io.ReadWriter, dest Addr) (bound Addr, err error) {
	req, err := AppendRequest(nil, CmdConnect, dest)
	if err != nil {
		return Addr{}, err
	}
	if _, err := rw.Write(req); err != nil {
		return Addr{}, fmt.Errorf("socks5: writing request: %w", err)
	}
	return readReplyTo(rw)
}

// ClientReply reads the reply to a CONNECT request the caller wrote itself
// (AppendRequest) to a server that ClientAuth prepared.
func ClientReply(r io.Reader) (bound Addr, err error) { return readReplyTo(r) }

// appendHello appends the greeting offering one method (3 bytes) and, with
// auth, the credentials.
func appendHello(b []byte, auth *Auth) ([]byte, error) {
	b = AppendGreeting(b, methodFor(auth))
	if auth == nil {
		return b, nil
	}
	return AppendUserPass(b, auth.User, auth.Pass)
}

// methodFor is the one method a client with auth offers.
func methodFor(auth *Auth) byte {
	if auth != nil {
		return MethodUserPass
	}
	return MethodNoAuth
}

// readHello reads the answers to appendHello's messages.
func readHello(r io.Reader, auth *Auth) error {
	if _, err := readMethodOf(r, methodFor(auth), false); err != nil {
		return err
	}
	if auth == nil {
		return nil
	}
	return readAuthStatus(r, auth)
}

// readMethodOf reads the server's choice: method, or with pipelines also
// method|MethodPipelines.
func readMethodOf(r io.Reader, method byte, pipelines bool) (byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, &greetingError{fmt.Errorf("socks5: reading method choice: %w", err)}
	}
	if h[0] != Version {
		return 0, fmt.Errorf("socks5: method choice: version %#x, want 5", h[0])
	}
	if h[1] != method && !(pipelines && h[1] == method|MethodPipelines) {
		switch {
		case method == MethodNoAuth && (h[1] == MethodNoAcceptable || h[1]&^MethodPipelines == MethodUserPass):
			return 0, ErrAuthRequired
		case method == MethodUserPass && h[1] == MethodNoAcceptable:
			return 0, ErrUserPassRefused
		}
		return 0, fmt.Errorf("%w: server chose method %#x, which was not offered", ErrAuthFailed, h[1])
	}
	return h[1], nil
}

func readAuthStatus(r io.Reader, auth *Auth) error {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return fmt.Errorf("socks5: reading auth status: %w", err)
	}
	if h[0] != authVersion || h[1] != 0 {
		if auth.Pass == "" {
			return fmt.Errorf("%w: server rejected user %q, whose password was empty (none given?)", ErrAuthFailed, auth.User)
		}
		return fmt.Errorf("%w: server rejected user %q", ErrAuthFailed, auth.User)
	}
	return nil
}

func readReplyTo(r io.Reader) (Addr, error) {
	rep, bound, err := ReadReply(r)
	if err != nil {
		return Addr{}, &awaitingReply{err}
	}
	if rep != ReplySucceeded {
		return Addr{}, &ReplyError{Reply: rep}
	}
	return bound, nil
}

// greetingError wraps a failure to read the answer to the greeting.
type greetingError struct{ err error }

func (e *greetingError) Error() string { return e.err.Error() }
func (e *greetingError) Unwrap() error { return e.err }

// ClosedAtGreeting reports whether a client's handshake failed because the
// server closed the connection (an end of file or a reset) instead of
// answering the greeting: what a SOCKS5-inside-TLS server does to a client
// that speaks plain SOCKS5.
func ClosedAtGreeting(err error) bool {
	var e *greetingError
	return errors.As(err, &e) && PeerClosed(e.err)
}

// PeerClosed reports whether err says the other end closed the connection:
// an end of file, whole or in the middle of a message, or a reset, or a
// write after either.
func PeerClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// awaitingReply wraps a failure to read the reply to a request that was
// sent and accepted for reading: the server is (or was) busy connecting.
type awaitingReply struct{ err error }

func (e *awaitingReply) Error() string { return e.err.Error() }
func (e *awaitingReply) Unwrap() error { return e.err }

// AwaitingReply reports whether ClientHandshake failed after the request had
// been sent, while waiting for the server's reply: a timeout there means the
// server was still trying to reach the destination.
func AwaitingReply(err error) bool {
	var e *awaitingReply
	return errors.As(err, &e)
}
