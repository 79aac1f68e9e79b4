package meta

import (
	"bytes"
	"testing"
	"time"
)

// FuzzInodeRecord decodes arbitrary bytes as an inode record: never a
// panic, and whatever decodes re-encodes to a record that decodes the same.
func FuzzInodeRecord(f *testing.F) {
	in := &Inode{Ino: 7, Mode: S_IFREG | 0o644, Nlink: 1, Size: 3, Version: 2, Inline: []byte("abc"), Mtime: time.Unix(5, 6)}
	f.Add([]byte(in.marshal()))
	in2 := &Inode{Ino: 9, Mode: S_IFREG, Size: 10, Chunks: []Chunk{{ID: "ab", Size: 4}, {Size: 6}}}
	f.Add([]byte(in2.marshal()))
	f.Add([]byte{0x08, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := unmarshalInode(b, 1)
		if err != nil {
			return
		}
		c, err := unmarshalInode([]byte(a.marshal()), 1)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if a.Ino != c.Ino || a.Mode != c.Mode || a.Size != c.Size || a.Version != c.Version ||
			!bytes.Equal(a.Inline, c.Inline) || len(a.Chunks) != len(c.Chunks) || a.Target != c.Target ||
			!a.Mtime.Equal(c.Mtime) {
			t.Fatalf("round trip changed the inode: %+v vs %+v", a, c)
		}
		unmarshalDirent(b)
	})
}

// FuzzWatchKey parses arbitrary etcd keys as namespace keys: never a panic,
// and only well-formed keys are accepted.
func FuzzWatchKey(f *testing.F) {
	fs := &FS{prefix: "/p/"}
	f.Add(fs.ikey(12))
	f.Add(fs.dkey(1, "name"))
	f.Add("/p/fs/d/zz")
	f.Fuzz(func(t *testing.T, k string) {
		e, ok := fs.parseKey(k)
		if !ok {
			return
		}
		var want string
		if e.Name == "" {
			want = fs.ikey(e.Ino)
		} else {
			want = fs.dkey(e.Ino, e.Name)
		}
		if want != k && !bytes.EqualFold([]byte(want), []byte(k)) {
			t.Fatalf("key %q parsed as %+v (which is %q)", k, e, want)
		}
	})
}
