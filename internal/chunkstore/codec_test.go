package chunkstore

import (
	"bytes"
	"testing"

	"github.com/carrot-project/carrot/internal/chunkstore/chunkpb"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// split cuts b into buffers at the given points, as HTTP/2 frames do.
func split(b []byte, cuts []byte) mem.BufferSlice {
	var s mem.BufferSlice
	for _, c := range cuts {
		k := int(c) % (len(b) + 1)
		s = append(s, mem.SliceBuffer(b[:k]))
		b = b[k:]
	}
	return append(s, mem.SliceBuffer(b))
}

// FuzzGetFrame: frameCodec decodes whatever protobuf decodes, the same
// way, however the message is cut into buffers, and never panics on
// garbage.
func FuzzGetFrame(f *testing.F) {
	good, _ := proto.Marshal(&chunkpb.GetResponse{Data: []byte("hello, chunk"), Size: 12})
	f.Add(good, []byte{3, 7}, []byte("prefix"))
	unknown := append(append([]byte{}, good...), 0x1a, 2, 'x', 'y', 0x20, 5, 0x2d, 1, 2, 3, 4) // fields 3 (bytes), 4 (varint), 5 (fixed32)
	f.Add(unknown, []byte{1}, []byte{})
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}, []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, msg, cuts, prefix []byte) {
		fr := getFrame{buf: append([]byte(nil), prefix...)}
		err := frameCodec{}.Unmarshal(split(msg, cuts), &fr)
		var want chunkpb.GetResponse
		if proto.Unmarshal(msg, &want) != nil {
			return // garbage: the codec may refuse it or not, but must not panic
		}
		// Count the data fields (protobuf keeps the last, the codec appends
		// them all: a node sends one).
		fields, rest := 0, msg
		for len(rest) > 0 {
			num, typ, n := protowire.ConsumeTag(rest)
			m := protowire.ConsumeFieldValue(num, typ, rest[n:])
			if num == 1 {
				fields++
			}
			rest = rest[n+m:]
		}
		if len(prefix)+len(want.Data) > MaxChunkSize || fields > 1 {
			return
		}
		if err != nil {
			t.Fatalf("codec refused a message protobuf takes: %v", err)
		}
		if got := fr.buf[len(prefix):]; !bytes.Equal(got, want.Data) || fr.n != len(got) || fr.size != want.Size {
			t.Fatalf("data %q size %d n %d, protobuf %q size %d", got, fr.size, fr.n, want.Data, want.Size)
		}
		if !bytes.Equal(fr.buf[:len(prefix)], prefix) {
			t.Fatal("the bytes before the frame changed")
		}
	})
}
