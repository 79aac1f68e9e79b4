package chunkstore

import (
	"bytes"
	"io"
	"testing"

	"github.com/carrot-project/carrot/internal/chunkstore/chunkpb"
)

// BenchmarkGet reads one 4 MiB chunk from a node over loopback gRPC (TLS):
// whole, through Conn.Get (the client verifies), and in ranges through the
// raw RPC. b.SetBytes counts the bytes sent, so MB/s of a small range shows
// what it costs the node to serve it.
func BenchmarkGet(b *testing.B) {
	_, c := serve(b, Options{})
	data := pattern(MaxChunkSize, 1)
	id := ID(data)
	if _, err := c.Put(ctx(b), id, data); err != nil {
		b.Fatal(err)
	}
	b.Run("whole", func(b *testing.B) {
		b.SetBytes(MaxChunkSize)
		buf := make([]byte, MaxChunkSize)
		for b.Loop() {
			if _, err := c.Get(ctx(b), id, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, r := range []struct {
		name        string
		off, length uint64
	}{{"range4KiB", 1 << 20, 4 << 10}, {"range1MiB", 1 << 20, 1 << 20}} {
		b.Run(r.name, func(b *testing.B) {
			b.SetBytes(int64(r.length))
			for b.Loop() {
				s, err := c.RPC().Get(ctx(b), &chunkpb.GetRequest{Id: id, Offset: r.off, Length: r.length})
				if err != nil {
					b.Fatal(err)
				}
				var n int
				for {
					m, err := s.Recv()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n += len(m.Data)
				}
				if n != int(r.length) {
					b.Fatalf("got %d bytes of %d", n, r.length)
				}
			}
		})
	}
}

// BenchmarkPutExisting is a dedup Put of a 4 MiB chunk the store holds.
func BenchmarkPutExisting(b *testing.B) {
	st, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	data := pattern(MaxChunkSize, 2)
	id := ID(data)
	if _, err := st.Put(id, MaxChunkSize, bytes.NewReader(data)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(MaxChunkSize)
	for b.Loop() {
		if existed, err := st.Put(id, MaxChunkSize, bytes.NewReader(data)); err != nil || !existed {
			b.Fatal(existed, err)
		}
	}
}
