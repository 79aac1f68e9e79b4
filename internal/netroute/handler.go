package netroute

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/carrot-project/carrot/internal/fakedns"
	"github.com/carrot-project/carrot/internal/ptrace"
	"github.com/carrot-project/carrot/internal/relay"
	"github.com/carrot-project/carrot/internal/syscalls"
)

// Dialer opens a stream to a routed destination, through the exits.
type Dialer interface {
	// Dial connects to dest, and says how, for the log. A failure
	// carries, through errors.As, the syscall.Errno the program's connect
	// reports.
	Dial(ctx context.Context, dest netip.AddrPort) (net.Conn, Way, error)
}

// A Beginner is a Dialer that can send a connect's first request at once,
// from the tracer thread at the program's connect, so that the exit works
// on it while the goroutine that dials is being scheduled. The function
// Begin returns finishes the dial, and must be called.
type Beginner interface {
	Begin(dest netip.AddrPort) func(context.Context) (net.Conn, Way, error)
}

// Way is how a stream was opened, for the log.
type Way struct {
	Via string // the exit, a chain's "A -> B", or carrot's DNS server
	// Passed are the other exits asked for it first, each with what
	// became of it ("NAME: no answer before the winner's"), in the order
	// they were asked.
	Passed []string
}

// Names maps fake DNS addresses back to names, for the log.
type Names interface {
	Name(ip netip.Addr) (string, bool)
}

// Config configures a Handler.
type Config struct {
	Dialer Dialer
	Policy Policy
	// DNS answers the program's DNS queries; Start serves it on loopback.
	DNS *fakedns.Server
	// Names, if set, names fake addresses in log events.
	Names Names
	// Idle closes a relayed connection after this long without a byte in
	// either direction (0: never).
	Idle time.Duration
	// RelayAll keeps every stream in carrot's relay, never on the
	// program's own socket (see over.go).
	RelayAll bool
	// Log receives one Event per routed, refused or finished connection.
	// It is called from several goroutines. Nil: no log.
	Log func(Event)
	// DescriptorsShort, if set, is called (once) when carrot's own file
	// descriptor table is full: a routed call then fails with ENOBUFS
	// (errnoOf), which the user should hear of, not only the program.
	DescriptorsShort func()
}

// Event is one line of what carrot routed.
type Event struct {
	Time time.Time
	Pid  int
	Fd   int
	// Op: "connect" (a routed connect finished: Err nil or its errno),
	// "close" (a relayed connection ended; Up and Down count bytes),
	// "dns" (a socket's DNS traffic sent to carrot's fake DNS server),
	// "refuse" (a call refused by policy; Call names it),
	// "retry" (a connect on the program's own socket gave up on Via, for
	// Err, and takes the relayed path; see over.go),
	// "abandon" (the program closed a socket whose relayed connect was
	// pending: the exits stop trying; see abandon.go).
	Op   string
	Call string
	Dest netip.AddrPort
	Name string // the name a fake Dest stands for
	Via  string
	// Passed: for a connect, the other exits asked first and what became
	// of each (Way.Passed).
	Passed []string
	// Own: the stream is the program's own socket, connected to the exit;
	// no close event follows (see over.go).
	Own  bool
	Err  error
	Dur  time.Duration
	Up   int64 // program -> destination
	Down int64 // destination -> program
}

// Handler is the ptrace.Handler of `carrot run --exit`; see the package
// documentation.
type Handler struct {
	cfg    Config
	hold   *holder
	dns4   netip.AddrPort // the fake DNS server (UDP and TCP), 127.0.0.1 (onLoopback)
	dns6   netip.AddrPort // and on ::1, if usable (else invalid)
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	shortOnce sync.Once // DescriptorsShort

	// The fields below belong to the tracer thread.
	pidfds pidfds
	exits  map[int]*exitCall // by tid: what to do at a call's exit stop

	mu      sync.Mutex
	conns   map[uint64]*conn // routed TCP sockets, by SO_COOKIE
	failed  int              // conns in state failed
	dnsPeer map[uint64]netip.AddrPort
	dnsFIFO []uint64 // dnsPeer keys, oldest first
	lastDNS map[int]netip.AddrPort
	slow    map[netip.AddrPort]time.Time // destinations too slow for over.go's non-blocking path
	// noFastOpen: sendto(MSG_FASTOPEN) is refused, so over.go cannot start
	// a blocking socket's connect without waiting
	noFastOpen  atomic.Bool
	owned       []*conn // streams on the program's own socket, oldest first (owned.go)
	ownedNext   int     // owned is pruned past this length (ownedLimit at least)
	abortedFIFO []*conn // conns in state aborted, oldest first (reported)
}

type connState uint8

const (
	pending connState = iota
	connected
	failed
	// aborted: a failure the program has read at SO_ERROR. For the
	// socket layer the socket is still connecting, so the next connect
	// says ECONNABORTED (and the one after starts anew), as the kernel's
	// does after a failed non-blocking connect; carrot's abort left the
	// socket unconnected instead, so carrot says it.
	aborted
)

// abortedLimit bounds the aborted entries kept (abortedFIFO): past it the
// oldest go, and a connect on such a socket starts anew at once.
const abortedLimit = 4096

