package fakedns

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Server answers DNS queries from a Pool.
type Server struct {
	Pool *Pool
	// TTL of the answers, in seconds; 0 means DefaultTTL (60). Short, so
	// that programs come back to us rather than cache past a restart of
	// the tracer, and so that addresses can be taken back for other names:
	// the Pool keeps a name's addresses at least TTL after its last answer
	// (it raises its MinAge to TTL).
	TTL uint32
	// NoAAAA answers AAAA queries with no record (NODATA: NOERROR, empty),
	// so programs see each name with one IPv4 fake address only; see the
	// package doc.
	NoAAAA bool
	// Search and Ndots are the program's resolver's search list and ndots
	// option (its resolv.conf: Resolv reads them). With ndots above 1, as
	// in every Kubernetes pod (ndots:5), a resolver asks for a name with
	// fewer dots with each search domain appended before it asks for the
	// name itself, and takes the first answer: since every name gets one
	// here, "origin.test" would reach the exit as
	// "origin.test.default.svc.cluster.local", which it cannot resolve. So
	// such an expansion is answered NXDOMAIN, as a real resolver outside
	// the cluster answers it, and the resolver goes on to the name it was
	// given, which the exit resolves. A name that is itself being
	// expanded (the program asked for "svc.cluster.local", which ends in
	// a search domain too) is answered when it comes as is. With ndots 1
	// or less (a desktop's "search home.lan") nothing changes: an
	// expansion is then of a name without dots, and is most likely what
	// was meant (an intranet name the exit resolves).
	Search []string
	Ndots  int

	mu       sync.Mutex
	expanded map[string]time.Time // names seen with a search domain appended, when
}

// searchExpansion reports whether name (canonical) looks like a resolver's
// expansion of a shorter name with a search domain (see Server.Search):
// the shorter name, with fewer than Ndots dots, is remembered as being
// expanded, so that it is answered when it comes as is.
func (s *Server) searchExpansion(name string) bool {
	if s.Ndots <= 1 || len(s.Search) == 0 {
		return false
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.expanded[name]; ok && now.Sub(t) < expansionMemory {
		return false // the name the program asked for, after its expansions
	}
	found := false
	for _, dom := range s.Search {
		base, ok := strings.CutSuffix(name, "."+Canonical(dom))
		if !ok || base == "" || strings.Count(base, ".") >= s.Ndots {
			continue
		}
		if s.expanded == nil || len(s.expanded) > 4096 {
			s.expanded = map[string]time.Time{}
		}
		s.expanded[base] = now
		found = true
	}
	return found
}

// expansionMemory is how long a name being expanded is remembered.
const expansionMemory = 30 * time.Second

// Answer returns the response to one DNS message, or nil when the message
// deserves none (it is a response itself, or too short to carry an ID).
func (s *Server) Answer(query []byte) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		if len(query) < 12 {
			return nil
		}
		return s.fail(dnsmessage.Header{ID: binary.BigEndian.Uint16(query)}, nil, dnsmessage.RCodeFormatError)
	}
	if h.Response {
		return nil
	}
	if h.OpCode != 0 {
		return s.fail(h, nil, dnsmessage.RCodeNotImplemented)
	}
	q, err := p.Question()
	if err != nil {
		return s.fail(h, nil, dnsmessage.RCodeFormatError)
	}
	if _, err := p.Question(); err != dnsmessage.ErrSectionDone {
		return s.fail(h, nil, dnsmessage.RCodeFormatError) // exactly one question
	}
	name := q.Name.String()
	if !validName(name) {
		return s.fail(h, &q, dnsmessage.RCodeRefused)
	}
	ttl := s.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	hold := time.Duration(ttl) * time.Second
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), dnsmessage.Header{
		ID: h.ID, Response: true, Authoritative: true,
		RecursionDesired: h.RecursionDesired, RecursionAvailable: true,
	})
	b.EnableCompression()
	b.StartQuestions()
	b.Question(q)
	b.StartAnswers()
	rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: ttl}
	if q.Class == dnsmessage.ClassINET && isLocalhost(name) {
		// RFC 6761: localhost is the loopback address, answered here and
		// never a name for the exit (which would refuse it anyway). With
		// NoAAAA, IPv4's only, as every other name: a resolver asks DNS
		// for localhost only when /etc/hosts lacks that family, and a
		// program that then got ::1 first would miss a server that
		// listens on 127.0.0.1 only.
		switch q.Type {
		case dnsmessage.TypeA:
			b.AResource(rh, dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}})
		case dnsmessage.TypeAAAA:
			if !s.NoAAAA {
				b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: netip.IPv6Loopback().As16()})
			}
		}
	} else if q.Class == dnsmessage.ClassINET && s.searchExpansion(Canonical(name)) {
		return s.fail(h, &q, dnsmessage.RCodeNameError)
	} else if q.Class == dnsmessage.ClassINET && Canonical(name) != "" {
		switch q.Type {
		case dnsmessage.TypeA:
			v4, _ := s.Pool.addrs(name, hold)
			if !v4.IsValid() {
				return s.fail(h, &q, dnsmessage.RCodeServerFailure) // no address free
			}
			b.AResource(rh, dnsmessage.AResource{A: v4.As4()})
		case dnsmessage.TypeAAAA:
			if !s.NoAAAA {
				_, v6 := s.Pool.addrs(name, hold)
				if !v6.IsValid() {
					return s.fail(h, &q, dnsmessage.RCodeServerFailure)
				}
				b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: v6.As16()})
			}
		case dnsmessage.TypePTR:
			if ip, ok := reverseAddr(name); ok {
				if n, ok := s.Pool.Name(ip); ok {
					if target, err := dnsmessage.NewName(n + "."); err == nil {
						b.PTRResource(rh, dnsmessage.PTRResource{PTR: target})
					}
				}
			}
		}
	}
	out, err := b.Finish()
	if err != nil {
		return s.fail(h, &q, dnsmessage.RCodeServerFailure)
	}
	return out
}

