// Package socks5 is carrot's own implementation of the SOCKS protocol
// version 5 (RFC 1928) with username/password authentication (RFC 1929):
// the wire codec, the server side of the handshake and the client side.
//
// Only the CONNECT command is implemented; BIND and UDP ASSOCIATE are
// answered with "command not supported". Addresses are IPv4, IPv6 or a
// domain name (ATYP 1, 4 and 3); a domain name travels to the server
// unresolved, which is how a client keeps its DNS from leaking: the server
// (carrot exit, Dante, microsocks, ssh -D, Tor) resolves it where it is.
//
// A connection runs, in order:
//
//	client                                   server
//	VER=5 NMETHODS METHODS...          ->
//	                                   <-    VER=5 METHOD
//	(METHOD 2) VER=1 ULEN USER PLEN PASS ->
//	                                   <-    VER=1 STATUS (0 = success)
//	VER=5 CMD=1 RSV=0 ATYP ADDR PORT   ->
//	                                   <-    VER=5 REP RSV=0 ATYP ADDR PORT
//	... then the bytes of the stream, both ways ...
//
// The decoders (ReadGreeting, ReadUserPass, ReadRequest, ReadReply) read
// exactly one message from an io.Reader and never past it, so the stream
// that follows is untouched; they are fuzzed. TLS is not this package's
// business: a caller that wants SOCKS5 inside TLS (socks5+tls://) hands
// these functions a *tls.Conn.
//
// Reply codes map to and from errno values (ReplyFor, Reply.Errno) so that a
// program whose connect() was carried through an exit sees the error a
// direct connect would have given.
package socks5

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
)

// Version is the SOCKS protocol version byte; authVersion is RFC 1929's
// sub-negotiation version.
const (
	Version     = 0x05
	authVersion = 0x01
)

// Authentication methods (RFC 1928 section 3).
const (
	MethodNoAuth       = 0x00
	MethodUserPass     = 0x02
	MethodNoAcceptable = 0xFF
	// MethodPipelines marks, in a private method (RFC 1928 reserves
	// 0x80-0xFE for them), "MethodNoAuth or MethodUserPass, and this server
	// reads each message exactly, so a client may send greeting,
	// credentials and request at once": 0x80 and 0x82. carrot's client
	// offers it next to the plain method; only a server that knows it (carrot
	// exit) chooses it, any other chooses the plain one.
	MethodPipelines = 0x80
)

// Commands (RFC 1928 section 4).
const (
	CmdConnect      = 0x01
	CmdBind         = 0x02
	CmdUDPAssociate = 0x03
)

// Address types (RFC 1928 section 5).
const (
	AtypIPv4   = 0x01
	AtypDomain = 0x03
	AtypIPv6   = 0x04
)

// Reply is the REP field of a server's reply (RFC 1928 section 6).
type Reply byte

// Reply codes.
const (
	ReplySucceeded           Reply = 0x00
	ReplyGeneralFailure      Reply = 0x01
	ReplyNotAllowed          Reply = 0x02
	ReplyNetUnreachable      Reply = 0x03
	ReplyHostUnreachable     Reply = 0x04
	ReplyConnRefused         Reply = 0x05
	ReplyTTLExpired          Reply = 0x06
	ReplyCmdNotSupported     Reply = 0x07
	ReplyAddrTypeUnsupported Reply = 0x08
)

var replyText = [...]string{
	"succeeded",
	"general SOCKS server failure",
	"connection not allowed by ruleset",
	"network unreachable",
	"host unreachable",
	"connection refused",
	"TTL expired",
	"command not supported",
	"address type not supported",
}

func (r Reply) String() string {
	if int(r) < len(replyText) {
		return replyText[r]
	}
	return fmt.Sprintf("reply code %#x", byte(r))
}

// Errno is the errno a direct connect() would most plausibly have returned
// for a server's failure reply: refused, unreachable and timeout map one to
// one; "not allowed by ruleset" is what a local firewall gives (EPERM);
// anything else, including a general failure, is EHOSTUNREACH (the path to
// the host failed, cause unknown). ReplySucceeded maps to 0.
func (r Reply) Errno() syscall.Errno {
	switch r {
	case ReplySucceeded:
		return 0
	case ReplyConnRefused:
		return syscall.ECONNREFUSED
	case ReplyNetUnreachable, ReplyAddrTypeUnsupported:
		return syscall.ENETUNREACH
	case ReplyTTLExpired:
		return syscall.ETIMEDOUT
	case ReplyNotAllowed:
		return syscall.EPERM
	default:
		return syscall.EHOSTUNREACH
	}
}