// conn is a program socket whose connect carrot handles.
type conn struct {
	cookie uint64
	pid    int
	fd     int
	dest   netip.AddrPort // as the program gave it; what getpeername shows
	name   string
	start  time.Time
	own    bool // carried over the program's own socket (over.go); set before any goroutine runs

	// guarded by Handler.mu
	state connState
	errno syscall.Errno
	// local is what getsockname shows for a relayed stream (exitSide).
	local netip.AddrPort
	bound netip.AddrPort // what the program bound before connecting (port 0: nothing); set before any goroutine runs
	ino   uint64         // the socket's inode number, for a stream on the program's own socket (owned.go)
}

type exitKind uint8

const (
	exitConnect exitKind = iota + 1
	exitRecvfrom
	exitAddrlen // a connect left to the kernel with guard's address
)

// exitCall is what Exit does for a call whose Enter asked for its exit.
type exitCall struct {
	kind  exitKind
	conn  *conn // exitConnect
	first bool  // exitConnect: the connect that started it
	// exitConnect, exitAddrlen: the program's address and its length, put
	// back at exit (the call ran with carrot's 2-byte one, see guard)
	sockaddr, addrlen uint64
	fd                int    // exitRecvfrom: the socket
	addr              uint64 // exitRecvfrom: src_addr
	alen              uint64 // exitRecvfrom: addrlen pointer
	size              int32  // exitRecvfrom: *addrlen at entry
}

// Start makes a Handler: it opens the hold listeners and serves cfg.DNS on
// 127.0.0.1 and ::1 until Close.
func Start(cfg Config) (*Handler, error) {
	if cfg.Dialer == nil || cfg.DNS == nil {
		return nil, errors.New("netroute: Config needs a Dialer and a DNS server")
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Handler{cfg: cfg, ctx: ctx, cancel: cancel,
		pidfds: pidfds{}, exits: map[int]*exitCall{},
		conns: map[uint64]*conn{}, dnsPeer: map[uint64]netip.AddrPort{}, lastDNS: map[int]netip.AddrPort{},
		slow: map[netip.AddrPort]time.Time{}}
	var err error
	if h.hold, err = newHolder(); err != nil {
		cancel()
		return nil, err
	}
	if err = onLoopback(func(ip netip.Addr) (err error) {
		h.dns4, err = cfg.DNS.Listen(ctx, netip.AddrPortFrom(ip, 0).String())
		return err
	}); err != nil {
		h.Close()
		return nil, err
	}
	h.dns6, _ = cfg.DNS.Listen(ctx, "[::1]:0") // optional, like the IPv6 hold listener
	return h, nil
}

// Close stops the DNS server, the hold listeners and every relay. Call it
// after the traced program is gone.
func (h *Handler) Close() error {
	h.cancel()
	if h.hold != nil {
		h.hold.close()
	}
	h.pidfds.closeAll()
	h.wg.Wait()
	return nil
}

func (h *Handler) log(ev Event) {
	if h.cfg.Log == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	if ev.Name == "" && h.cfg.Names != nil && ev.Dest.IsValid() {
		ev.Name, _ = h.cfg.Names.Name(ev.Dest.Addr())
	}
	h.cfg.Log(ev)
}

// Enter implements ptrace.Handler.
func (h *Handler) Enter(c *ptrace.Syscall) ptrace.Action {
	switch c.Nr {
	case unix.SYS_CONNECT:
		return h.connect(c)
	case unix.SYS_GETSOCKOPT:
		return h.getsockopt(c)
	case unix.SYS_GETPEERNAME:
		return h.getpeername(c)
	case unix.SYS_GETSOCKNAME:
		return h.getsockname(c)
	case unix.SYS_SENDTO:
		return h.sendto(c)
	case unix.SYS_SENDMSG:
		return h.sendmsg(c)
	case unix.SYS_SENDMMSG:
		return h.sendmmsg(c)
	case unix.SYS_RECVFROM:
		return h.recvfrom(c)
	case unix.SYS_SOCKET:
		return h.socket(c)
	case unix.SYS_SETSOCKOPT:
		return h.setsockopt(c)
	case -1:
		// A call through another ABI (the filter fails those itself).
		return ptrace.Fail(unix.ENOSYS)
	}
	return ptrace.Continue
}

// Exit implements ptrace.Handler.
func (h *Handler) Exit(c *ptrace.Syscall) {
	x := h.exits[c.Tid]
	if x == nil {
		return
	}
	delete(h.exits, c.Tid)
	switch x.kind {
	case exitConnect, exitAddrlen:
		c.SetArg(1, x.sockaddr)
		c.SetArg(2, x.addrlen)
		if x.kind == exitConnect {
			h.connectExit(c, x)
		}
	case exitRecvfrom:
		h.recvfromExit(c, x)
	}
}

// Event implements ptrace.Handler.
func (h *Handler) Event(ev *ptrace.Event) {
	if ev.Kind != ptrace.EventExit {
		return
	}
	delete(h.exits, ev.Tid)
	if !ev.Leader {
		return
	}
	h.pidfds.forget(ev.Pid)
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.lastDNS, ev.Pid)
	for k, e := range h.conns {
		if e.pid == ev.Pid && (e.state == failed || e.state == aborted) {
			// a failure nobody asked about, or one read already; the
			// socket went with its process
			delete(h.conns, k)
			if e.state == failed {
				h.failed--
			}
		}
	}
}

