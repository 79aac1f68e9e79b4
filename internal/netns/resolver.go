package netns

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// PoisonResolver is a censor's DNS server: it answers the names it was
// given with the addresses it was given (A and AAAA), every other name
// with NXDOMAIN, over UDP and TCP on port 53, and counts what it is asked.
type PoisonResolver struct {
	answers map[string][2]netip.Addr // lower-case name without the root dot

	queries atomic.Int64
	mu      sync.Mutex
	names   []string
}

// Queries is how many queries the resolver has received.
func (r *PoisonResolver) Queries() int64 { return r.queries.Load() }

// Names are the names it was asked, in order.
func (r *PoisonResolver) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.names...)
}

func startPoisonResolver(t testing.TB, h *Host, ip netip.Addr, answers map[string][2]netip.Addr) *PoisonResolver {
	t.Helper()
	r := &PoisonResolver{answers: map[string][2]netip.Addr{}}
	for name, a := range answers {
		r.answers[strings.ToLower(name)] = a
	}
	addr := netip.AddrPortFrom(ip, 53).String()
	var pc net.PacketConn
	if err := h.Do(func() (err error) {
		pc, err = net.ListenPacket("udp", addr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ln, err := h.Listen("tcp", addr)
	if err != nil {
		pc.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close(); ln.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if out := r.answer(buf[:n]); out != nil {
				pc.WriteTo(out, from)
			}
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				var l [2]byte
				for {
					if _, err := io.ReadFull(c, l[:]); err != nil {
						return
					}
					q := make([]byte, binary.BigEndian.Uint16(l[:]))
					if _, err := io.ReadFull(c, q); err != nil {
						return
					}
					out := r.answer(q)
					if out == nil {
						return
					}
					c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(out))), out...))
				}
			}()
		}
	}()
	return r
}

func (r *PoisonResolver) answer(q []byte) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil {
		return nil
	}
	question, err := p.Question()
	if err != nil {
		return nil
	}
	name := strings.ToLower(strings.TrimSuffix(question.Name.String(), "."))
	r.queries.Add(1)
	r.mu.Lock()
	r.names = append(r.names, name)
	r.mu.Unlock()
	a, known := r.answers[name]
	hdr := dnsmessage.Header{ID: h.ID, Response: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
	if !known {
		hdr.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, hdr)
	b.StartQuestions()
	b.Question(question)
	b.StartAnswers()
	rh := dnsmessage.ResourceHeader{Name: question.Name, Class: dnsmessage.ClassINET, TTL: 60}
	switch {
	case known && question.Type == dnsmessage.TypeA && a[0].Is4():
		b.AResource(rh, dnsmessage.AResource{A: a[0].As4()})
	case known && question.Type == dnsmessage.TypeAAAA && a[1].Is6():
		b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: a[1].As16()})
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return out
}
