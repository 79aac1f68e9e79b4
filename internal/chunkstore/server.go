package chunkstore

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/carrot-project/carrot/internal/chunkstore/chunkpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/status"
)

// frameSize is the data carried by one stream message. An encoded message
// stays under 1 MiB, the largest buffer gRPC pools (a bigger one is
// allocated and cleared for every message).
const frameSize = 512 << 10

// Server serves a Store over gRPC.
type Server struct {
	chunkpb.UnimplementedChunkStoreServer
	store  *Store
	nodeID string
}

// NewServer returns the service for store; nodeID is reported by Stats.
func NewServer(store *Store, nodeID string) *Server {
	return &Server{store: store, nodeID: nodeID}
}

// NewGRPCServer returns a gRPC server with the service registered, mutual
// TLS with tc (which must demand client certificates) on every connection
// and token authentication on every call.
func NewGRPCServer(store *Store, nodeID, token string, tc *tls.Config) *grpc.Server {
	gs := grpc.NewServer(append(AuthInterceptors(token), serverOptions(tc)...)...)
	chunkpb.RegisterChunkStoreServer(gs, NewServer(store, nodeID))
	return gs
}

// serverOptions are the transport options of a node's server.
func serverOptions(tc *tls.Config) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.Creds(newTLSCreds(tc)), experimental.BufferPool(nodeBufferPool),
		grpc.WriteBufferSize(writeBufferSize), grpc.ReadBufferSize(readBufferSize),
		grpc.MaxRecvMsgSize(2 * frameSize), grpc.MaxSendMsgSize(2 * frameSize),
		grpc.InitialWindowSize(4 << 20), grpc.InitialConnWindowSize(16 << 20),
	}
}

// grpcError maps a Store error to a status.
func grpcError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrBadID), errors.Is(err, ErrMismatch):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, ErrCorrupt):
		return status.Error(codes.DataLoss, err.Error())
	case errors.Is(err, ErrNoSpace):
		return status.Error(codes.ResourceExhausted, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

// putReader turns the rest of a Put stream into an io.Reader.
type putReader struct {
	stream chunkpb.ChunkStore_PutServer
	buf    []byte
	err    error
}

func (r *putReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		m, err := r.stream.Recv()
		if err != nil {
			r.err = err
			continue
		}
		if m.Id != "" || m.Size != 0 {
			r.err = status.Error(codes.InvalidArgument, "chunkstore: id or size repeated after the first message")
			continue
		}
		r.buf = m.Data
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// Put implements chunkpb.ChunkStoreServer.
func (s *Server) Put(stream chunkpb.ChunkStore_PutServer) error {
	first, err := stream.Recv()
	if err == io.EOF {
		return status.Error(codes.InvalidArgument, "chunkstore: empty put")
	}
	if err != nil {
		return err
	}
	if !ValidID(first.Id) {
		return status.Errorf(codes.InvalidArgument, "chunkstore: invalid chunk id %q", first.Id)
	}
	if first.Size > MaxChunkSize {
		return status.Errorf(codes.InvalidArgument, "chunkstore: chunk size %d over %d", first.Size, MaxChunkSize)
	}
	r := &putReader{stream: stream, buf: first.Data}
	existed, err := s.store.Put(first.Id, int64(first.Size), r)
	if err != nil {
		if st, ok := status.FromError(r.err); ok && r.err != nil && r.err != io.EOF {
			return st.Err()
		}
		return grpcError(err)
	}
	return stream.SendAndClose(&chunkpb.PutResponse{Existed: existed})
}

var chunkBufs = sync.Pool{New: func() any { b := make([]byte, MaxChunkSize); return &b }}

var frameBufs = sync.Pool{New: func() any { b := make([]byte, frameSize); return &b }}

// Get implements chunkpb.ChunkStoreServer.
func (s *Server) Get(req *chunkpb.GetRequest, stream chunkpb.ChunkStore_GetServer) error {
	f, size, err := s.store.Open(req.Id)
	if err != nil {
		return grpcError(err)
	}
	defer f.Close()
	off, end, err := span(req, uint64(size))
	if err != nil {
		return err
	}
	if req.Verify || off != 0 || end != uint64(size) {
		// Asked to, or a range: the client can check only a whole chunk
		// against its id, so the node checks this one.
		return s.getVerified(req.Id, f, size, off, end, req.Verify, stream)
	}
	// Ask for the whole chunk now: the kernel reads it from disk while
	// the first frames go out (a cold chunk is then one large read, not
	// a frame-sized one after each send).
	willNeed(f, 0, size)
	bp := frameBufs.Get().(*[]byte)
	defer frameBufs.Put(bp)
	first := true
	for first || off < end {
		n := min(end-off, frameSize)
		buf := (*bp)[:n]
		if _, err := f.ReadAt(buf, int64(off)); err != nil {
			return grpcError(s.store.readFailed(req.Id, f, err))
		}
		m := &chunkpb.GetResponse{Data: buf}
		if first {
			m.Size = uint64(size)
			first = false
		}
		// Send encodes m before it returns, so buf can be reused.
		if err := stream.Send(m); err != nil {
			return err
		}
		off += n
	}
	return nil
}

// willNeed starts reading a file range into the page cache
// (posix_fadvise WILLNEED); a failure only loses the head start.
func willNeed(f *os.File, off, n int64) {
	const fadvWillNeed = 3
	syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), uintptr(off), uintptr(n), fadvWillNeed, 0, 0)
}