// dup copies the program's descriptor fd into carrot and inspects it. The
// caller closes s.
func (h *Handler) dup(c *ptrace.Syscall, fd int) (s int, si sockInfo, err error) {
	s, err = h.pidfds.getfd(c.Pid, c.Tid, fd)
	if err != nil {
		h.noteShort(err)
		return -1, si, err
	}
	if si, err = inspect(s); err != nil {
		unix.Close(s)
		return -1, si, err
	}
	return s, si, nil
}

// errnoOf is the errno in err, or def. carrot's own descriptor table
// being full (EMFILE, ENFILE: a relay holds several descriptors, from a
// limit carrot shares with the program) is ENOBUFS to the program, the
// kernel's word for resources short: EMFILE would speak of the program's
// table, which has room.
func errnoOf(err error, def syscall.Errno) syscall.Errno {
	if outOfDescriptors(err) {
		return unix.ENOBUFS
	}
	var e syscall.Errno
	if errors.As(err, &e) && e != 0 {
		return e
	}
	return def
}

// outOfDescriptors reports whether err is carrot's own descriptor table
// (or the system's) being full.
func outOfDescriptors(err error) bool {
	return errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE)
}

// noteShort tells Config.DescriptorsShort, once, when err is carrot's
// own descriptor table being full.
func (h *Handler) noteShort(err error) {
	if h.cfg.DescriptorsShort != nil && outOfDescriptors(err) {
		h.shortOnce.Do(h.cfg.DescriptorsShort)
	}
}

// abortErrno is the errno of a held connect that carrot could not hand
// over (release): ENOBUFS when carrot ran out of descriptors (errnoOf),
// else ECONNABORTED (the socket closed or changed under it).
func abortErrno(err error) syscall.Errno {
	if outOfDescriptors(err) {
		return unix.ENOBUFS
	}
	return unix.ECONNABORTED
}

func argFd(c *ptrace.Syscall, i int) int { return int(int32(c.Args[i])) }

// --- connect ---

// refusedUnix are local services that would resolve names outside carrot:
// glibc's nscd and systemd-resolved's varlink interface. Refused, glibc
// falls back to the DNS protocol, which carrot answers.
var refusedUnix = []string{
	"/var/run/nscd/socket", "/run/nscd/socket",
	"/run/systemd/resolve/io.systemd.Resolve",
}

func (h *Handler) connect(c *ptrace.Syscall) ptrace.Action {
	fd := argFd(c, 0)
	if int32(c.Args[2]) == 2 {
		// A blocking connect restarted after a signal may still have the
		// address guard gave it (AF_UNIX, or the program's own cut to its
		// family): not AF_UNSPEC, which asks for a disconnect.
		var fam [2]byte
		if _, err := c.Mem().ReadAt(fam[:], c.Args[1]); err == nil && binary.LittleEndian.Uint16(fam[:]) != unix.AF_UNSPEC {
			if a, ok := h.waitAgain(c, fd); ok {
				return a
			}
		}
	}
	op, err := syscalls.Canonical(&syscalls.Call{Pid: c.Pid, Nr: c.Nr, Args: c.Args}, c.Mem())
	if err != nil {
		return ptrace.Fail(errnoOf(err, unix.EINVAL))
	}
	cn := op.(*syscalls.Connect)
	switch cn.Family {
	case unix.AF_INET, unix.AF_INET6:
	case unix.AF_UNIX:
		for _, p := range refusedUnix {
			if cn.Unix == p {
				return ptrace.Fail(unix.ECONNREFUSED) // routine: not logged
			}
		}
		return ptrace.Continue
	default:
		return ptrace.Continue
	}
	dest := cn.Addr
	if !h.cfg.Policy.handled(dest) {
		return ptrace.Continue // loopback or --direct, whatever the socket
	}
	s, si, err := h.dup(c, fd)
	if err != nil {
		return ptrace.Fail(errnoOf(err, unix.EBADF))
	}
	if int(cn.Family) != si.domain && !(si.udp() && si.domain == unix.AF_INET6) {
		// (an IPv6 UDP socket takes an AF_INET address, v4-mapped)
		unix.Close(s)
		return ptrace.Fail(unix.EAFNOSUPPORT)
	}
	switch {
	case si.tcp():
		return h.connectStream(c, fd, s, si, dest)
	case si.udp() && h.cfg.Policy.Datagram(dest) == DNS:
		defer unix.Close(s)
		return h.connectDNS(c, fd, s, si, dest)
	}
	unix.Close(s)
	h.log(Event{Pid: c.Pid, Fd: fd, Op: "refuse", Call: "connect " + sockKind(si), Dest: dest, Err: unix.EPERM})
	return ptrace.Fail(unix.EPERM)
}