// AboutDest reports whether a failure reply is the server's answer about
// the destination: it tried to reach it (refused, unreachable, timed out,
// the address family unreachable from there) or its policy refused it. A
// general failure, a command it does not support or a code unknown to
// RFC 1928 is the server's own failure, which another server may not have
// (carrot exit sends a general failure at its connection limit, and for
// errors of its own).
func (r Reply) AboutDest() bool {
	switch r {
	case ReplyNotAllowed, ReplyNetUnreachable, ReplyHostUnreachable, ReplyConnRefused,
		ReplyTTLExpired, ReplyAddrTypeUnsupported:
		return true
	}
	return false
}

// Rank orders failure replies by how much they say about the destination,
// highest first: a refusal means the host itself was reached and answered;
// then host unreachable, network unreachable, a timeout, anything else.
// When several attempts fail, the one with the highest rank is reported.
func (r Reply) Rank() int {
	switch r {
	case ReplyConnRefused:
		return 5
	case ReplyHostUnreachable:
		return 4
	case ReplyNetUnreachable:
		return 3
	case ReplyTTLExpired:
		return 2
	default:
		return 1
	}
}

// ReplyFor chooses the reply code for a server's failure to dial the
// destination: the errno inside err when there is one, a timeout as TTL
// expired, a name that does not resolve as host unreachable.
func ReplyFor(err error) Reply {
	if err == nil {
		return ReplySucceeded
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ECONNREFUSED:
			return ReplyConnRefused
		case syscall.ENETUNREACH, syscall.ENETDOWN:
			return ReplyNetUnreachable
		case syscall.EHOSTUNREACH, syscall.EHOSTDOWN:
			return ReplyHostUnreachable
		case syscall.ETIMEDOUT:
			return ReplyTTLExpired
		case syscall.EPERM, syscall.EACCES:
			return ReplyNotAllowed
		case syscall.EAFNOSUPPORT:
			return ReplyAddrTypeUnsupported
		}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsTimeout {
			return ReplyTTLExpired
		}
		return ReplyHostUnreachable
	}
	var timeout interface{ Timeout() bool }
	if errors.As(err, &timeout) && timeout.Timeout() {
		return ReplyTTLExpired
	}
	return ReplyGeneralFailure
}

// ReplyError is a failure reply received from a server.
type ReplyError struct {
	Reply Reply
}

func (e *ReplyError) Error() string { return "socks5: server replied: " + e.Reply.String() }

// Unwrap gives the errno the reply stands for, so errors.Is(err,
// syscall.ECONNREFUSED) holds for a "connection refused" reply.
func (e *ReplyError) Unwrap() error { return e.Reply.Errno() }

// ErrAuthFailed is returned by ClientHandshake when the server rejects the
// credentials or accepts none of the offered methods.
var ErrAuthFailed = errors.New("socks5: authentication failed")

// The two ways a method choice goes wrong for lack of agreement on
// credentials; both are ErrAuthFailed too (errors.Is).
var (
	// ErrAuthRequired: the client offered no credentials and the server
	// wants a username and password (it answered METHOD 0xFF, or chose
	// username/password anyway).
	ErrAuthRequired = fmt.Errorf("%w: the server requires a username and password, and none was given", ErrAuthFailed)
	// ErrUserPassRefused: the client offered a username and password and
	// the server accepts no such method (METHOD 0xFF): it may want none.
	ErrUserPassRefused = fmt.Errorf("%w: the server does not take a username and password", ErrAuthFailed)
)

// Addr is a SOCKS5 address: either an IP (IP valid, Name empty) or a domain
// name the server resolves (Name set), and a port.
type Addr struct {
	IP   netip.Addr
	Name string
	Port uint16
}

// AddrFromAddrPort returns the IP address ap.
func AddrFromAddrPort(ap netip.AddrPort) Addr {
	return Addr{IP: ap.Addr().Unmap(), Port: ap.Port()}
}