// fail builds an answer with no records and rcode.
func (s *Server) fail(h dnsmessage.Header, q *dnsmessage.Question, rcode dnsmessage.RCode) []byte {
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), dnsmessage.Header{
		ID: h.ID, Response: true, OpCode: h.OpCode, RCode: rcode,
		RecursionDesired: h.RecursionDesired, RecursionAvailable: true,
	})
	if q != nil {
		b.StartQuestions()
		b.Question(*q)
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return out
}

// validName accepts names that can travel to an exit as a SOCKS5 domain
// address and mean the same thing there: printable ASCII, no spaces, at
// most 253 characters without the root dot.
func validName(name string) bool {
	n := strings.TrimSuffix(name, ".")
	if len(n) > 253 {
		return false
	}
	for i := 0; i < len(n); i++ {
		if c := n[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// reverseAddr parses an in-addr.arpa or ip6.arpa name.
func reverseAddr(name string) (netip.Addr, bool) {
	name = Canonical(name)
	if rest, ok := strings.CutSuffix(name, ".in-addr.arpa"); ok {
		parts := strings.Split(rest, ".")
		if len(parts) != 4 {
			return netip.Addr{}, false
		}
		var b [4]byte
		for i, s := range parts {
			v, err := strconv.ParseUint(s, 10, 8)
			if err != nil {
				return netip.Addr{}, false
			}
			b[3-i] = byte(v)
		}
		return netip.AddrFrom4(b), true
	}
	if rest, ok := strings.CutSuffix(name, ".ip6.arpa"); ok {
		parts := strings.Split(rest, ".")
		if len(parts) != 32 {
			return netip.Addr{}, false
		}
		var b [16]byte
		for i, s := range parts {
			v, err := strconv.ParseUint(s, 16, 4)
			if err != nil || len(s) != 1 {
				return netip.Addr{}, false
			}
			nib := 31 - i
			b[nib/2] |= byte(v) << (4 * (1 - nib%2))
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}

// ServeUDP answers datagrams on pc until ctx ends or pc fails.
func (s *Server) ServeUDP(ctx context.Context, pc net.PacketConn) error {
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	buf := make([]byte, 65535)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if out := s.Answer(buf[:n]); out != nil {
			pc.WriteTo(out, from)
		}
	}
}

// ServeTCP answers length-prefixed queries on each connection accepted from
// ln until ctx ends or ln fails. An idle connection is closed after 10s.
func (s *Server) ServeTCP(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			cstop := context.AfterFunc(ctx, func() { c.Close() })
			defer cstop()
			s.serveConn(c)
		}()
	}
}

func (s *Server) serveConn(c net.Conn) {
	var l [2]byte
	for {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, q); err != nil {
			return
		}
		out := s.Answer(q)
		if out == nil {
			continue
		}
		msg := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(out)), uint16(len(out)))
		if _, err := c.Write(append(msg, out...)); err != nil {
			return
		}
	}
}

// ErrNoPool is returned by Listen when the server has no pool.
var ErrNoPool = errors.New("fakedns: server without a pool")

// Listen serves UDP and TCP on addr (host:port; port 0 picks one, the same
// for both) until ctx ends. It returns the address served.
func (s *Server) Listen(ctx context.Context, addr string) (netip.AddrPort, error) {
	if s.Pool == nil {
		return netip.AddrPort{}, ErrNoPool
	}
	for range 10 {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return netip.AddrPort{}, err
		}
		ap := netip.MustParseAddrPort(ln.Addr().String())
		pc, err := net.ListenPacket("udp", ap.String())
		if err != nil {
			ln.Close()
			if strings.HasSuffix(addr, ":0") {
				continue // the port is taken for UDP; try another
			}
			return netip.AddrPort{}, err
		}
		go s.ServeTCP(ctx, ln)
		go s.ServeUDP(ctx, pc)
		return ap, nil
	}
	return netip.AddrPort{}, errors.New("fakedns: no port free for both UDP and TCP")
}

// isLocalhost reports whether name is localhost or a name under it
// (RFC 6761, section 6.3).
func isLocalhost(name string) bool {
	n := Canonical(name)
	return n == "localhost" || strings.HasSuffix(n, ".localhost")
}

// Resolv reads the search list and ndots of a resolv.conf (as glibc reads
// them: the last search or domain line wins; ndots defaults to 1, and is
// capped at 15). A file that cannot be read gives none.
func Resolv(path string) (search []string, ndots int) {
	b, err := os.ReadFile(path)
	ndots = 1
	if err != nil {
		return nil, ndots
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "search", "domain":
			search = append([]string(nil), f[1:]...)
		case "options":
			for _, o := range f[1:] {
				if v, ok := strings.CutPrefix(o, "ndots:"); ok {
					if n, err := strconv.Atoi(v); err == nil && n >= 0 {
						ndots = min(n, 15)
					}
				}
			}
		}
	}
	return search, ndots
}