func sockKind(si sockInfo) string {
	switch {
	case si.udp():
		return "udp"
	case si.typ == unix.SOCK_RAW:
		return "raw"
	case si.typ == unix.SOCK_DGRAM && (si.proto == unix.IPPROTO_ICMP || si.proto == unix.IPPROTO_ICMPV6):
		return "icmp"
	case si.typ == unix.SOCK_STREAM:
		return "stream proto " + itoa(si.proto)
	}
	return "socket type " + itoa(si.typ)
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	neg := i < 0
	if neg {
		i = -i
	}
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			break
		}
	}
	if neg {
		n--
		b[n] = '-'
	}
	return string(b[n:])
}

// connectStream handles connect of a TCP socket to a routed or DNS
// destination. It owns s.
func (h *Handler) connectStream(c *ptrace.Syscall, fd, s int, si sockInfo, dest netip.AddrPort) ptrace.Action {
	keep := false
	defer func() {
		if !keep {
			unix.Close(s)
		}
	}()
	tstate := tcpState(s)
	h.mu.Lock()
	e := h.conns[si.cookie]
	var state connState
	var errno syscall.Errno
	if e != nil {
		state, errno = e.state, e.errno
		switch {
		case state == failed:
			delete(h.conns, si.cookie)
			h.failed--
		case state == aborted:
			delete(h.conns, si.cookie)
		case tstate == unix.BPF_TCP_CLOSE:
			// The connection, or the held connect, ended under carrot
			// (connect with AF_UNSPEC, the program's own TCP_SYNCNT or
			// TCP_USER_TIMEOUT): this is a new connect. The old one's
			// goroutine sees it was superseded.
			delete(h.conns, si.cookie)
			e = nil
		}
	}
	h.mu.Unlock()
	if e != nil {
		switch state {
		case pending:
			if si.nonblock {
				return ptrace.Fail(unix.EALREADY)
			}
			h.exits[c.Tid] = guard(c, &exitCall{kind: exitConnect, conn: e})
			return ptrace.WantExit
		case failed:
			// a non-blocking connect's failure, reported by connect
			// itself; the kernel's stand-in error goes with it
			unix.GetsockoptInt(s, unix.SOL_SOCKET, unix.SO_ERROR)
			return ptrace.Fail(errno)
		case aborted:
			return ptrace.Fail(unix.ECONNABORTED)
		}
	}
	if tstate != unix.BPF_TCP_CLOSE {
		// Connected (through carrot, or directly to a loopback or --direct
		// address), connecting or listening: the kernel answers without
		// sending anything (0 for the first connect after a non-blocking
		// one completed, then EISCONN; EALREADY; a wait), and ignores the
		// address. Unless another thread disconnects the socket
		// (shutdown) before the call runs: the call gets guard's 2-byte
		// address, which the kernel's answers above never read but which
		// makes it refuse (EINVAL) to connect a socket closed by then.
		h.exits[c.Tid] = guard(c, &exitCall{kind: exitAddrlen})
		return ptrace.WantExit
	}
	if si.domain == unix.AF_INET6 && dest.Addr().Is4In6() {
		if only, err := unix.GetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); err == nil && only != 0 {
			return ptrace.Fail(unix.ENETUNREACH) // as the kernel: no IPv4 on an IPv6-only socket
		}
	}
	t, err := h.hold.target(s, si.domain)
	if err != nil {
		return ptrace.Fail(errnoOf(err, unix.ENETUNREACH))
	}
	e = &conn{cookie: si.cookie, pid: c.Pid, fd: fd, dest: dest, start: time.Now()}
	dial := h.dialer(dest)
	keep = true
	if ov, ok := h.over(s, si, dest); ok {
		e.own = true
		h.add(e)
		st := h.startOver(s, si, ov, e.start)
		h.wg.Add(1)
		go h.runOver(c, e, s, si, t, ov, st, dial)
		return ptrace.Defer
	}
	return h.relayed(c, e, s, si, t, dial)
}

// relayed starts e's relayed connect: it holds the program's socket s
// (which it owns) and dials in a goroutine. It runs on the tracer thread.
func (h *Handler) relayed(c *ptrace.Syscall, e *conn, s int, si sockInfo, t netip.AddrPort, dial func(context.Context) (net.Conn, Way, error)) ptrace.Action {
	// A port the program bound stays what getsockname shows (hold keeps
	// it on the socket; the address towards the exit is carrot's).
	if sa, err := unix.Getsockname(s); err == nil {
		if a, ok := addrPortOf(sa); ok && a.Port() != 0 {
			e.bound = a
		}
	}
	switch err := hold(s, si, t); {
	case err == nil:
	case errors.Is(err, errNoFastOpen):
		h.add(e)
		h.wg.Add(1)
		go h.runDeferred(c, e, s, t, dial)
		return ptrace.Defer
	default:
		h.drop(e)
		unix.Close(s)
		h.noteShort(err)
		return ptrace.Fail(errnoOf(err, unix.ECONNABORTED))
	}
	if begun := h.begin(e.dest); begun != nil {
		dial = begun
	}
	h.add(e)
	h.wg.Add(1)
	go h.run(e, s, t, dial)
	if si.nonblock {
		return ptrace.Return(-int64(unix.EINPROGRESS))
	}
	// A blocking socket: the program's own connect waits in the kernel
	// (signals interrupt it as they would) for the socket that hold left
	// connecting. It runs with guard's 2-byte address so that, should the
	// wait be over and the socket disconnected before the call runs, the
	// kernel refuses it (EINVAL) instead of connecting directly; Exit then
	// reports the real errno, and puts the program's address and length
	// back: the kernel keeps argument registers across a call, and so does
	// carrot. The program's sockaddr itself is untouched.
	h.exits[c.Tid] = guard(c, &exitCall{kind: exitConnect, conn: e, first: true})
	return ptrace.WantExit
}

