package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/carrot-project/carrot/internal/exit"
	"github.com/carrot-project/carrot/internal/exitdial"
)

func init() {
	register(&command{
		Name:    "exit",
		Summary: "serve as an exit: a SOCKS5 (or SOCKS5-in-TLS) server that is never an open proxy",
		Run:     runExit,
	})
}

// prefixList is a repeatable CIDR flag.
type prefixList []netip.Prefix

func (p *prefixList) String() string {
	s := make([]string, len(*p))
	for i, x := range *p {
		s[i] = x.String()
	}
	return strings.Join(s, ",")
}

func (p *prefixList) Set(v string) error {
	for _, f := range strings.Split(v, ",") {
		x, err := exit.ParsePrefix(strings.TrimSpace(f))
		if err != nil {
			return err
		}
		*p = append(*p, x)
	}
	return nil
}

func runExit(ctx context.Context, e *env) int {
	fs := e.flags("carrot exit", exitHelp)
	var allow, deny prefixList
	listen := fs.String("listen", "", "address to listen on, host:port (required)")
	users := fs.String("users", "", "file of user:password lines; required unless --no-auth")
	noAuth := fs.Bool("no-auth", false, "accept clients without credentials (only on a loopback --listen address)")
	fs.Var(&allow, "allow", "destination CIDR to allow, overriding a less specific deny (repeatable)")
	fs.Var(&deny, "deny", "destination CIDR to deny (repeatable)")
	tlsCert := fs.String("tls-cert", "", "PEM certificate: serve SOCKS5 inside TLS (socks5+tls://)")
	tlsKey := fs.String("tls-key", "", "PEM private key for --tls-cert")
	maxConns := fs.Int("max-conns", 1024, "authenticated connections at once at most (waiting for a request, dialing or relaying; clients not yet authenticated have a budget of their own)")
	idle := durationFlag(fs, "idle-timeout", exit.DefaultIdleTimeout, "close a connection after this long without a byte either way (0: never)")
	dialTimeout := durationFlag(fs, "dial-timeout", 10*time.Second, "resolving and connecting to a destination")
	hsTimeout := durationFlag(fs, "handshake-timeout", 10*time.Second, "a client's TLS and SOCKS5 handshake")
	nameTTL := durationFlag(fs, "name-ttl", 5*time.Second, "keep a resolved name's addresses this long (0: resolve every request)")
	if code, ok := e.parse(fs); !ok {
		return code
	}
	// SIGHUP is caught from here on (its default would end the exit
	// while it starts); one that comes before serving is a reload then.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	usageErr := func(format string, a ...any) int { return e.usageError("exit: "+format, a...) }
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case *listen == "":
		return usageErr("--listen is required")
	case *noAuth && *users != "":
		return usageErr("--no-auth and --users exclude each other")
	case !*noAuth && *users == "":
		return usageErr("authentication is required: give --users FILE (or --no-auth on a loopback address)")
	case (*tlsCert == "") != (*tlsKey == ""):
		return usageErr("--tls-cert and --tls-key go together")
	case *maxConns < 1:
		return usageErr("--max-conns must be at least 1")
	case *nameTTL < 0:
		return usageErr("--name-ttl must not be negative")
	case *idle < 0:
		return usageErr("--idle-timeout must not be negative (0: never)")
	case *dialTimeout <= 0:
		return usageErr("--dial-timeout must be positive")
	case *hsTimeout <= 0:
		return usageErr("--handshake-timeout must be positive")
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return usageErr("--listen %q: %v", *listen, err)
	}
	if *noAuth && !isLoopbackHost(host) {
		return usageErr("--no-auth is allowed only on a loopback address (127.0.0.0/8, ::1, localhost), not %q: that would be an open proxy", host)
	}

	cfg := exit.Config{
		MaxConns:         *maxConns,
		IdleTimeout:      *idle,
		DialTimeout:      *dialTimeout,
		HandshakeTimeout: *hsTimeout,
		NameTTL:          *nameTTL,
		Log:              slog.New(slog.NewTextHandler(e.Stderr, nil)),
	}
	if *idle == 0 {
		cfg.IdleTimeout = -1
	}
	if *nameTTL == 0 {
		cfg.NameTTL = -1
	}
	if *users != "" {
		if cfg.Users, err = exit.LoadUsers(*users); err != nil {
			e.errorf("exit: users: %v", err)
			return exitFailure
		}
	}
	pin := ""
	if *tlsCert != "" {
		cert, err := exit.LoadKeyPair(*tlsCert, *tlsKey)
		if err != nil {
			e.errorf("exit: %v", err)
			return exitFailure
		}
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		pin = exitdial.Pin(cert.Certificate[0])
	}
	ln, err := exit.Listen(ctx, *listen)
	if err != nil {
		e.errorf("exit: %v", err)
		return exitFailure
	}
	if ap, err := netip.ParseAddrPort(ln.Addr().String()); *noAuth && (err != nil || !ap.Addr().Unmap().IsLoopback()) {
		// "localhost" is whatever the resolver says: the address bound
		// is what decides whether this would be an open proxy.
		ln.Close()
		e.errorf("exit: --no-auth is allowed only on a loopback address, and %s resolved to %s: that would be an open proxy", host, ln.Addr())
		return exitUsage
	}
	// The exit's own addresses are asked of the kernel at each request; a
	// kernel (or sandbox) that will not say would have every request
	// denied, so it is found out now.
	if own, err := exit.IsLocal(netip.MustParseAddr("127.0.0.1")); err != nil || !own {
		ln.Close()
		if err == nil {
			err = errors.New("127.0.0.1 is not said to be local")
		}
		e.errorf("exit: cannot ask the kernel which addresses are this host's (a netlink route lookup: %v), so every destination would be denied", err)
		return exitFailure
	}
	cfg.Policy = exit.NewPolicy(allow, deny, exit.IsLocalTo)
	srv, err := exit.New(cfg)
	if err != nil {
		ln.Close()
		e.errorf("exit: %v", err)
		return exitFailure
	}
	// A connection holds two descriptors (two more for each direction
	// while bytes flow through its splice pipe): say so where the limit
	// cannot hold --max-conns of them, rather than let requests fail.
	if lim, need := nofileLimit(), 2*uint64(*maxConns)+64; lim != 0 && lim < need {
		fmt.Fprintf(e.Stderr, "carrot exit: warning: the file descriptor limit (%d) is below what --max-conns %d needs (about %d, two per connection); raise it (ulimit -n, systemd's LimitNOFILE=) or lower --max-conns\n", lim, *maxConns, need)
	}
	scheme := "socks5"
	if pin != "" {
		scheme = "socks5+tls"
	}
	msg := fmt.Sprintf("carrot exit: listening on %s (%s", ln.Addr(), scheme)
	if *noAuth {
		msg += ", no authentication"
	}
	if exit.FastOpen() {
		msg += ", TCP fast open"
	}
	if pin != "" {
		msg += ", pin=" + pin // last: the part a client's URL takes, up to ")"
	}
	fmt.Fprintln(e.Stderr, msg+")")

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	go reloadUsers(ctx, hup, srv, *users, cfg.Log)
	if err := srv.Serve(ctx, ln); err != nil {
		e.errorf("exit: %v", err)
		return exitFailure
	}
	return exitOK
}