// ParseAddr parses "host:port", where host is an IP literal (IPv6 in
// brackets) or a domain name of at most 255 bytes.
func ParseAddr(hostport string) (Addr, error) {
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		return Addr{}, fmt.Errorf("socks5: address %q: %w", hostport, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return Addr{}, fmt.Errorf("socks5: address %q: bad port", hostport)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return Addr{}, fmt.Errorf("socks5: address %q: zoned addresses cannot be sent", hostport)
		}
		return Addr{IP: ip.Unmap(), Port: uint16(port)}, nil
	}
	if err := checkName(host); err != nil {
		return Addr{}, fmt.Errorf("socks5: address %q: %w", hostport, err)
	}
	return Addr{Name: host, Port: uint16(port)}, nil
}

// checkName accepts what fits in ATYP 3: 1 to 255 bytes, no NUL.
func checkName(name string) error {
	if len(name) == 0 || len(name) > 255 {
		return errors.New("domain name must be 1 to 255 bytes")
	}
	if strings.IndexByte(name, 0) >= 0 {
		return errors.New("domain name contains NUL")
	}
	return nil
}

// IsName reports whether a is a domain name rather than an IP.
func (a Addr) IsName() bool { return a.Name != "" }

// Host is the name or the IP as text.
func (a Addr) Host() string {
	if a.Name != "" {
		return a.Name
	}
	return a.IP.String()
}

// String is "host:port" (IPv6 in brackets).
func (a Addr) String() string {
	return net.JoinHostPort(a.Host(), strconv.Itoa(int(a.Port)))
}

// AppendTo appends ATYP, the address and the port to b. An Addr with
// neither IP nor Name encodes as 0.0.0.0 (a reply's unspecified bind
// address).
func (a Addr) AppendTo(b []byte) ([]byte, error) {
	switch {
	case a.Name != "":
		if err := checkName(a.Name); err != nil {
			return nil, fmt.Errorf("socks5: %w", err)
		}
		b = append(b, AtypDomain, byte(len(a.Name)))
		b = append(b, a.Name...)
	case a.IP.Is4() || a.IP.Is4In6():
		ip4 := a.IP.Unmap().As4()
		b = append(b, AtypIPv4)
		b = append(b, ip4[:]...)
	case a.IP.Is6():
		ip16 := a.IP.As16()
		b = append(b, AtypIPv6)
		b = append(b, ip16[:]...)
	default:
		b = append(b, AtypIPv4, 0, 0, 0, 0)
	}
	return append(b, byte(a.Port>>8), byte(a.Port)), nil
}

// readAddr reads ATYP, the address and the port. An unknown ATYP is
// reported as *atypError so a server can answer code 8.
func readAddr(r io.Reader) (Addr, error) {
	var b [1]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return Addr{}, err
	}
	var a Addr
	switch b[0] {
	case AtypIPv4:
		var ip [4]byte
		if _, err := io.ReadFull(r, ip[:]); err != nil {
			return Addr{}, err
		}
		a.IP = netip.AddrFrom4(ip)
	case AtypIPv6:
		var ip [16]byte
		if _, err := io.ReadFull(r, ip[:]); err != nil {
			return Addr{}, err
		}
		a.IP = netip.AddrFrom16(ip).Unmap()
	case AtypDomain:
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return Addr{}, err
		}
		name := make([]byte, b[0])
		if _, err := io.ReadFull(r, name); err != nil {
			return Addr{}, err
		}
		if err := checkName(string(name)); err != nil {
			return Addr{}, &formatError{err.Error()}
		}
		a.Name = string(name)
	default:
		return Addr{}, &atypError{b[0]}
	}
	var port [2]byte
	if _, err := io.ReadFull(r, port[:]); err != nil {
		return Addr{}, err
	}
	a.Port = uint16(port[0])<<8 | uint16(port[1])
	return a, nil
}

type atypError struct{ atyp byte }

func (e *atypError) Error() string { return fmt.Sprintf("socks5: unknown address type %#x", e.atyp) }

// formatError is a message that arrived whole but breaks the protocol (a
// wrong version, an empty name or one with a NUL), as opposed to one cut
// short or a failed read: a server can still answer it.
type formatError struct{ msg string }

func (e *formatError) Error() string { return e.msg }

// IsMalformed reports whether err is a message that arrived but breaks
// the protocol (see formatError), rather than a failure to read one.
func IsMalformed(err error) bool {
	var e *formatError
	return errors.As(err, &e)
}

