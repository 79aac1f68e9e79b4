package chunkstore

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers "proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// The client's side of Get decodes GetResponse messages itself: gRPC's
// protobuf codec first gathers a received message's pieces (HTTP/2 frames)
// into one buffer, then protobuf copies the data field into a new slice,
// which the caller copies again into its chunk buffer. frameCodec copies
// the data field once, from gRPC's buffers straight into the chunk buffer.
// The wire format is unchanged (GetResponse, content-subtype "proto"), so
// the node needs nothing special.

// getFrame receives one GetResponse: its data is appended to buf.
type getFrame struct {
	buf  []byte // the chunk so far; grown (up to MaxChunkSize) if needed
	size uint64 // field 2, if present
	n    int    // data bytes this message carried
}

type frameCodec struct{}

var protoCodec = encoding.GetCodecV2("proto")

func (frameCodec) Name() string { return "proto" }

func (frameCodec) Marshal(v any) (mem.BufferSlice, error) { return protoCodec.Marshal(v) }

func (frameCodec) Unmarshal(data mem.BufferSlice, v any) error {
	f, ok := v.(*getFrame)
	if !ok {
		return protoCodec.Unmarshal(data, v)
	}
	c := cursor{bufs: data}
	f.size, f.n = 0, 0
	for !c.done() {
		tag, err := c.varint()
		if err != nil {
			return err
		}
		num, typ := protowire.Number(tag>>3), protowire.Type(tag&7)
		switch {
		case num == 1 && typ == protowire.BytesType:
			l, err := c.varint()
			if err != nil {
				return err
			}
			if l > MaxChunkSize || uint64(len(f.buf))+l > MaxChunkSize {
				return fmt.Errorf("chunkstore: frame of %d bytes past %d: %w", l, MaxChunkSize, ErrCorrupt)
			}
			n := len(f.buf)
			if uint64(cap(f.buf)-n) < l {
				grown := make([]byte, n, max(uint64(2*cap(f.buf)), uint64(n)+l))
				copy(grown, f.buf)
				f.buf = grown
			}
			f.buf = f.buf[:n+int(l)]
			if !c.read(f.buf[n:]) {
				return errTruncated
			}
			f.n += int(l)
		case num == 2 && typ == protowire.VarintType:
			if f.size, err = c.varint(); err != nil {
				return err
			}
		default:
			if err := c.skip(num, typ); err != nil {
				return err
			}
		}
	}
	return nil
}

var errTruncated = errors.New("chunkstore: truncated GetResponse")

// cursor reads across a BufferSlice's buffers without copying them.
type cursor struct {
	bufs mem.BufferSlice
	i    int // current buffer
	off  int // offset in it
}

func (c *cursor) cur() []byte {
	for c.i < len(c.bufs) {
		b := c.bufs[c.i].ReadOnlyData()
		if c.off < len(b) {
			return b[c.off:]
		}
		c.i, c.off = c.i+1, 0
	}
	return nil
}

func (c *cursor) done() bool { return c.cur() == nil }

func (c *cursor) varint() (uint64, error) {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		b := c.cur()
		if b == nil {
			return 0, errTruncated
		}
		c.off++
		v |= uint64(b[0]&0x7f) << shift
		if b[0] < 0x80 {
			return v, nil
		}
	}
	return 0, errors.New("chunkstore: bad varint in GetResponse")
}

// read fills dst; false if the data ran out.
func (c *cursor) read(dst []byte) bool {
	for len(dst) > 0 {
		b := c.cur()
		if b == nil {
			return false
		}
		n := copy(dst, b)
		dst = dst[n:]
		c.off += n
	}
	return true
}

func (c *cursor) discard(n uint64) bool {
	for n > 0 {
		b := c.cur()
		if b == nil {
			return false
		}
		k := min(n, uint64(len(b)))
		c.off += int(k)
		n -= k
	}
	return true
}

// skip passes over a field of an unknown number (a newer node's).
func (c *cursor) skip(num protowire.Number, typ protowire.Type) error {
	switch typ {
	case protowire.VarintType:
		_, err := c.varint()
		return err
	case protowire.Fixed32Type:
		if !c.discard(4) {
			return errTruncated
		}
	case protowire.Fixed64Type:
		if !c.discard(8) {
			return errTruncated
		}
	case protowire.BytesType:
		l, err := c.varint()
		if err != nil {
			return err
		}
		if !c.discard(l) {
			return errTruncated
		}
	default:
		// A group (deprecated, but valid protobuf): let protowire find its
		// end in a copy of the rest.
		var rest []byte
		for i := c.i; i < len(c.bufs); i++ {
			b := c.bufs[i].ReadOnlyData()
			if i == c.i {
				b = b[c.off:]
			}
			rest = append(rest, b...)
		}
		n := protowire.ConsumeFieldValue(num, typ, rest)
		if n < 0 {
			return protowire.ParseError(n)
		}
		c.discard(uint64(n))
	}
	return nil
}
