package socks5

import (
	"bytes"
	"testing"
)

// Each decoder must never panic, must consume no more than one message, and
// whatever it accepts must encode back to exactly the bytes it consumed.

func FuzzReadGreeting(f *testing.F) {
	f.Add([]byte("\x05\x01\x00"))
	f.Add([]byte("\x05\x02\x00\x02extra"))
	f.Add([]byte("\x04\x01\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		methods, err := ReadGreeting(r)
		if err != nil {
			return
		}
		n := len(in) - r.Len()
		if got := AppendGreeting(nil, methods...); !bytes.Equal(got, in[:n]) {
			t.Fatalf("re-encoded %q, consumed %q", got, in[:n])
		}
	})
}

func FuzzReadUserPass(f *testing.F) {
	f.Add([]byte("\x01\x05alice\x06s3cret"))
	f.Add([]byte("\x01\x00\x00"))
	f.Add([]byte("\x01\xff"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		u, p, err := ReadUserPass(r)
		if err != nil {
			return
		}
		n := len(in) - r.Len()
		got, err := AppendUserPass(nil, u, p)
		if err != nil || !bytes.Equal(got, in[:n]) {
			t.Fatalf("re-encoded %q (%v), consumed %q", got, err, in[:n])
		}
	})
}

func FuzzReadRequest(f *testing.F) {
	f.Add([]byte("\x05\x01\x00\x01\xc0\x00\x02\x01\x00\x50"))
	f.Add([]byte("\x05\x01\x00\x03\x0borigin.test\x01\xbb"))
	f.Add([]byte("\x05\x01\x00\x04\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x50"))
	f.Add([]byte("\x05\x01\x00\x03\x00\x00\x50"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		req, err := ReadRequest(r)
		if err != nil {
			return
		}
		n := len(in) - r.Len()
		got, err := AppendRequest(nil, req.Cmd, req.Dest)
		if err != nil {
			t.Fatalf("accepted %q but cannot encode %+v: %v", in[:n], req, err)
		}
		// An IPv4-mapped IPv6 address decodes to IPv4 and so re-encodes
		// shorter; everything else must round-trip byte for byte.
		if in[3] == AtypIPv6 && req.Dest.IP.Is4() || in[2] != 0 { // RSV is ignored on input
			return
		}
		if !bytes.Equal(got, in[:n]) {
			t.Fatalf("re-encoded %q, consumed %q", got, in[:n])
		}
	})
}

func FuzzReadReply(f *testing.F) {
	f.Add([]byte("\x05\x00\x00\x01\x7f\x00\x00\x01\x04\x38"))
	f.Add([]byte("\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("\x05\x00\x00\x03\x01a\x00\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		rep, bound, err := ReadReply(r)
		if err != nil {
			return
		}
		n := len(in) - r.Len()
		got, err := AppendReply(nil, rep, bound)
		if err != nil {
			t.Fatalf("accepted %q but cannot encode: %v", in[:n], err)
		}
		if in[3] == AtypIPv6 && bound.IP.Is4() {
			return
		}
		if in[2] != 0 { // RSV is ignored on input
			return
		}
		if !bytes.Equal(got, in[:n]) {
			t.Fatalf("re-encoded %q, consumed %q", got, in[:n])
		}
	})
}

// FuzzServerHandshake feeds arbitrary client bytes to the whole server side:
// it must never panic nor accept a request it cannot re-encode.
func FuzzServerHandshake(f *testing.F) {
	f.Add([]byte("\x05\x01\x02\x01\x05alice\x06s3cret\x05\x01\x00\x03\x0borigin.test\x01\xbb"))
	f.Add([]byte("\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x16"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, auth := range []func(u, p string) bool{nil, func(u, p string) bool { return u == "alice" }} {
			var out bytes.Buffer
			rw := rwPair{bytes.NewReader(in), &out}
			_, req, err := ServerHandshake(rw, auth)
			if err != nil {
				continue
			}
			if req.Cmd != CmdConnect {
				t.Fatalf("accepted command %#x", req.Cmd)
			}
			if _, err := req.Dest.AppendTo(nil); err != nil {
				t.Fatalf("accepted destination %+v that cannot be encoded: %v", req.Dest, err)
			}
		}
	})
}
