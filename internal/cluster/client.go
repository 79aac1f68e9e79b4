// Package cluster is the client library of the storage cluster: the one
// API the file-system mode of `carrot run` and `carrot fs` use.
//
// A Client embeds the namespace (*meta.FS: Lookup, Get, Readdir, Create,
// Mkdir, Unlink, Rmdir, Rename, Link, Symlink, Readlink, Setattr, Commit,
// Watch) and adds file content:
//
//   - Writing: the content is cut into chunks of Params.ChunkSize, each
//     named by its SHA-256. Every chunk goes to the first R live nodes of
//     its placement ranking, in parallel (and several chunks at once); a
//     node that refuses (down, full) is replaced by the next in the
//     ranking, so the R copies are always on distinct nodes. Only when
//     every chunk is durable on R nodes is the version committed to etcd,
//     so metadata never names missing data. If R copies cannot be made the
//     write fails with ENOSPC (when nodes were full) or EIO, and nothing is
//     committed. Files of at most Params.InlineMax bytes are stored in their
//     inode instead (one etcd transaction, no chunk RPC).
//   - Reading: chunks are fetched in parallel, each from the first node of
//     its ranking that answers, falling back along the whole ranking (so a
//     chunk written while some node was down, or not yet moved back by the
//     repairer, is still found), and verified against its hash; a corrupt
//     copy is skipped (and reported by the node that noticed).
//
// What the Client creates (CreateFile, ReplaceFile, MkdirIn, MkdirAll)
// belongs to its Owner: the calling process's user and group unless
// Options.Owner says otherwise. The embedded meta.FS's own Create, Mkdir
// and Symlink take the owner from their caller (Client.Owner).
//
// Every error carries a POSIX errno (errors.As(err, &syscall.Errno)).
//
// Placement is computed from the live membership (membership.View): no
// directory operation touches any storage node, and a write touches only
// R nodes per chunk whatever the cluster's size.
package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/carrot-project/carrot/internal/chunkstore"
	"github.com/carrot-project/carrot/internal/clusterconf"
	"github.com/carrot-project/carrot/internal/membership"
	"github.com/carrot-project/carrot/internal/meta"
	"github.com/carrot-project/carrot/internal/placement"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Options tune a Client.
type Options struct {
	// Cache serves Get and Lookup from a watch-invalidated cache.
	Cache bool
	// Parallel is how many chunks a read or write moves at once (default 4).
	Parallel int
	// Etcd, if set, is the etcd client to use instead of dialing the
	// config's endpoints (embedded.Cluster.EtcdClient: an in-process
	// client of the embedded member). The Client takes it over and closes
	// it on Close.
	Etcd *clientv3.Client
	// Owner owns the files and directories the Client creates
	// (CreateFile, ReplaceFile, MkdirIn, MkdirAll); nil: this process's
	// user and group.
	Owner *Owner
}

// Owner is the user and group a new file or directory belongs to.
type Owner struct{ Uid, Gid uint32 }

// Client is a connection to one cluster. Safe for concurrent use.
type Client struct {
	*meta.FS
	Conf   *clusterconf.File
	Params meta.Params

	etcd   *clientv3.Client
	view   *membership.View
	pool   *chunkstore.Pool
	opts   Options
	owner  Owner
	ctx    context.Context // ends when the client closes
	cancel context.CancelFunc

	pinMu      sync.Mutex
	pinSession *concurrency.Session // holds the lease of upload pins (pins.go)

	placeMu  sync.Mutex
	placer   placement.Placer // over the live nodes
	downer   placement.Placer // over the known nodes not live now
	placeGen <-chan struct{}
	addrs    map[string]string // known node id -> addr

	// Counters of RPCs made, for benchmarks.
	EtcdRPCs  atomic.Int64
	ChunkRPCs atomic.Int64
}