// guard makes the connect c is stopped at run with a 2-byte address, for
// x, which records the program's address and length for Exit to put back.
//
// Two bytes are the family alone: the kernel's answers for a socket
// already connecting or connected never read more, and a connect of a
// closed socket refuses it (EINVAL: tcp_v4_connect and tcp_v6_connect
// want a whole sockaddr), so no thread of the program can make that call
// connect anywhere. The family read is AF_UNIX, from two bytes carrot
// writes below the thread's stack red zone, not the program's own: an LSM
// may check the address first, and SELinux refuses (EINVAL) an AF_INET or
// AF_INET6 one shorter than its struct, where it lets other families
// through to the protocol. Where the stack cannot be written, the
// program's address is used.
func guard(c *ptrace.Syscall, x *exitCall) *exitCall {
	x.sockaddr, x.addrlen = c.Args[1], c.Args[2]
	at := (c.SP - guardBelow) &^ 7
	var fam [2]byte
	binary.LittleEndian.PutUint16(fam[:], unix.AF_UNIX)
	if _, err := c.Mem().WriteAt(fam[:], at); err == nil {
		c.SetArg(1, at)
	}
	c.SetArg(2, 2)
	return x
}

// guardBelow is how far below the stack pointer guard writes: past the
// 128-byte red zone that the x86-64 and arm64 ABIs leave to a function
// below its stack pointer.
const guardBelow = 256

func (h *Handler) add(e *conn) {
	h.mu.Lock()
	h.conns[e.cookie] = e
	delete(h.dnsPeer, e.cookie)
	h.mu.Unlock()
}

// waitAgain handles connect on a blocking socket whose routed connect is
// pending (a restart after a signal, or a retry): it waits like the first.
func (h *Handler) waitAgain(c *ptrace.Syscall, fd int) (ptrace.Action, bool) {
	s, si, err := h.dup(c, fd)
	if err != nil {
		return ptrace.Action{}, false
	}
	defer unix.Close(s)
	h.mu.Lock()
	e := h.conns[si.cookie]
	h.mu.Unlock()
	if e == nil || !si.tcp() {
		return ptrace.Action{}, false
	}
	h.exits[c.Tid] = &exitCall{kind: exitConnect, conn: e}
	return ptrace.WantExit, true
}

// viaDNS names carrot's own DNS server as a stream's way, in the log.
const viaDNS = "carrot dns"

// dialer is how dest is reached: carrot's DNS server for port 53, the
// exits for everything else.
func (h *Handler) dialer(dest netip.AddrPort) func(context.Context) (net.Conn, Way, error) {
	if dest.Port() == 53 {
		return func(ctx context.Context) (net.Conn, Way, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, "tcp", h.dns4.String())
			return c, Way{Via: viaDNS}, err
		}
	}
	return func(ctx context.Context) (net.Conn, Way, error) {
		return h.cfg.Dialer.Dial(ctx, exitDest(dest))
	}
}

// begin is dialer's function for dest with the first request sent now
// (Beginner), or nil.
func (h *Handler) begin(dest netip.AddrPort) func(context.Context) (net.Conn, Way, error) {
	if b, ok := h.cfg.Dialer.(Beginner); ok && dest.Port() != 53 {
		return b.Begin(exitDest(dest))
	}
	return nil
}

// exitDest is the destination the exits are asked for: no v4-mapped form,
// no zone.
func exitDest(dest netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(dest.Addr().Unmap().WithZone(""), dest.Port())
}

// run dials e's destination while the program's socket s is held, then
// releases it into a relay, or aborts it with the dial's errno.
func (h *Handler) run(e *conn, s int, t netip.AddrPort, dial func(context.Context) (net.Conn, Way, error)) {
	defer h.wg.Done()
	ctx, abandoned := h.watchAbandon(h.ctx, e, s)
	rc, way, err := dial(ctx)
	if abandoned() {
		// The program closed its socket (abandon.go): the stream, if
		// any, is for nobody.
		if rc != nil {
			rc.Close()
		}
		h.drop(e)
		unix.Close(s)
		h.log(Event{Time: time.Now(), Pid: e.pid, Fd: e.fd, Op: "abandon", Dest: e.dest, Dur: time.Since(e.start)})
		return
	}
	h.mu.Lock()
	current := h.conns[e.cookie] == e
	if current && err == nil {
		e.state = connected
		e.local = exitSide(rc, way.Via, e.bound)
	}
	h.mu.Unlock()
	if !current {
		if rc != nil {
			rc.Close()
		}
		unix.Close(s)
		return
	}
	if err != nil {
		h.fail(e, s, errnoOf(err, unix.ENETUNREACH), err)
		return
	}
	q, err := release(s, t)
	if err != nil {
		// The program gave up on the socket (closed it, or its own
		// connect timeout expired) or it changed under us.
		rc.Close()
		h.noteShort(err)
		h.fail(e, s, abortErrno(err), err)
		return
	}
	unix.Close(s)
	h.relay(e, q, rc, way)
}