// reloadUsers re-reads the users file at each SIGHUP (hup), as danted
// does: the accounts read apply to the handshakes to come, and live
// relays are not touched; a file that cannot be read or parsed leaves the
// accounts as they were. Without a users file (--no-auth) the signal is
// only logged.
func reloadUsers(ctx context.Context, hup <-chan os.Signal, srv *exit.Server, path string, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		if path == "" {
			log.Warn("SIGHUP ignored: no --users file to re-read (--no-auth)")
			continue
		}
		u, err := exit.LoadUsers(path)
		if err == nil {
			err = srv.SetUsers(u)
		}
		if err != nil {
			log.Error("users not re-read: the accounts stay as they were", "file", path, "err", err)
			continue
		}
		log.Info("users re-read: they apply to new connections", "file", path, "users", len(u))
	}
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

const exitHelp = `
usage: carrot exit --listen ADDR (--users FILE | --no-auth) [--allow CIDR ...] [--deny CIDR ...] [--tls-cert F --tls-key F]

Loopback, private, link-local, multicast, documentation and other special
ranges, and the exit's own addresses, are denied unless --allow names them;
the most specific matching CIDR decides. One log line per connection on stderr.
SIGHUP re-reads the --users file (for new connections); SIGINT and SIGTERM
stop the exit, closing every connection.
`
