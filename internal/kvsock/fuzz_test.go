package kvsock

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"
)

// FuzzFrames feeds arbitrary bytes to the frame reader and the request
// and error decoders: no panic, no frame beyond the limit, no allocation
// the length prefix alone asks for.
func FuzzFrames(f *testing.F) {
	f.Add([]byte{0, 0, 0, 2, 1, 0})
	f.Add([]byte{0, 0, 0, 5, 0xff, 0, 0, 0, 14})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		head, body, grown, err := readFrame(bytes.NewReader(b), nil, 4*readStep)
		if err != nil {
			if cap(grown) > 2*max(len(b), readStep) {
				t.Fatalf("allocated %d bytes for a %d-byte input", cap(grown), len(b))
			}
			return
		}
		if len(body)+1 > 4*readStep {
			t.Fatalf("frame of %d bytes past the limit", len(body)+1)
		}
		if req := newRequest(method(head)); req != nil {
			_ = proto.Unmarshal(body, req)
		}
		_ = bodyError(body)
	})
}