// runDeferred is run for a blocking socket when hold could not start it
// without blocking: the program's thread stays stopped in connect while the
// exits are tried, and the socket is connected only once they succeed.
func (h *Handler) runDeferred(c *ptrace.Syscall, e *conn, s int, t netip.AddrPort, dial func(context.Context) (net.Conn, Way, error)) {
	defer h.wg.Done()
	rc, way, err := dial(h.ctx)
	if err != nil {
		errno := errnoOf(err, unix.ENETUNREACH)
		h.drop(e)
		unix.Close(s)
		h.log(Event{Time: time.Now(), Pid: e.pid, Fd: e.fd, Op: "connect", Dest: e.dest, Err: err, Dur: time.Since(e.start)})
		c.Resume(ptrace.Fail(errno))
		return
	}
	h.mu.Lock()
	e.state = connected
	e.local = exitSide(rc, way.Via, e.bound)
	h.mu.Unlock()
	// s blocks: connect it from another goroutine and release it once its
	// SYN is out.
	done := make(chan error, 1)
	go func() { done <- unix.Connect(s, unixSockaddr(int(familyOf(s)), t)) }()
	var q *net.TCPConn
	// connect(2) sends the SYN before it waits: yielding lets that
	// goroutine get there, in about 20 µs here, where any sleep would last
	// a millisecond (Go's timers round up to one when the process is
	// otherwise idle). Sleeps only if it is slow to.
	deadline := time.Now().Add(5 * time.Second)
	for turn := 0; tcpState(s) != unix.BPF_TCP_SYN_SENT && time.Now().Before(deadline); turn++ {
		if turn < 1000 {
			runtime.Gosched()
		} else {
			time.Sleep(time.Millisecond)
		}
	}
	q, err = release(s, t)
	if cerr := <-done; err == nil && cerr != nil {
		q.Close()
		q, err = nil, cerr
	}
	if err != nil {
		rc.Close()
		abort(s)
		unix.Close(s)
		h.drop(e)
		h.log(Event{Time: time.Now(), Pid: e.pid, Fd: e.fd, Op: "connect", Dest: e.dest, Err: err, Dur: time.Since(e.start)})
		h.noteShort(err)
		c.Resume(ptrace.Fail(abortErrno(err)))
		return
	}
	unix.Close(s)
	c.Resume(ptrace.Return(0))
	h.relay(e, q, rc, way)
}

func familyOf(s int) int {
	d, _ := unix.GetsockoptInt(s, unix.SOL_SOCKET, unix.SO_DOMAIN)
	return d
}

func (h *Handler) relay(e *conn, q *net.TCPConn, rc net.Conn, way Way) {
	h.log(Event{Time: time.Now(), Pid: e.pid, Fd: e.fd, Op: "connect", Dest: e.dest, Via: way.Via, Passed: way.Passed, Dur: time.Since(e.start)})
	stop := context.AfterFunc(h.ctx, func() { q.Close(); rc.Close() })
	st, err := relay.Pipe(q, rc, h.cfg.Idle)
	stop()
	h.drop(e)
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	h.log(Event{Time: time.Now(), Pid: e.pid, Fd: e.fd, Op: "close", Dest: e.dest, Via: way.Via, Err: err,
		Dur: time.Since(e.start), Up: st.AToB, Down: st.BToA})
}

// fail records e's errno, then aborts the held socket s (the order matters:
// the program may look as soon as the socket is aborted) and closes it.
func (h *Handler) fail(e *conn, s int, errno syscall.Errno, cause error) {
	h.mu.Lock()
	if e.state != failed {
		h.failed++
	}
	e.state, e.errno = failed, errno
	h.mu.Unlock()
	abort(s)
	unix.Close(s)
	h.log(Event{Time: time.Now(), Pid: e.pid, Fd: e.fd, Op: "connect", Dest: e.dest, Own: e.own, Err: cause, Dur: time.Since(e.start)})
}

// reported moves e, failed, to state aborted: the program has read its
// errno at SO_ERROR.
func (h *Handler) reported(e *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conns[e.cookie] != e || e.state != failed {
		return
	}
	h.failed--
	e.state = aborted
	h.abortedFIFO = append(h.abortedFIFO, e)
	if len(h.abortedFIFO) > 2*abortedLimit {
		// Drop the entries no longer aborted, then the oldest past the
		// limit.
		var keep []*conn
		for _, a := range h.abortedFIFO {
			if h.conns[a.cookie] == a && a.state == aborted {
				keep = append(keep, a)
			}
		}
		for len(keep) > abortedLimit {
			delete(h.conns, keep[0].cookie)
			keep = keep[1:]
		}
		h.abortedFIFO = keep
	}
}

func (h *Handler) drop(e *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conns[e.cookie] == e {
		if e.state == failed {
			h.failed--
		}
		delete(h.conns, e.cookie)
	}
}