// unexpected turns the end of file met inside a message into
// io.ErrUnexpectedEOF: the readers of messages return io.EOF only when the
// peer closed the connection cleanly before the message began.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ReadGreeting reads a client's version/method-selection message and returns
// the offered methods.
func ReadGreeting(r io.Reader) (methods []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("socks5: reading greeting: %w", err)
	}
	if h[0] != Version {
		return nil, fmt.Errorf("socks5: greeting: version %#x, want 5", h[0])
	}
	if h[1] == 0 {
		return nil, errors.New("socks5: greeting offers no methods")
	}
	methods = make([]byte, h[1])
	if _, err := io.ReadFull(r, methods); err != nil {
		return nil, fmt.Errorf("socks5: reading greeting: %w", unexpected(err))
	}
	return methods, nil
}

// AppendGreeting appends a greeting offering methods (1 to 255 of them).
func AppendGreeting(b []byte, methods ...byte) []byte {
	b = append(b, Version, byte(len(methods)))
	return append(b, methods...)
}

// ReadUserPass reads an RFC 1929 username/password request.
func ReadUserPass(r io.Reader) (user, pass string, err error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return "", "", fmt.Errorf("socks5: reading credentials: %w", err)
	}
	if h[0] != authVersion {
		return "", "", fmt.Errorf("socks5: credentials: version %#x, want 1", h[0])
	}
	u := make([]byte, h[1])
	if _, err := io.ReadFull(r, u); err != nil {
		return "", "", fmt.Errorf("socks5: reading credentials: %w", unexpected(err))
	}
	if _, err := io.ReadFull(r, h[:1]); err != nil {
		return "", "", fmt.Errorf("socks5: reading credentials: %w", unexpected(err))
	}
	p := make([]byte, h[0])
	if _, err := io.ReadFull(r, p); err != nil {
		return "", "", fmt.Errorf("socks5: reading credentials: %w", unexpected(err))
	}
	return string(u), string(p), nil
}

// AppendUserPass appends an RFC 1929 request; user and pass are at most 255
// bytes each.
func AppendUserPass(b []byte, user, pass string) ([]byte, error) {
	if len(user) > 255 || len(pass) > 255 {
		return nil, errors.New("socks5: user name and password must be at most 255 bytes each")
	}
	b = append(b, authVersion, byte(len(user)))
	b = append(b, user...)
	b = append(b, byte(len(pass)))
	return append(b, pass...), nil
}

// Request is a client's request: a command and a destination.
type Request struct {
	Cmd  byte
	Dest Addr
}

// ReadRequest reads a client's request. A request with an unknown address
// type returns an error for which IsAddrTypeError is true.
func ReadRequest(r io.Reader) (Request, error) {
	var h [3]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return Request{}, fmt.Errorf("socks5: reading request: %w", err)
	}
	if h[0] != Version {
		return Request{}, fmt.Errorf("socks5: request: %w", &formatError{fmt.Sprintf("version %#x, want 5", h[0])})
	}
	a, err := readAddr(r)
	if err != nil {
		return Request{Cmd: h[1]}, fmt.Errorf("socks5: reading request: %w", unexpected(err))
	}
	return Request{Cmd: h[1], Dest: a}, nil
}

// IsAddrTypeError reports whether err is an unknown address type.
func IsAddrTypeError(err error) bool {
	var e *atypError
	return errors.As(err, &e)
}

// AppendRequest appends a request for cmd to dest.
func AppendRequest(b []byte, cmd byte, dest Addr) ([]byte, error) {
	b = append(b, Version, cmd, 0)
	return dest.AppendTo(b)
}

// ReadReply reads a server's reply: its code and the bound address.
func ReadReply(r io.Reader) (Reply, Addr, error) {
	var h [3]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, Addr{}, fmt.Errorf("socks5: reading reply: %w", err)
	}
	if h[0] != Version {
		return 0, Addr{}, fmt.Errorf("socks5: reply: version %#x, want 5", h[0])
	}
	a, err := readAddr(r)
	if err != nil {
		return Reply(h[1]), Addr{}, fmt.Errorf("socks5: reading reply: %w", unexpected(err))
	}
	return Reply(h[1]), a, nil
}

// AppendReply appends a reply with code rep and bound address bound.
func AppendReply(b []byte, rep Reply, bound Addr) ([]byte, error) {
	b = append(b, Version, byte(rep), 0)
	return bound.AppendTo(b)
}

// WriteReply writes a reply in one write.
func WriteReply(w io.Writer, rep Reply, bound Addr) error {
	b, err := AppendReply(make([]byte, 0, 22), rep, bound)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
