package meta

import (
	"encoding/binary"
	"time"
	"unsafe"

	"github.com/carrot-project/carrot/internal/meta/metapb"
	"google.golang.org/protobuf/proto"
)

// RootIno is the inode number of the root directory.
const RootIno uint64 = 1

// File type bits of Inode.Mode (as in <sys/stat.h>).
const (
	S_IFMT   = 0o170000
	S_IFDIR  = 0o040000
	S_IFREG  = 0o100000
	S_IFLNK  = 0o120000
	S_IFIFO  = 0o010000
	S_IFSOCK = 0o140000
	S_IFCHR  = 0o020000
	S_IFBLK  = 0o060000
)

// Chunk is one piece of a file's content. ID is empty for a hole.
type Chunk struct {
	ID   string
	Size uint32
}

// Content is what a commit sets: the chunks or the inline bytes, and the
// size they add up to.
type Content struct {
	Size   uint64
	Chunks []Chunk
	Inline []byte
}

// Inode is a file, directory or symlink.
type Inode struct {
	Ino                 uint64
	Parent              uint64 // directories only
	Mode                uint32 // type and permission bits
	Uid, Gid            uint32
	Nlink               uint32
	Size                uint64
	Atime, Mtime, Ctime time.Time
	// Version counts committed contents, from 1 at create.
	Version uint64
	Chunks  []Chunk
	Inline  []byte
	Target  string // symlink target

	// Rev is the etcd mod revision the inode was read at.
	Rev int64
}

// IsDir reports whether the inode is a directory.
func (i *Inode) IsDir() bool { return i.Mode&S_IFMT == S_IFDIR }

// IsReg reports whether the inode is a regular file.
func (i *Inode) IsReg() bool { return i.Mode&S_IFMT == S_IFREG }

// IsSymlink reports whether the inode is a symbolic link.
func (i *Inode) IsSymlink() bool { return i.Mode&S_IFMT == S_IFLNK }

// Content returns the inode's content.
func (i *Inode) Content() Content {
	return Content{Size: i.Size, Chunks: i.Chunks, Inline: i.Inline}
}

func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNs(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func (i *Inode) marshal() string {
	p := &metapb.Inode{
		Ino: i.Ino, Mode: i.Mode, Uid: i.Uid, Gid: i.Gid, Nlink: i.Nlink, Size: i.Size,
		AtimeNs: ns(i.Atime), MtimeNs: ns(i.Mtime), CtimeNs: ns(i.Ctime),
		Version: i.Version, Inline: i.Inline, Target: i.Target, Parent: i.Parent,
	}
	if len(i.Chunks) > 0 {
		p.Chunks = make([]*metapb.ChunkRef, len(i.Chunks))
		for k, c := range i.Chunks {
			p.Chunks[k] = &metapb.ChunkRef{Id: c.ID, Size: c.Size}
		}
	}
	b, err := proto.Marshal(p)
	if err != nil {
		panic(err) // cannot fail for this message
	}
	// The string shares b, which nothing else holds or changes: an inode
	// with inline data is not copied once more on its way to etcd.
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func unmarshalInode(b []byte, rev int64) (*Inode, error) {
	var p metapb.Inode
	if err := proto.Unmarshal(b, &p); err != nil {
		return nil, err
	}
	i := &Inode{
		Ino: p.Ino, Parent: p.Parent, Mode: p.Mode, Uid: p.Uid, Gid: p.Gid, Nlink: p.Nlink,
		Size: p.Size, Atime: fromNs(p.AtimeNs), Mtime: fromNs(p.MtimeNs), Ctime: fromNs(p.CtimeNs),
		Version: p.Version, Inline: p.Inline, Target: p.Target, Rev: rev,
	}
	if len(p.Chunks) > 0 {
		i.Chunks = make([]Chunk, len(p.Chunks))
		for k, c := range p.Chunks {
			i.Chunks[k] = Chunk{ID: c.Id, Size: c.Size}
		}
	}
	return i, nil
}

func marshalTime(t time.Time) string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(t.UnixNano()))
	return string(b[:])
}

func unmarshalTime(b []byte) time.Time {
	if len(b) != 8 {
		return time.Time{}
	}
	return time.Unix(0, int64(binary.LittleEndian.Uint64(b)))
}

// Dirent is one directory entry.
type Dirent struct {
	Name string
	Ino  uint64
	Type uint32 // S_IFMT bits
}

func marshalDirent(ino uint64, typ uint32) string {
	b, _ := proto.Marshal(&metapb.Dirent{Ino: ino, Type: typ})
	return string(b)
}

func unmarshalDirent(b []byte) (ino uint64, typ uint32, err error) {
	var d metapb.Dirent
	if err := proto.Unmarshal(b, &d); err != nil {
		return 0, 0, err
	}
	return d.Ino, d.Type, nil
}