// connectExit finishes a blocking connect: a failure is reported with the
// exits' errno instead of the stand-in the kernel returned. A call that a
// signal interrupted is left alone; the retry or restart finds the outcome.
func (h *Handler) connectExit(c *ptrace.Syscall, x *exitCall) {
	if interrupted(c.Ret) {
		return
	}
	e := x.conn
	h.mu.Lock()
	state, errno := e.state, e.errno
	if state == failed && h.conns[e.cookie] == e {
		delete(h.conns, e.cookie)
		h.failed--
	}
	h.mu.Unlock()
	switch {
	case state == failed:
		c.SetRet(-int64(errno))
		// Consume the kernel's stand-in error (ECONNRESET) if the call
		// did not: it must not surface in a later read or SO_ERROR.
		if s, err := h.pidfds.getfd(c.Pid, c.Tid, e.fd); err == nil {
			unix.GetsockoptInt(s, unix.SOL_SOCKET, unix.SO_ERROR)
			unix.Close(s)
		}
	case c.Ret == -int64(unix.EALREADY) && x.first:
		// SO_SNDTIMEO ran out: a first connect says EINPROGRESS then.
		c.SetRet(-int64(unix.EINPROGRESS))
	}
}

// Kernel-internal errnos a call returns when a signal interrupts it
// (include/linux/errno.h); the kernel turns them into EINTR or a restart.
const (
	errRestartSys     = 512
	errRestartNoIntr  = 513
	errRestartNoHand  = 514
	errRestartRestart = 516
)

func interrupted(ret int64) bool {
	switch -ret {
	case int64(unix.EINTR), errRestartSys, errRestartNoIntr, errRestartNoHand, errRestartRestart:
		return true
	}
	return false
}

// --- getsockopt(SO_ERROR), getpeername ---

func (h *Handler) getsockopt(c *ptrace.Syscall) ptrace.Action {
	if int(c.Args[1]) != unix.SOL_SOCKET || int(c.Args[2]) != unix.SO_ERROR {
		return ptrace.Continue
	}
	h.mu.Lock()
	n := h.failed
	h.mu.Unlock()
	if n == 0 {
		return ptrace.Continue
	}
	fd := argFd(c, 0)
	s, si, err := h.dup(c, fd)
	if err != nil {
		return ptrace.Continue // the kernel reports EBADF, ENOTSOCK
	}
	defer unix.Close(s)
	h.mu.Lock()
	e := h.conns[si.cookie]
	if e == nil || e.state != failed {
		h.mu.Unlock()
		return ptrace.Continue
	}
	errno := e.errno
	h.mu.Unlock()
	var v [4]byte
	binary.LittleEndian.PutUint32(v[:], uint32(errno))
	if a := writeOut(c, c.Args[3], c.Args[4], v[:]); a != nil {
		return *a
	}
	unix.GetsockoptInt(s, unix.SOL_SOCKET, unix.SO_ERROR) // the stand-in
	h.reported(e)
	return ptrace.Return(0)
}

// writeOut writes a call's variable-length result the way the kernel's
// move_addr_to_user does: at most *lenp bytes of v at p, then len(v) at
// lenp. It returns the failing action, or nil.
func writeOut(c *ptrace.Syscall, p, lenp uint64, v []byte) *ptrace.Action {
	var lb [4]byte
	if _, err := c.Mem().ReadAt(lb[:], lenp); err != nil {
		a := ptrace.Fail(unix.EFAULT)
		return &a
	}
	n := int32(binary.LittleEndian.Uint32(lb[:]))
	if n < 0 {
		a := ptrace.Fail(unix.EINVAL)
		return &a
	}
	if int(n) > len(v) {
		n = int32(len(v))
	}
	if n > 0 {
		if _, err := c.Mem().WriteAt(v[:n], p); err != nil {
			a := ptrace.Fail(unix.EFAULT)
			return &a
		}
	}
	binary.LittleEndian.PutUint32(lb[:], uint32(len(v)))
	if _, err := c.Mem().WriteAt(lb[:], lenp); err != nil {
		a := ptrace.Fail(unix.EFAULT)
		return &a
	}
	return nil
}

// nameSocket returns a duplicate of the socket a getpeername or
// getsockname is about (arg 0), unless carrot routes nothing for which the
// answer could be its own (dns: its DNS peers count too).
func (h *Handler) nameSocket(c *ptrace.Syscall, dns bool) (int, sockInfo, bool) {
	h.mu.Lock()
	empty := len(h.conns) == 0 && (!dns || len(h.dnsPeer) == 0)
	h.mu.Unlock()
	if empty {
		return -1, sockInfo{}, false
	}
	s, si, err := h.dup(c, argFd(c, 0))
	return s, si, err == nil
}

func (h *Handler) getpeername(c *ptrace.Syscall) ptrace.Action {
	s, si, ok := h.nameSocket(c, true)
	if !ok {
		return ptrace.Continue
	}
	defer unix.Close(s)
	h.mu.Lock()
	var peer netip.AddrPort
	e := h.conns[si.cookie]
	if e != nil && e.state == connected {
		peer = e.dest
	} else if p, ok := h.dnsPeer[si.cookie]; ok {
		peer = p
	}
	h.mu.Unlock()
	if peer.IsValid() && e != nil && h.disconnected(e, s) {
		return ptrace.Continue // the kernel's ENOTCONN is right
	}
	if !peer.IsValid() {
		return ptrace.Continue // not ours, or not connected: the kernel's answer is right
	}
	if a := writeOut(c, c.Args[1], c.Args[2], sockaddr(si.domain, peer)); a != nil {
		return *a
	}
	return ptrace.Return(0)
}