// span returns the byte range of req in a chunk of size bytes.
func span(req *chunkpb.GetRequest, size uint64) (off, end uint64, err error) {
	if req.Offset > size {
		return 0, 0, status.Errorf(codes.OutOfRange, "chunkstore: offset %d past size %d", req.Offset, size)
	}
	end = size
	if req.Length > 0 && req.Offset+req.Length < size {
		end = req.Offset + req.Length
	}
	return req.Offset, end, nil
}

// getVerified checks bytes [off, end) of chunk id (f, of size bytes)
// before sending any of them: the whole chunk if verify is set, else
// through its block sums (Store.readRange).
func (s *Server) getVerified(id string, f *os.File, size int64, off, end uint64, verify bool, stream chunkpb.ChunkStore_GetServer) error {
	bp := chunkBufs.Get().(*[]byte)
	defer chunkBufs.Put(bp)
	var data []byte
	var err error
	if verify {
		if data, err = s.store.readVerified(id, f, size, *bp); err == nil {
			data = data[off:end]
		}
	} else {
		data, err = s.store.readRange(id, f, size, int64(off), int64(end), *bp)
	}
	if err != nil {
		return grpcError(err)
	}
	first := true
	for first || len(data) > 0 {
		n := min(len(data), frameSize)
		m := &chunkpb.GetResponse{Data: data[:n]}
		if first {
			m.Size = uint64(size)
			first = false
		}
		if err := stream.Send(m); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// Has implements chunkpb.ChunkStoreServer.
func (s *Server) Has(_ context.Context, req *chunkpb.HasRequest) (*chunkpb.HasResponse, error) {
	out := make([]bool, len(req.Ids))
	for i, id := range req.Ids {
		if !ValidID(id) {
			return nil, status.Errorf(codes.InvalidArgument, "chunkstore: invalid chunk id %q", id)
		}
		out[i] = s.store.Has(id)
	}
	return &chunkpb.HasResponse{Present: out}, nil
}

// List implements chunkpb.ChunkStoreServer.
func (s *Server) List(_ *chunkpb.ListRequest, stream chunkpb.ChunkStore_ListServer) error {
	var batch []*chunkpb.ChunkInfo
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := stream.Send(&chunkpb.ListResponse{Chunks: batch})
		batch = nil
		return err
	}
	err := s.store.List(func(id string, size int64, mtime time.Time) error {
		batch = append(batch, &chunkpb.ChunkInfo{Id: id, Size: uint64(size), MtimeUnixNano: mtime.UnixNano()})
		if len(batch) == 4096 {
			return flush()
		}
		return nil
	})
	if err != nil {
		return grpcError(err)
	}
	return flush()
}

// Delete implements chunkpb.ChunkStoreServer.
func (s *Server) Delete(_ context.Context, req *chunkpb.DeleteRequest) (*chunkpb.DeleteResponse, error) {
	var older time.Time
	if req.OlderThanUnixNano != 0 {
		older = time.Unix(0, req.OlderThanUnixNano)
	}
	var n uint32
	for _, id := range req.Ids {
		ok, err := s.store.Delete(id, older)
		if err != nil {
			return nil, grpcError(err)
		}
		if ok {
			n++
		}
	}
	return &chunkpb.DeleteResponse{Deleted: n}, nil
}

// Stats implements chunkpb.ChunkStoreServer.
func (s *Server) Stats(context.Context, *chunkpb.StatsRequest) (*chunkpb.StatsResponse, error) {
	st := s.store.Stats()
	sc := s.store.ScrubStats()
	r := &chunkpb.StatsResponse{
		NodeId: s.nodeID, Chunks: uint64(st.Chunks), Bytes: uint64(st.Bytes),
		DiskFree: st.DiskFree, DiskTotal: st.DiskTotal, Corrupt: uint64(st.Corrupt),
		Puts: uint64(st.Puts), Gets: uint64(st.Gets),
		ScrubPasses: uint64(sc.Passes), ScrubbedChunks: uint64(sc.Chunks), ScrubbedBytes: uint64(sc.Bytes),
		ScrubSkipped: uint64(sc.Skipped),
	}
	if !sc.LastPass.IsZero() {
		r.LastScrubUnixNano = sc.LastPass.UnixNano()
	}
	return r, nil
}