// Dial connects to the cluster a config names.
func Dial(ctx context.Context, conf *clusterconf.File, opts Options) (*Client, error) {
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	pool, err := chunkstore.NewPoolConf(conf)
	if err != nil {
		return nil, &meta.Error{Op: "connect", Path: "cluster", Err: fmt.Errorf("%v: %w", err, syscall.EINVAL)}
	}
	c := &Client{Conf: conf, opts: opts, pool: pool, owner: Owner{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid())}}
	if opts.Owner != nil {
		c.owner = *opts.Owner
	}
	cli := opts.Etcd
	if cli == nil {
		if cli, err = conf.DialEtcd(ctx); err != nil {
			return nil, &meta.Error{Op: "connect", Path: "etcd", Err: errnoOr(err, syscall.EIO)}
		}
	}
	cli.KV = meta.CountRequests(cli.KV, &c.EtcdRPCs)
	c.etcd = cli
	if c.Params, err = meta.LoadParams(ctx, cli, conf.Prefix); err != nil {
		cli.Close()
		return nil, &meta.Error{Op: "connect", Path: "cluster", Err: fmt.Errorf("%v: %w", err, syscall.EIO)}
	}
	wctx, cancel := context.WithCancel(context.Background())
	c.ctx, c.cancel = wctx, cancel
	if c.view, err = membership.Watch(wctx, cli, conf.Prefix); err != nil {
		c.Close()
		return nil, &meta.Error{Op: "connect", Path: "membership", Err: fmt.Errorf("%v: %w", err, syscall.EIO)}
	}
	c.FS = meta.New(cli, conf.Prefix)
	if opts.Cache {
		if err := c.FS.EnableCache(wctx); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Close releases the client.
func (c *Client) Close() error {
	c.pinMu.Lock()
	s := c.pinSession
	c.pinSession = nil
	c.pinMu.Unlock()
	if s != nil {
		s.Close() // revokes the lease: the pins go with it
	}
	if c.cancel != nil {
		c.cancel()
	}
	c.pool.Close()
	return c.etcd.Close()
}

// Owner returns the user and group the files and directories the Client
// creates belong to (Options.Owner). Pass them to what the embedded
// meta.FS creates itself (Mkdir, Symlink, Create): its owner is explicit.
func (c *Client) Owner() Owner { return c.owner }

// Etcd returns the etcd client.
func (c *Client) Etcd() *clientv3.Client { return c.etcd }

// View returns the membership view.
func (c *Client) View() *membership.View { return c.view }

// Pool returns the node connection pool.
func (c *Client) Pool() *chunkstore.Pool { return c.pool }

// candidates returns the nodes to try for a chunk, best first: the live
// nodes in placement order, then the known nodes that are not live now
// (a node whose lease lapsed under load may still serve), and their
// addresses. Rebuilt when the membership changes.
func (c *Client) candidates(id string) ([]string, int, map[string]string) {
	c.placeMu.Lock()
	if c.placer != nil {
		select {
		case <-c.placeGen:
			c.placer = nil
		default:
		}
	}
	if c.placer == nil {
		c.placeGen = c.view.Changed()
		var live, down []placement.Node
		addrs := map[string]string{}
		for _, n := range c.view.Nodes() {
			pn := placement.Node{ID: n.ID, Weight: n.Weight}
			if n.Live {
				live = append(live, pn)
			} else {
				down = append(down, pn)
			}
			addrs[n.ID] = n.Addr
		}
		p, err := placement.New(c.Params.Placement, live)
		if err != nil {
			p = placement.NewHRW(live)
		}
		c.placer, c.downer, c.addrs = p, placement.NewHRW(down), addrs
	}
	p, d, addrs := c.placer, c.downer, c.addrs
	c.placeMu.Unlock()
	rank := p.Rank(id, 0)
	nlive := len(rank)
	return append(rank, d.Rank(id, 0)...), nlive, addrs
}

// Errors of the data path.
func chunkErrno(err error) syscall.Errno {
	switch status.Code(err) {
	case codes.ResourceExhausted:
		return syscall.ENOSPC
	}
	return syscall.EIO
}

// chunkTimeout bounds one chunk RPC, so a node that hangs (stopped, not
// dead) is failed over like one that refuses.
const chunkTimeout = 30 * time.Second

// Hedging: a node whose disk hangs keeps its lease (its process runs), so
// it stays live and ranked; waiting for chunkTimeout on it would stall
// every write and read that ranks it. Instead, a put still running
// putHedgeFactor times as long as a copy already made (and at least
// minHedge) gets a copy started on the next ranked node beside it, and a
// get that has not answered after getHedge is asked of the next node too
// (once per get: on a slow link every node is slow);
// the first to succeed wins and the others are cancelled. (An extra copy
// that lands anyway is deleted by the repairer; one missing from the slow
// node is copied there once it answers again.) A write with R=1, where
// no copy sets the pace, hedges after putHedgeAlone.
const (
	putHedgeFactor = 4
	minHedge       = 500 * time.Millisecond
	putHedgeAlone  = 5 * time.Second
	getHedge       = 500 * time.Millisecond
)

// attempt is the end of one chunk RPC to a node.
type attempt struct {
	node string
	data []byte // a get's
	buf  bool   // the get read into the caller's buffer
	took time.Duration
	err  error
}

// try runs rpc on node's connection in a goroutine, within chunkTimeout
// of ctx, and sends its end to results (buf: rpc reads into the caller's
// buffer).
func (c *Client) try(ctx context.Context, results chan<- attempt, node, addr string, buf bool, rpc func(context.Context, *chunkstore.Conn) ([]byte, error)) {
	go func() {
		t0 := time.Now()
		conn, err := c.pool.Get(addr)
		var data []byte
		if err == nil {
			c.ChunkRPCs.Add(1)
			actx, cancel := context.WithTimeout(ctx, chunkTimeout)
			data, err = rpc(actx, conn)
			cancel()
		}
		results <- attempt{node: node, data: data, buf: buf, took: time.Since(t0), err: err}
	}()
}

// putChunk stores data on R distinct live nodes, replacing refusing nodes
// by the next ones in the ranking and hedging slow ones (see above).
func (c *Client) putChunk(ctx context.Context, id string, data []byte) error {
	rank, nlive, addrs := c.candidates(id)
	r := c.Params.Replicas
	if len(rank) == 0 {
		return fmt.Errorf("chunk %s: no storage node: %w", id[:12], syscall.EIO)
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel() // the slow ones, once R copies are made
	results := make(chan attempt, len(rank))
	next, pending := 0, 0
	put := func(ctx context.Context, conn *chunkstore.Conn) ([]byte, error) {
		_, err := conn.Put(ctx, id, data)
		return nil, err
	}
	start := func() {
		node := rank[next]
		next++
		pending++
		c.try(pctx, results, node, addrs[node], false, put)
	}
	for next < min(r, len(rank)) {
		start()
	}
	var (
		ok      int
		noSpace bool
		errs    []string
		hedge   <-chan time.Time
	)
	if r == 1 {
		hedge = time.After(putHedgeAlone)
	}
	for ok < r && pending > 0 {
		select {
		case a := <-results:
			pending--
			if a.err != nil {
				if chunkErrno(a.err) == syscall.ENOSPC {
					noSpace = true
				}
				errs = append(errs, a.node+": "+status.Convert(a.err).Message())
				switch {
				case ctx.Err() != nil || next == len(rank):
				case ok+pending < r:
					start()
				case hedge == nil:
					// The attempts left include a slow one a hedge
					// has gone around (and just failed): go around
					// it again.
					hedge = time.After(minHedge)
				}
				continue
			}
			ok++
			if ok < r && hedge == nil {
				hedge = time.After(max(minHedge, putHedgeFactor*a.took))
			}
		case <-hedge:
			hedge = nil
			if ok < r && next < len(rank) {
				start() // beside the slow one(s)
			}
		}
	}
	// The slow ones are cancelled; their RPCs may still be reading data,
	// which the caller reuses once this returns.
	cancel()
	for ; pending > 0; pending-- {
		<-results
	}
	if ok >= r {
		return nil
	}
	errno := syscall.EIO
	if noSpace {
		errno = syscall.ENOSPC
	}
	why := strings.Join(errs, "; ")
	if why == "" {
		// No node failed: there are fewer than R.
		why = fmt.Sprintf("the cluster keeps %d copies of each chunk and has %d nodes: start more, or lower its replicas", r, len(rank))
	}
	return fmt.Errorf("chunk %s: %d of %d copies made, %d of %d known nodes live (%s): %w", id[:12], ok, r, nlive, len(rank), why, errno)
}

// getChunk fetches and verifies a chunk from the first node that has it,
// asking the next one too when a node is slow (see above). buf, if not
// nil, is filled by one attempt at a time, and is no longer written when
// getChunk returns.
func (c *Client) getChunk(ctx context.Context, id string, buf []byte) ([]byte, error) {
	rank, _, addrs := c.candidates(id)
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan attempt, len(rank))
	next, pending := 0, 0
	bufBusy := false
	start := func() {
		node := rank[next]
		next++
		pending++
		var b []byte
		if buf != nil && !bufBusy {
			b, bufBusy = buf, true
		}
		c.try(gctx, results, node, addrs[node], b != nil, func(ctx context.Context, conn *chunkstore.Conn) ([]byte, error) {
			return conn.Get(ctx, id, b)
		})
	}
	var (
		errs []string
		won  []byte
	)
	if len(rank) > 0 {
		start()
	}
	hedge := time.NewTimer(getHedge)
	defer hedge.Stop()
	hedged := false
	for pending > 0 {
		select {
		case a := <-results:
			pending--
			if a.buf {
				bufBusy = false
			}
			switch {
			case won != nil:
				continue // a loser, drained for the buffer's sake
			case a.err == nil:
				won = a.data
				cancel()
				if bufBusy {
					continue // wait for the attempt writing into buf
				}
				return won, nil
			case ctx.Err() != nil:
				errs = append(errs, ctx.Err().Error())
			default:
				errs = append(errs, a.node+": "+status.Convert(a.err).Message())
				// The failed attempt's place goes to the next node (a
				// hedge's too, when the slow one it went around is
				// still running).
				want := 1
				if hedged {
					want = 2
				}
				if pending < want && next < len(rank) {
					start()
					if !hedged {
						hedge.Reset(getHedge)
					}
				}
			}
		case <-hedge.C:
			// One hedge per get: a slow network makes every node slow,
			// and asking them all would only slow it further.
			if won == nil && ctx.Err() == nil && next < len(rank) {
				start()
				hedged = true
			}
		}
	}
	if won != nil {
		return won, nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("chunk %s: %v: %w", id[:12], ctx.Err(), syscall.EIO)
	}
	return nil, fmt.Errorf("chunk %s: no live node has a good copy (%s): %w", id[:12], strings.Join(errs, "; "), syscall.EIO)
}

// upload cuts r into chunks and stores them all durably; it returns the
// content to commit, and the pins that keep its chunks from the garbage
// collector until the caller has committed it (release them then; nil for
// inline content). Small content (at most InlineMax bytes) is inline.
func (c *Client) upload(ctx context.Context, r io.Reader, progress func(int64)) (meta.Content, *pins, error) {
	cs := c.Params.ChunkSize
	// Read up to one byte past the inline limit first: a small file needs
	// no chunk buffer at all.
	small := make([]byte, c.Params.InlineMax+1)
	n, err := io.ReadFull(r, small)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return meta.Content{}, nil, fmt.Errorf("reading input: %w", errnoOr(err, syscall.EIO))
	}
	if err != nil && n <= c.Params.InlineMax {
		if progress != nil {
			progress(int64(n))
		}
		return meta.Content{Size: uint64(n), Inline: small[:n]}, nil, nil
	}
	// More than InlineMax bytes: chunks, starting with the bytes read so
	// far (more than a chunk's worth when InlineMax >= ChunkSize, which
	// the cluster's params allow).
	r = io.MultiReader(bytes.NewReader(small[:n]), r)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pins := c.newPins(cancel)
	var (
		chunks  []meta.Chunk
		size    uint64
		wg      sync.WaitGroup
		errOnce sync.Once
		upErr   error
		sem     = make(chan []byte, c.opts.Parallel)
	)
	for range c.opts.Parallel {
		b := getBuf(cs)
		defer putBuf(b)
		sem <- b
	}
	setErr := func(err error) {
		errOnce.Do(func() { upErr = err; cancel() })
	}
	for ctx.Err() == nil {
		var buf []byte
		select {
		case buf = <-sem:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		n, err := io.ReadFull(r, buf)
		last := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !last {
			setErr(fmt.Errorf("reading input: %w", errnoOr(err, syscall.EIO)))
			break
		}
		if n == 0 {
			break // the input ended on a chunk's boundary
		}
		data := buf[:n]
		id := chunkstore.ID(data)
		chunks = append(chunks, meta.Chunk{ID: id, Size: uint32(n)})
		pins.add(id)
		size += uint64(n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.putChunk(ctx, id, data); err != nil {
				setErr(err)
			} else if progress != nil {
				progress(int64(len(data)))
			}
			sem <- buf
		}()
		if last {
			break
		}
	}
	wg.Wait()
	if upErr == nil && ctx.Err() != nil {
		upErr = fmt.Errorf("%v: %w", ctx.Err(), syscall.EIO)
	}
	if err := pins.check(); err != nil {
		upErr = err // the cause, when pinning gave up and cancelled the rest
	}
	if upErr != nil {
		pins.release()
		return meta.Content{}, nil, upErr
	}
	return meta.Content{Size: size, Chunks: chunks}, pins, nil
}

// Chunk buffers are reused across writes.
var bufPool sync.Pool

func getBuf(n int) []byte {
	if b, ok := bufPool.Get().(*[]byte); ok && cap(*b) >= n {
		return (*b)[:n]
	}
	return make([]byte, n)
}

func putBuf(b []byte) { bufPool.Put(&b) }

func errnoOr(err error, def syscall.Errno) error {
	var e syscall.Errno
	if errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("%v: %w", err, def)
}

// WriteOptions tune a write.
type WriteOptions struct {
	// Progress, if set, is called with the bytes made durable so far
	// (increments), from any goroutine.
	Progress func(n int64)
}

// WriteFile uploads r as the new content of regular file ino on top of
// version base (meta.ErrConflict if another version was committed since).
func (c *Client) WriteFile(ctx context.Context, ino, base uint64, r io.Reader, o WriteOptions) (*meta.Inode, error) {
	content, pins, err := c.upload(ctx, r, o.Progress)
	if err != nil {
		return nil, &meta.Error{Op: "write", Path: fmt.Sprintf("inode %d", ino), Err: err}
	}
	defer pins.release()
	return c.FS.Commit(ctx, ino, base, content)
}

// CreateFile creates name in parent with r as its first version, owned by
// the Client's Owner: the data is made durable first, then one
// transaction creates the entry and inode (EEXIST if the name exists; the
// uploaded chunks are then garbage).
func (c *Client) CreateFile(ctx context.Context, parent uint64, name string, mode uint32, r io.Reader, o WriteOptions) (*meta.Inode, error) {
	content, pins, err := c.upload(ctx, r, o.Progress)
	if err != nil {
		return nil, &meta.Error{Op: "write", Path: name, Err: err}
	}
	defer pins.release()
	return c.FS.Create(ctx, parent, name, meta.CreateOptions{Mode: meta.S_IFREG | mode&0o7777, Uid: c.owner.Uid, Gid: c.owner.Gid, Content: &content})
}

// ReplaceFile uploads r as the new content of the file ino (0: of the file
// name in directory parent, made with mode and the Client's Owner if
// there is none), whatever version is current by the time the upload is
// durable: the last writer wins, as with cp, and nothing is half-written.
// The data is uploaded once; a file another writer creates under the name
// meanwhile, or a version it commits, is written over. A name that comes
// to hold something other than a regular file is an error (EISDIR,
// EEXIST).
func (c *Client) ReplaceFile(ctx context.Context, parent uint64, name string, ino uint64, mode uint32, r io.Reader, o WriteOptions) (*meta.Inode, error) {
	what := name
	if ino != 0 {
		what = fmt.Sprintf("inode %d", ino)
	}
	content, pins, err := c.upload(ctx, r, o.Progress)
	if err != nil {
		return nil, &meta.Error{Op: "write", Path: what, Err: err}
	}
	defer pins.release()
	byName := ino == 0
	for range maxReplaces {
		if ino == 0 {
			in, err := c.FS.Create(ctx, parent, name, meta.CreateOptions{Mode: meta.S_IFREG | mode&0o7777, Uid: c.owner.Uid, Gid: c.owner.Gid, Content: &content})
			if !errors.Is(err, syscall.EEXIST) {
				return in, err
			}
			cur, err := c.FS.Lookup(ctx, parent, name)
			switch {
			case errors.Is(err, syscall.ENOENT):
				continue // gone again: create it
			case err != nil:
				return nil, err
			case cur.IsDir():
				return nil, &meta.Error{Op: "write", Path: name, Err: syscall.EISDIR}
			case !cur.IsReg():
				return nil, &meta.Error{Op: "write", Path: name, Err: syscall.EEXIST}
			}
			ino = cur.Ino
		}
		cur, err := c.FS.GetFresh(ctx, ino)
		if err == nil {
			var in *meta.Inode
			if in, err = c.FS.Commit(ctx, ino, cur.Version, content); !errors.Is(err, meta.ErrConflict) {
				return in, err
			}
			continue // another version came between the read and the commit
		}
		if !byName || !errors.Is(err, syscall.ENOENT) {
			return nil, err
		}
		ino = 0 // the file the name held was removed: the name again
	}
	return nil, &meta.Error{Op: "write", Path: what, Err: fmt.Errorf("other writers kept winning: %w", syscall.EAGAIN)}
}

// maxReplaces bounds ReplaceFile's rounds against other writers.
const maxReplaces = 64

// Truncate sets a regular file's size: cut (rewriting the last chunk if the
// cut falls inside one) or extended with a hole. It commits a new version
// on top of base.
func (c *Client) Truncate(ctx context.Context, ino, base, size uint64) (*meta.Inode, error) {
	in, err := c.FS.GetFresh(ctx, ino)
	if err != nil {
		return nil, err
	}
	if !in.IsReg() {
		return nil, &meta.Error{Op: "truncate", Path: fmt.Sprintf("inode %d", ino), Err: syscall.EINVAL}
	}
	if in.Version != base {
		return nil, &meta.Error{Op: "truncate", Path: fmt.Sprintf("inode %d", ino), Err: meta.ErrConflict}
	}
	var content meta.Content
	switch {
	case size <= uint64(c.Params.InlineMax) && size <= in.Size:
		// Small result: read what is kept and store it inline.
		rd := c.open(in)
		b := make([]byte, size)
		if _, err := rd.ReadAt(b, 0); err != nil && err != io.EOF {
			return nil, err
		}
		content = meta.Content{Size: size, Inline: b}
	case len(in.Inline) > 0 || in.Size == 0:
		if size <= uint64(len(in.Inline)) {
			content = meta.Content{Size: size, Inline: in.Inline[:size]}
		} else if size <= uint64(c.Params.InlineMax) {
			b := make([]byte, size)
			copy(b, in.Inline)
			content = meta.Content{Size: size, Inline: b}
		} else {
			// Grow an inline file past the inline limit: move it to chunks
			// (more than one when InlineMax is above ChunkSize).
			var chunks []meta.Chunk
			for rest := in.Inline; len(rest) > 0; {
				data := rest[:min(len(rest), c.Params.ChunkSize)]
				rest = rest[len(data):]
				id := chunkstore.ID(data)
				if err := c.putChunk(ctx, id, data); err != nil {
					return nil, &meta.Error{Op: "truncate", Path: fmt.Sprintf("inode %d", ino), Err: err}
				}
				chunks = append(chunks, meta.Chunk{ID: id, Size: uint32(len(data))})
			}
			content = meta.Content{Size: size, Chunks: append(chunks, holes(size-uint64(len(in.Inline)), c.Params.ChunkSize)...)}
		}
	case size >= in.Size:
		content = meta.Content{Size: size, Chunks: append(append([]meta.Chunk(nil), in.Chunks...), holes(size-in.Size, c.Params.ChunkSize)...)}
	default:
		var kept []meta.Chunk
		var off uint64
		for _, ch := range in.Chunks {
			end := off + uint64(ch.Size)
			if end <= size {
				kept = append(kept, ch)
			} else if off < size {
				part := meta.Chunk{Size: uint32(size - off)}
				if ch.ID != "" {
					data, err := c.getChunk(ctx, ch.ID, nil)
					if err != nil {
						return nil, &meta.Error{Op: "truncate", Path: fmt.Sprintf("inode %d", ino), Err: err}
					}
					data = data[:part.Size]
					part.ID = chunkstore.ID(data)
					if err := c.putChunk(ctx, part.ID, data); err != nil {
						return nil, &meta.Error{Op: "truncate", Path: fmt.Sprintf("inode %d", ino), Err: err}
					}
				}
				kept = append(kept, part)
			}
			off = end
		}
		content = meta.Content{Size: size, Chunks: kept}
	}
	return c.FS.Commit(ctx, ino, base, content)
}

// holes returns hole chunks covering n bytes.
func holes(n uint64, chunkSize int) []meta.Chunk {
	var out []meta.Chunk
	for n > 0 {
		k := min(n, uint64(chunkSize))
		out = append(out, meta.Chunk{Size: uint32(k)})
		n -= k
	}
	return out
}

// Reader reads one version of a file. It is an io.Reader, io.ReaderAt,
// io.Seeker and io.WriterTo (which fetches chunks in parallel).
type Reader struct {
	c       *Client
	ctx     context.Context
	in      *meta.Inode
	offsets []uint64 // start of each chunk
	pos     int64

	mu       sync.Mutex
	lastIdx  int
	lastData []byte
}

// Open returns a reader of file ino's version (0: the current one). If the
// file's current version is not version, meta.ErrConflict.
func (c *Client) Open(ctx context.Context, ino, version uint64) (*Reader, error) {
	in, err := c.FS.GetFresh(ctx, ino)
	if err != nil {
		return nil, err
	}
	if in.IsDir() {
		return nil, &meta.Error{Op: "open", Path: fmt.Sprintf("inode %d", ino), Err: syscall.EISDIR}
	}
	if version != 0 && in.Version != version {
		return nil, &meta.Error{Op: "open", Path: fmt.Sprintf("inode %d", ino), Err: meta.ErrConflict}
	}
	return c.OpenInode(ctx, in)
}

// OpenInode returns a reader of the version of a file that in, an inode
// just read (a lookup, a listing), describes: no second read of it.
func (c *Client) OpenInode(ctx context.Context, in *meta.Inode) (*Reader, error) {
	if in.IsDir() {
		return nil, &meta.Error{Op: "open", Path: fmt.Sprintf("inode %d", in.Ino), Err: syscall.EISDIR}
	}
	r := c.open(in)
	r.ctx = ctx
	return r, nil
}

func (c *Client) open(in *meta.Inode) *Reader {
	r := &Reader{c: c, ctx: context.Background(), in: in, lastIdx: -1}
	var off uint64
	for _, ch := range in.Chunks {
		r.offsets = append(r.offsets, off)
		off += uint64(ch.Size)
	}
	return r
}

// Inode returns the inode the reader reads.
func (r *Reader) Inode() *meta.Inode { return r.in }

// Size returns the content size.
func (r *Reader) Size() int64 { return int64(r.in.Size) }

func (r *Reader) chunk(i int) ([]byte, error) {
	r.mu.Lock()
	if r.lastIdx == i {
		d := r.lastData
		r.mu.Unlock()
		return d, nil
	}
	r.mu.Unlock()
	ch := r.in.Chunks[i]
	var data []byte
	if ch.ID == "" {
		data = make([]byte, ch.Size)
	} else {
		var err error
		data, err = r.c.getChunk(r.ctx, ch.ID, nil)
		if err != nil {
			return nil, &meta.Error{Op: "read", Path: fmt.Sprintf("inode %d", r.in.Ino), Err: err}
		}
		if len(data) != int(ch.Size) {
			return nil, &meta.Error{Op: "read", Path: fmt.Sprintf("inode %d", r.in.Ino), Err: syscall.EIO}
		}
	}
	r.mu.Lock()
	r.lastIdx, r.lastData = i, data
	r.mu.Unlock()
	return data, nil
}

// ReadAt implements io.ReaderAt.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, &meta.Error{Op: "read", Path: fmt.Sprintf("inode %d", r.in.Ino), Err: syscall.EINVAL}
	}
	if off >= int64(r.in.Size) {
		return 0, io.EOF
	}
	if len(r.in.Inline) > 0 || len(r.in.Chunks) == 0 {
		n := copy(p, r.in.Inline[min(off, int64(len(r.in.Inline))):])
		if n < len(p) {
			return n, io.EOF
		}
		return n, nil
	}
	n := 0
	for n < len(p) && off+int64(n) < int64(r.in.Size) {
		pos := uint64(off) + uint64(n)
		i := sort.Search(len(r.offsets), func(i int) bool { return r.offsets[i] > pos }) - 1
		data, err := r.chunk(i)
		if err != nil {
			return n, err
		}
		n += copy(p[n:], data[pos-r.offsets[i]:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.ReadAt(p, r.pos)
	r.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Seek implements io.Seeker.
func (r *Reader) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += r.pos
	case io.SeekEnd:
		off += int64(r.in.Size)
	}
	if off < 0 {
		return 0, syscall.EINVAL
	}
	r.pos = off
	return off, nil
}

// WriteTo implements io.WriterTo: the rest of the content, fetched
// Options.Parallel chunks at a time, written in order.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	if len(r.in.Chunks) == 0 || r.pos != 0 {
		return io.Copy(w, struct{ io.Reader }{r})
	}
	type result struct {
		data []byte
		err  error
	}
	par := r.c.opts.Parallel
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	results := make([]chan result, len(r.in.Chunks))
	for i := range results {
		results[i] = make(chan result, 1)
	}
	sem := make(chan struct{}, par)
	go func() {
		for i, ch := range r.in.Chunks {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func() {
				if ch.ID == "" {
					results[i] <- result{data: make([]byte, ch.Size)}
					return
				}
				d, err := r.c.getChunk(ctx, ch.ID, getBuf(int(ch.Size)))
				if err == nil && len(d) != int(ch.Size) {
					err = syscall.EIO
				}
				results[i] <- result{d, err}
			}()
		}
	}()
	var total int64
	for i := range r.in.Chunks {
		var res result
		select {
		case res = <-results[i]:
		case <-ctx.Done():
			// The dispatcher stops at a cancel: chunk i may never be
			// asked for.
			return total, &meta.Error{Op: "read", Path: fmt.Sprintf("inode %d", r.in.Ino), Err: ctx.Err()}
		}
		<-sem
		if res.err != nil {
			return total, &meta.Error{Op: "read", Path: fmt.Sprintf("inode %d", r.in.Ino), Err: res.err}
		}
		n, err := w.Write(res.data)
		if r.in.Chunks[i].ID != "" {
			putBuf(res.data)
		}
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	r.pos = int64(r.in.Size)
	return total, nil
}

// ReadFile returns the whole current content of ino.
func (c *Client) ReadFile(ctx context.Context, ino uint64) ([]byte, error) {
	r, err := c.Open(ctx, ino, 0)
	if err != nil {
		return nil, err
	}
	var sb strings.Builder
	sb.Grow(int(r.Size()))
	if _, err := r.WriteTo(&sb); err != nil {
		return nil, err
	}
	return []byte(sb.String()), nil
}

// WaitNodes waits until n storage nodes are live (or timeout).
func (c *Client) WaitNodes(ctx context.Context, n int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return c.view.WaitLive(ctx, n)
}