// disconnected reports whether s, the socket of e, a stream carrot
// answers getpeername and getsockname for, has been disconnected since
// (connect with AF_UNSPEC), and if so forgets e: the kernel's answers are
// then right. The relay, which learns of it from its own end a moment
// later, must not be waited for.
func (h *Handler) disconnected(e *conn, s int) bool {
	if _, err := unix.Getpeername(s); err == nil {
		return false
	}
	h.drop(e)
	return true
}

// exitSide is what a relayed socket's getsockname shows: the local
// address of rc, carrot's stream to an exit (the program's socket is on
// loopback), with the port and address the program bound, if it bound
// them (none for carrot's DNS server).
func exitSide(rc net.Conn, via string, bound netip.AddrPort) netip.AddrPort {
	a, ok := rc.LocalAddr().(*net.TCPAddr)
	if via == viaDNS || !ok {
		return netip.AddrPort{}
	}
	local := a.AddrPort()
	if !bound.IsValid() {
		return local
	}
	ip := bound.Addr()
	if ip.IsUnspecified() {
		ip = local.Addr()
	}
	return netip.AddrPortFrom(ip, bound.Port())
}

// getsockname of a relayed socket shows carrot's address towards the exit,
// where the kernel would show the loopback side of the relay: the address
// the program's traffic leaves this host from, as on a direct connection
// or on the program's own socket.
func (h *Handler) getsockname(c *ptrace.Syscall) ptrace.Action {
	s, si, ok := h.nameSocket(c, false)
	if !ok {
		return ptrace.Continue
	}
	defer unix.Close(s)
	h.mu.Lock()
	var local netip.AddrPort
	e := h.conns[si.cookie]
	if e != nil && e.state == connected && !e.own {
		local = e.local
	}
	h.mu.Unlock()
	if !local.IsValid() || h.disconnected(e, s) {
		return ptrace.Continue
	}
	ip := local.Addr().Unmap()
	switch {
	case si.domain == unix.AF_INET6 && ip.Is4():
		ip = netip.AddrFrom16(ip.As16()) // v4-mapped, as the kernel shows it
	case si.domain == unix.AF_INET && !ip.Is4():
		return ptrace.Continue // an IPv4 socket cannot show an IPv6 address
	}
	if a := writeOut(c, c.Args[1], c.Args[2], sockaddr(si.domain, netip.AddrPortFrom(ip, local.Port()))); a != nil {
		return *a
	}
	return ptrace.Return(0)
}

// --- socket ---

// socket sees the sockets Filter stops: those of a domain it does not let
// through, of type SOCK_PACKET or SOCK_SEQPACKET, and of the protocols
// refusedProtocols lists. The kernel reads all three as ints.
func (h *Handler) socket(c *ptrace.Syscall) ptrace.Action {
	domain, typ, proto := int(int32(c.Args[0])), int(int32(c.Args[1]))&sockTypeMask, uint32(c.Args[2])
	ip := domain == unix.AF_INET || domain == unix.AF_INET6
	switch {
	case ip && (typ == unix.SOCK_SEQPACKET || slices.Contains(refusedProtocols, proto)):
		h.log(Event{Pid: c.Pid, Fd: -1, Op: "refuse", Call: "socket protocol " + itoa(int(proto)) + " type " + itoa(typ), Err: unix.EPROTONOSUPPORT})
		return ptrace.Fail(unix.EPROTONOSUPPORT)
	case domain == unix.AF_PACKET:
		// Link-layer sockets would bypass every rule here.
		h.log(Event{Pid: c.Pid, Fd: -1, Op: "refuse", Call: "socket AF_PACKET", Err: unix.EPERM})
		return ptrace.Fail(unix.EPERM)
	case domain == unix.AF_INET && typ == unix.SOCK_PACKET:
		// The old name of a link-layer socket: the kernel makes it one.
		h.log(Event{Pid: c.Pid, Fd: -1, Op: "refuse", Call: "socket SOCK_PACKET", Err: unix.EPERM})
		return ptrace.Fail(unix.EPERM)
	case slices.Contains(untrappedDomains, uint32(domain)), domain == unix.AF_ALG:
		// (AF_ALG: the kernel's crypto, on the machine)
		return ptrace.Continue
	}
	// Every other family can reach something off the machine without IP
	// (AF_XDP, AF_VSOCK, Bluetooth, CAN...) or carries TCP or UDP of its
	// own (AF_SMC, AF_RXRPC, AF_KCM): as if the kernel did not have it.
	h.log(Event{Pid: c.Pid, Fd: -1, Op: "refuse", Call: "socket domain " + itoa(domain), Err: unix.EAFNOSUPPORT})
	return ptrace.Fail(unix.EAFNOSUPPORT)
}
