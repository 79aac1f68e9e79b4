package chunkstore

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"github.com/carrot-project/carrot/internal/chunkstore/chunkpb"
	"github.com/carrot-project/carrot/internal/clusterconf"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const token = "test-token"

// memberTLS makes a cluster CA and a member certificate, and returns the
// member's mutual-TLS configuration.
func memberTLS(t testing.TB) *tls.Config {
	t.Helper()
	ca, caKey, err := clusterconf.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := clusterconf.IssueMember(ca, caKey, "test member")
	if err != nil {
		t.Fatal(err)
	}
	f := &clusterconf.File{CA: string(ca), Cert: string(cert), Key: string(key)}
	tc, err := f.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

var (
	tlsOnce sync.Once
	testTLS *tls.Config
)

// serve starts a real gRPC node on loopback and returns a client.
func serve(t testing.TB, opts Options) (*Store, *Conn) {
	t.Helper()
	st, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tlsOnce.Do(func() { testTLS = memberTLS(t) })
	gs := NewGRPCServer(st, "n1", token, testTLS)
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	c, err := Dial(ln.Addr().String(), testTLS, token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return st, c
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	st, c := serve(t, Options{})
	for _, n := range []int{0, 1, frameSize - 1, frameSize, frameSize + 1, MaxChunkSize} {
		data := pattern(n, byte(n))
		id := ID(data)
		existed, err := c.Put(ctx(t), id, data)
		if err != nil || existed {
			t.Fatalf("put %d: existed=%v err=%v", n, existed, err)
		}
		if existed, err := c.Put(ctx(t), id, data); err != nil || !existed {
			t.Fatalf("second put %d: existed=%v err=%v", n, existed, err)
		}
		got, err := c.Get(ctx(t), id, nil)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("get %d: %v (len %d)", n, err, len(got))
		}
	}
	have, err := c.Has(ctx(t), []string{ID(nil), ID([]byte("nope"))})
	if err != nil || !have[0] || have[1] {
		t.Fatalf("has = %v %v", have, err)
	}
	inv, err := c.List(ctx(t))
	if err != nil || len(inv) != 6 {
		t.Fatalf("list: %d entries, %v", len(inv), err)
	}
	s, err := c.Stats(ctx(t))
	if err != nil || s.Chunks != 6 || s.NodeId != "n1" {
		t.Fatalf("stats %v %v", s, err)
	}
	// Range read through the raw RPC.
	data := pattern(MaxChunkSize, byte(MaxChunkSize%256))
	stream, err := c.RPC().Get(ctx(t), &chunkpb.GetRequest{Id: ID(data), Offset: 10, Length: 5})
	if err != nil {
		t.Fatal(err)
	}
	m, err := stream.Recv()
	if err != nil || !bytes.Equal(m.Data, data[10:15]) || m.Size != MaxChunkSize {
		t.Fatalf("range: %v %v", m, err)
	}
	// Reopening counts what is there.
	st2, err := Open(st.Dir(), Options{})
	if err != nil || st2.Stats().Chunks != 6 {
		t.Fatalf("reopen: %+v %v", st2.Stats(), err)
	}
}

func TestRefusesBadRequests(t *testing.T) {
	_, c := serve(t, Options{})
	data := []byte("hello")
	// Wrong hash.
	if _, err := c.Put(ctx(t), ID([]byte("other")), data); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("mismatched put: %v", err)
	}
	for _, id := range []string{"", "../../../etc/passwd", strings.Repeat("A", 64), strings.Repeat("a", 63), strings.Repeat("g", 64), "/" + strings.Repeat("a", 63)} {
		if _, err := c.Put(ctx(t), id, data); status.Code(err) != codes.InvalidArgument {
			t.Errorf("put id %q: %v", id, err)
		}
		if _, err := c.Get(ctx(t), id, nil); status.Code(err) != codes.InvalidArgument {
			t.Errorf("get id %q: %v", id, err)
		}
		if _, err := c.Has(ctx(t), []string{id}); status.Code(err) != codes.InvalidArgument {
			t.Errorf("has id %q: %v", id, err)
		}
		if _, err := c.Delete(ctx(t), []string{id}, time.Time{}); status.Code(err) != codes.InvalidArgument {
			t.Errorf("delete id %q: %v", id, err)
		}
	}
	// Size lies: announced more than sent, and sent more than announced.
	id := ID(data)
	for _, size := range []uint64{3, 9, MaxChunkSize + 1} {
		s, err := c.RPC().Put(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		s.Send(&chunkpb.PutRequest{Id: id, Size: size, Data: data})
		if _, err := s.CloseAndRecv(); status.Code(err) != codes.InvalidArgument {
			t.Errorf("size %d: %v", size, err)
		}
	}
	if _, err := c.Get(ctx(t), id, nil); status.Code(err) != codes.NotFound {
		t.Fatalf("refused chunk stored: %v", err)
	}
}

func TestUnauthenticatedRefused(t *testing.T) {
	_, c := serve(t, Options{})
	// The right certificate, a wrong token: refused per call.
	for _, tok := range []string{"", "wrong", token + "x"} {
		bad, err := Dial(c.Addr, testTLS, tok)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bad.Stats(ctx(t)); status.Code(err) != codes.Unauthenticated {
			t.Errorf("token %q: stats %v", tok, err)
		}
		if _, err := bad.Put(ctx(t), ID(nil), nil); status.Code(err) != codes.Unauthenticated {
			t.Errorf("token %q: put %v", tok, err)
		}
		bad.Close()
	}
	// Transport refusals: every call fails before the service sees it.
	noCert := testTLS.Clone()
	noCert.Certificates = nil
	otherCA := memberTLS(t) // a certificate from another cluster's CA
	trustAny := otherCA.Clone()
	trustAny.InsecureSkipVerify = true // trusts the node, but its own cert is foreign
	cases := map[string]grpc.DialOption{
		"no TLS":                            grpc.WithTransportCredentials(insecure.NewCredentials()),
		"TLS, no client cert":               grpc.WithTransportCredentials(credentials.NewTLS(noCert)),
		"other CA's cert":                   grpc.WithTransportCredentials(credentials.NewTLS(otherCA)),
		"other CA's cert, server unchecked": grpc.WithTransportCredentials(credentials.NewTLS(trustAny)),
	}
	for name, creds := range cases {
		cc, err := grpc.NewClient(c.Addr, creds, grpc.WithPerRPCCredentials(insecureToken(token)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = chunkpb.NewChunkStoreClient(cc).Has(ctx(t), &chunkpb.HasRequest{})
		if code := status.Code(err); code != codes.Unavailable {
			t.Errorf("%s: %v (want a failed connection)", name, err)
		}
		cc.Close()
	}
	// The good client still works.
	if _, err := c.Stats(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

// insecureToken sends the token even without TLS, as an attacker's client
// would.
type insecureToken string

func (t insecureToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}
func (insecureToken) RequireTransportSecurity() bool { return false }

func TestCorruptChunkQuarantined(t *testing.T) {
	var reported []string
	st, c := serve(t, Options{OnCorrupt: func(id string) { reported = append(reported, id) }})
	data := pattern(100000, 3)
	id := ID(data)
	if _, err := c.Put(ctx(t), id, data); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(st.Dir(), "chunks", id[:2], id)
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0xff}, 5000)
	f.Close()
	if _, err := c.Get(ctx(t), id, nil); status.Code(err) != codes.DataLoss {
		t.Fatalf("corrupt get: %v", err)
	}
	if len(reported) != 1 || reported[0] != id {
		t.Fatalf("reported %v", reported)
	}
	if st.Has(id) {
		t.Fatal("corrupt chunk still served")
	}
	if s := st.Stats(); s.Corrupt != 1 || s.Chunks != 0 {
		t.Fatalf("stats %+v", s)
	}
	// A good copy can be put back.
	if _, err := c.Put(ctx(t), id, data); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Get(ctx(t), id, nil); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("after repair: %v", err)
	}
}

func TestCapacityENOSPC(t *testing.T) {
	_, c := serve(t, Options{Capacity: 1000})
	if _, err := c.Put(ctx(t), ID(pattern(600, 1)), pattern(600, 1)); err != nil {
		t.Fatal(err)
	}
	_, err := c.Put(ctx(t), ID(pattern(600, 2)), pattern(600, 2))
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("over capacity: %v", err)
	}
}

func TestDeleteOlderThan(t *testing.T) {
	st, c := serve(t, Options{})
	data := []byte("gc me")
	id := ID(data)
	c.Put(ctx(t), id, data)
	past := time.Now().Add(-time.Hour)
	if n, err := c.Delete(ctx(t), []string{id}, past); err != nil || n != 0 {
		t.Fatalf("fresh chunk deleted: %d %v", n, err)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(filepath.Join(st.Dir(), "chunks", id[:2], id), old, old)
	// A dedup Put refreshes the mtime, protecting the chunk.
	if existed, err := c.Put(ctx(t), id, data); err != nil || !existed {
		t.Fatal(existed, err)
	}
	if n, _ := c.Delete(ctx(t), []string{id}, past); n != 0 {
		t.Fatal("touched chunk deleted")
	}
	os.Chtimes(filepath.Join(st.Dir(), "chunks", id[:2], id), old, old)
	if n, err := c.Delete(ctx(t), []string{id}, past); err != nil || n != 1 {
		t.Fatalf("old chunk kept: %d %v", n, err)
	}
	if st.Has(id) || st.Stats().Chunks != 0 {
		t.Fatal("still there")
	}
}

func FuzzValidID(f *testing.F) {
	f.Add(ID(nil))
	f.Add("../" + ID(nil)[3:])
	f.Add(strings.ToUpper(ID(nil)))
	dir := f.TempDir()
	s := &Store{dir: dir}
	f.Fuzz(func(t *testing.T, id string) {
		if !ValidID(id) {
			return
		}
		p := s.path(id)
		rel, err := filepath.Rel(filepath.Join(dir, "chunks"), p)
		if err != nil || strings.HasPrefix(rel, "..") || filepath.Clean(p) != p || strings.Count(rel, "/") != 1 {
			t.Fatalf("valid id %q maps outside the store: %s", id, p)
		}
	})
}

// FuzzPutRequest decodes arbitrary bytes as a Put message and stores them:
// nothing panics, nothing lands outside DIR, and a chunk is kept only if its
// content hashes to its id.
func FuzzPutRequest(f *testing.F) {
	good, _ := proto.Marshal(&chunkpb.PutRequest{Id: ID([]byte("x")), Size: 1, Data: []byte("x")})
	f.Add(good)
	bad, _ := proto.Marshal(&chunkpb.PutRequest{Id: "../x", Size: 1, Data: []byte("x")})
	f.Add(bad)
	f.Add([]byte{0x0a, 0xff, 0xff})
	st, err := Open(f.TempDir(), Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m chunkpb.PutRequest
		if proto.Unmarshal(b, &m) != nil {
			return
		}
		existed, err := st.Put(m.Id, int64(m.Size), bytes.NewReader(m.Data))
		if err == nil {
			// A chunk already held is acknowledged without its data.
			if !existed && m.Id != ID(m.Data) || !st.Has(m.Id) {
				t.Fatalf("accepted %q for %d bytes", m.Id, len(m.Data))
			}
			return
		}
		if ValidID(m.Id) && m.Id == ID(m.Data) && int(m.Size) == len(m.Data) {
			t.Fatalf("refused a good chunk: %v", err)
		}
		if !errors.Is(err, ErrBadID) && !errors.Is(err, ErrMismatch) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// TestRangedGetVerified: the client cannot check part of a chunk against
// its id, so the node verifies the whole chunk before serving the first
// range of it; a corrupt one is quarantined, counted, reported and
// answered with DATA_LOSS (the client tries another replica), whether the
// damage is in the range or not.
func TestRangedGetVerified(t *testing.T) {
	var reported []string
	st, c := serve(t, Options{OnCorrupt: func(id string) { reported = append(reported, id) }})
	data := pattern(3*frameSize+10, 5)
	id := ID(data)
	for k, r := range []struct{ damage, off, length uint64 }{
		{damage: 100, off: 2 * frameSize, length: 4096}, // outside the range
		{damage: 100, off: 90, length: 20},              // inside it
		{damage: 3 * frameSize, off: 1},                 // to the end
		{damage: 0, off: 0, length: 1},                  // the first byte
	} {
		if _, err := c.Put(ctx(t), id, data); err != nil {
			t.Fatal(err)
		}
		corrupt(t, st, id, int64(r.damage))
		s, err := c.RPC().Get(ctx(t), &chunkpb.GetRequest{Id: id, Offset: r.off, Length: r.length})
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.Recv()
		if status.Code(err) != codes.DataLoss {
			t.Fatalf("case %d: ranged get of a corrupt chunk: %d bytes, %v", k, len(m.GetData()), err)
		}
		if len(reported) != k+1 || reported[k] != id {
			t.Fatalf("case %d: reported %v", k, reported)
		}
		if st.Has(id) {
			t.Fatalf("case %d: corrupt chunk kept", k)
		}
		if s := st.Stats(); s.Corrupt != int64(k+1) || s.Chunks != 0 || s.Bytes != 0 {
			t.Fatalf("case %d: stats %+v", k, s)
		}
	}
}

// TestPutReplacesCorruptCopy: a Put of a chunk the store holds checks the
// copy it holds; a damaged (or truncated) one is quarantined, counted and
// reported, and the new data takes its place, so a corrupt copy nobody
// has read yet is never acknowledged as one of the R durable copies.
func TestPutReplacesCorruptCopy(t *testing.T) {
	var reported []string
	st, err := Open(t.TempDir(), Options{OnCorrupt: func(id string) { reported = append(reported, id) }})
	if err != nil {
		t.Fatal(err)
	}
	data := pattern(100000, 6)
	id := ID(data)
	p := filepath.Join(st.Dir(), "chunks", id[:2], id)
	for k, damage := range []func(){
		func() { corrupt(t, st, id, 77777) },
		func() {
			if err := os.Truncate(p, 4096); err != nil {
				t.Fatal(err)
			}
		},
	} {
		if _, err := st.Put(id, int64(len(data)), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		damage()
		existed, err := st.Put(id, int64(len(data)), bytes.NewReader(data))
		if err != nil || existed {
			t.Fatalf("case %d: put over a corrupt copy: existed=%v err=%v", k, existed, err)
		}
		if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("case %d: the corrupt copy was kept (%v)", k, err)
		}
		if len(reported) != k+1 || reported[k] != id {
			t.Fatalf("case %d: reported %v", k, reported)
		}
		// (Bytes only where the damage kept the size: the store counts a
		// file's size when it is put, and uncounts its size when it goes.)
		if s := st.Stats(); s.Corrupt != int64(k+1) || s.Chunks != 1 || k == 0 && s.Bytes != int64(len(data)) {
			t.Fatalf("case %d: stats %+v", k, s)
		}
		if q, _ := os.ReadDir(filepath.Join(st.Dir(), "corrupt")); len(q) != k+1 {
			t.Fatalf("case %d: %d files quarantined", k, len(q))
		}
		st.Delete(id, time.Time{})
	}
	// A good copy is acknowledged without the data (and its mtime, which
	// the garbage collector reads, refreshed: TestDeleteOlderThan).
	if _, err := st.Put(id, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if existed, err := st.Put(id, int64(len(data)), iotest.ErrReader(errors.New("read"))); err != nil || !existed {
		t.Fatalf("put over a good copy: existed=%v err=%v", existed, err)
	}
	if s := st.Stats(); s.Corrupt != 2 || s.Chunks != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestQuarantineSparesReplacement: a reader that finds a copy bad after a
// Put has replaced it quarantines nothing: the good copy stays, and the
// bad one is counted and reported once.
func TestQuarantineSparesReplacement(t *testing.T) {
	var reported []string
	st, err := Open(t.TempDir(), Options{OnCorrupt: func(id string) { reported = append(reported, id) }})
	if err != nil {
		t.Fatal(err)
	}
	data := pattern(5000, 7)
	id := ID(data)
	if _, err := st.Put(id, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	corrupt(t, st, id, 10)
	f, size, err := st.Open(id) // a slow reader opens the bad copy...
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if existed, err := st.Put(id, int64(len(data)), bytes.NewReader(data)); err != nil || existed {
		t.Fatalf("repairing put: existed=%v err=%v", existed, err)
	}
	// ...and finds it bad once the Put has replaced it.
	if _, err := st.readVerified(id, f, size, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("reading the bad copy: %v", err)
	}
	g, gsize, err := st.Open(id)
	if err != nil {
		t.Fatalf("the good copy was moved aside: %v", err)
	}
	defer g.Close()
	if got, err := st.readVerified(id, g, gsize, nil); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the good copy was moved aside: %v", err)
	}
	if s := st.Stats(); s.Corrupt != 1 || s.Chunks != 1 || s.Bytes != int64(len(data)) || len(reported) != 1 {
		t.Fatalf("stats %+v, reported %v", s, reported)
	}
}

// recordSyncs makes syncDir record the directories it fsyncs, each
// relative to dir, until the test ends.
func recordSyncs(t *testing.T, dir string) *[]string {
	var mu sync.Mutex
	var synced []string
	real := syncDir
	syncDir = func(d string) error {
		rel, err := filepath.Rel(dir, d)
		if err != nil {
			t.Errorf("fsync of %s, outside %s", d, dir)
		}
		if rel == "chunks" {
			// After making the subdirectory, or there is nothing to sync.
			if ents, _ := os.ReadDir(d); len(ents) == 0 {
				t.Errorf("chunks/ fsynced before any subdirectory was made")
			}
		}
		mu.Lock()
		synced = append(synced, rel)
		mu.Unlock()
		return real(d)
	}
	t.Cleanup(func() { syncDir = real })
	return &synced
}

// TestPutSyncsNewSubdir: the first Put into a new fan-out subdirectory
// fsyncs chunks/ once it has made it (else the subdirectory, and the
// chunk in it, may be gone after a crash), later Puts there fsync only the
// subdirectory; a store opened again fsyncs chunks/ once more on its first
// Put into each subdirectory (the last run may have crashed between the
// mkdir and the fsync); and Open fsyncs DIR, where it makes chunks/. This
// checks the calls and their order, not what a disk keeps after a crash.
func TestPutSyncsNewSubdir(t *testing.T) {
	dir := t.TempDir()
	synced := recordSyncs(t, dir)
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Three chunks, the first two in one subdirectory (and one of the
	// three may be empty).
	chunks := map[string][][]byte{}
	var a, b []byte
	for i := 0; a == nil; i++ {
		d := []byte(strings.Repeat("x", i))
		id := ID(d)
		chunks[id[:2]] = append(chunks[id[:2]], d)
		if len(chunks[id[:2]]) == 2 {
			a = d
			b = chunks[id[:2]][0]
		}
	}
	var c []byte
	for i := 0; c == nil; i++ {
		if d := []byte(strings.Repeat("y", i)); ID(d)[:2] != ID(a)[:2] {
			c = d
		}
	}
	put := func(st *Store, d []byte, want ...string) {
		t.Helper()
		*synced = nil
		if _, err := st.Put(ID(d), int64(len(d)), bytes.NewReader(d)); err != nil {
			t.Fatal(err)
		}
		if strings.Join(*synced, " ") != strings.Join(want, " ") {
			t.Fatalf("put into %s fsynced %q, want %q", ID(d)[:2], *synced, want)
		}
	}
	if strings.Join(*synced, " ") != "." {
		t.Fatalf("open fsynced %q, want DIR", *synced)
	}
	put(st, a, "chunks", "chunks/"+ID(a)[:2])
	put(st, b, "chunks/"+ID(a)[:2])
	put(st, c, "chunks", "chunks/"+ID(c)[:2])
	st2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "chunks", ID(b)[:2], ID(b)))
	put(st2, b, "chunks", "chunks/"+ID(b)[:2])
	// A failed fsync of chunks/ fails the Put and is tried again.
	real := syncDir
	syncDir = func(d string) error {
		if filepath.Base(d) == "chunks" {
			return errors.New("EIO")
		}
		return real(d)
	}
	var d []byte
	for i := 1; d == nil; i++ { // not empty: c may be
		if e := []byte(strings.Repeat("z", i)); ID(e)[:2] != ID(b)[:2] {
			d = e
		}
	}
	if _, err := st2.Put(ID(d), int64(len(d)), bytes.NewReader(d)); err == nil {
		t.Fatalf("put into %s acknowledged though its subdirectory may not be durable (%q)", ID(d)[:2], *synced)
	}
	syncDir = real
	put(st2, d, "chunks", "chunks/"+ID(d)[:2])
}

// TestConcurrentPutsCountOnce: Puts of one new chunk racing each other
// all succeed, and the store counts the chunk once.
func TestConcurrentPutsCountOnce(t *testing.T) {
	st, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		data := pattern(100000, byte(round))
		id := ID(data)
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := st.Put(id, int64(len(data)), bytes.NewReader(data)); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if s := st.Stats(); s.Chunks != int64(round+1) || s.Bytes != int64(round+1)*100000 {
			t.Fatalf("after %d chunks put 4 times at once: %d chunks, %d bytes counted", round+1, s.Chunks, s.Bytes)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(st.Dir(), "tmp"))
	if len(ents) != 0 {
		t.Fatalf("%d temporary files left", len(ents))
	}
}

// rangeGet reads [off, off+length) of chunk id (length 0: to the end)
// through the raw RPC, unverified.
func rangeGet(t *testing.T, c *Conn, id string, off, length uint64) ([]byte, error) {
	t.Helper()
	s, err := c.RPC().Get(ctx(t), &chunkpb.GetRequest{Id: id, Offset: off, Length: length})
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for {
		m, err := s.Recv()
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, m.Data...)
	}
}

// TestRangedGetBlockSums: once a chunk has been verified whole for a
// range, later ranges check only the blocks they read against the sums
// kept then: damage in another block does not stop a range (its bytes are
// right), damage in a block read is caught, quarantined and reported; and
// the sums still serve the chunk put back after that.
func TestRangedGetBlockSums(t *testing.T) {
	var reported []string
	st, c := serve(t, Options{OnCorrupt: func(id string) { reported = append(reported, id) }})
	data := pattern(3*blockSize+10, 6)
	id := ID(data)
	if _, err := c.Put(ctx(t), id, data); err != nil {
		t.Fatal(err)
	}
	check := func(what string, off, length uint64) {
		t.Helper()
		got, err := rangeGet(t, c, id, off, length)
		if err != nil || !bytes.Equal(got, data[off:off+length]) {
			t.Fatalf("%s: %d bytes, %v", what, len(got), err)
		}
	}
	check("first range (whole chunk verified, sums kept)", blockSize+5, 100)
	// Damage block 2 on the disk.
	f, err := os.OpenFile(filepath.Join(st.Dir(), "chunks", id[:2], id), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte{data[2*blockSize+7] ^ 0xff}
	f.WriteAt(b, 2*blockSize+7)
	f.Close()
	check("a range in block 0", 10, 4096)
	check("a range across blocks 0 and 1", blockSize-50, 100)
	check("a range ending where block 2 begins", blockSize, blockSize)
	check("the last, short block", 3*blockSize, 10)
	if len(reported) != 0 || !st.Has(id) {
		t.Fatalf("damage outside the ranges read: reported %v, kept %v", reported, st.Has(id))
	}
	got, err := rangeGet(t, c, id, 2*blockSize, 8)
	if status.Code(err) != codes.DataLoss || len(got) != 0 {
		t.Fatalf("a range in the damaged block: %d bytes, %v", len(got), err)
	}
	if len(reported) != 1 || reported[0] != id || st.Has(id) || st.Stats().Corrupt != 1 {
		t.Fatalf("damaged block read: reported %v, kept %v, stats %+v", reported, st.Has(id), st.Stats())
	}
	// A good copy put back is served through the same sums.
	if _, err := c.Put(ctx(t), id, data); err != nil {
		t.Fatal(err)
	}
	check("the damaged block, put back", 2*blockSize, blockSize+10)
}

// gate is a Put's data that holds its reader back until every Put of a
// round has either begun reading (got past the capacity check) or
// returned: a Put admitted cannot finish before the others are checked.
type gate struct {
	r       io.Reader
	started bool
	g       *gateGroup
}

type gateGroup struct {
	mu      sync.Mutex
	settled int // Puts reading or returned
	n       int
	open    chan struct{}
}

func (g *gateGroup) settle() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.settled++; g.settled == g.n {
		close(g.open)
	}
}

func (r *gate) Read(p []byte) (int, error) {
	if !r.started {
		r.started = true
		r.g.settle()
		<-r.g.open
	}
	return r.r.Read(p)
}

// TestCapacityConcurrentPuts: Puts running at once cannot together store
// more than the capacity (each reserves its size at the check); those
// refused fail with ENOSPC, and a Put that fails or finds its chunk there
// gives its reservation back.
func TestCapacityConcurrentPuts(t *testing.T) {
	const size, capacity, puts = 64 << 10, 5*64<<10 + 1000, 24
	st, err := Open(t.TempDir(), Options{Capacity: capacity})
	if err != nil {
		t.Fatal(err)
	}
	// A Put that fails keeps nothing reserved.
	bad := pattern(size, 200)
	if _, err := st.Put(ID(bad), size, bytes.NewReader(bad[1:])); !errors.Is(err, ErrMismatch) {
		t.Fatalf("short put: %v", err)
	}
	g := &gateGroup{n: puts, open: make(chan struct{})}
	errs := make([]error, puts)
	var wg sync.WaitGroup
	for i := range puts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := pattern(size, byte(i))
			r := &gate{r: bytes.NewReader(data), g: g}
			_, errs[i] = st.Put(ID(data), size, r)
			if !r.started {
				g.settle()
			}
		}()
	}
	wg.Wait()
	stored := 0
	for i, err := range errs {
		switch {
		case err == nil:
			stored++
		case !errors.Is(err, ErrNoSpace) || !errors.Is(err, syscall.ENOSPC):
			t.Errorf("put %d: %v, want ENOSPC", i, err)
		}
	}
	var onDisk int64
	st.List(func(_ string, n int64, _ time.Time) error { onDisk += n; return nil })
	s := st.Stats()
	t.Logf("%d of %d puts stored, %d bytes on disk, capacity %d", stored, puts, onDisk, capacity)
	if onDisk > capacity || s.Bytes != onDisk || s.Chunks != int64(stored) {
		t.Fatalf("capacity %d: %d bytes on disk, %d chunks stored; stats %+v", capacity, onDisk, stored, s)
	}
	// All the space (none left reserved by the failures) is used.
	if want := capacity / size; stored != want {
		t.Fatalf("%d puts stored, want %d (the capacity's worth)", stored, want)
	}
	if s.DiskTotal != capacity || s.DiskFree != capacity-uint64(onDisk) {
		t.Fatalf("stats %+v", s)
	}
	// Full: a new chunk is refused, one already held is acknowledged and
	// reserves nothing; a chunk deleted frees its space.
	more := pattern(size, 201)
	if _, err := st.Put(ID(more), size, bytes.NewReader(more)); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("put into a full store: %v", err)
	}
	var held string
	for i, err := range errs {
		if err == nil {
			held = ID(pattern(size, byte(i)))
			if existed, err := st.Put(held, size, bytes.NewReader(pattern(size, byte(i)))); err != nil || !existed {
				t.Fatalf("put of a chunk held, store full: existed=%v %v", existed, err)
			}
			break
		}
	}
	if ok, err := st.Delete(held, time.Time{}); !ok || err != nil {
		t.Fatalf("delete: %v %v", ok, err)
	}
	if _, err := st.Put(ID(more), size, bytes.NewReader(more)); err != nil {
		t.Fatalf("put after a delete freed space: %v", err)
	}
	if s := st.Stats(); s.Bytes != onDisk || s.Chunks != int64(stored) {
		t.Fatalf("stats %+v", s)
	}
}

// TestVerify: Conn.Verify has the node check its copy: a good one
// answers its size, a damaged one is quarantined and reported by the node
// (ErrCorrupt), and one it does not hold is ErrNotFound.
func TestVerify(t *testing.T) {
	var reported []string
	var mu sync.Mutex
	st, c := serve(t, Options{OnCorrupt: func(id string) { mu.Lock(); reported = append(reported, id); mu.Unlock() }})
	data := pattern(200000, 9)
	id := ID(data)
	if _, err := c.Put(ctx(t), id, data); err != nil {
		t.Fatal(err)
	}
	if size, err := c.Verify(ctx(t), id); err != nil || size != int64(len(data)) {
		t.Fatalf("verify a good copy: %d %v", size, err)
	}
	if err := os.Truncate(filepath.Join(st.Dir(), "chunks", id[:2], id), 1000); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Verify(ctx(t), id); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("verify a truncated copy: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if st.Has(id) || len(reported) != 1 || reported[0] != id || st.Stats().Chunks != 0 {
		t.Fatalf("truncated copy: held %v, reported %v, stats %+v", st.Has(id), reported, st.Stats())
	}
	if _, err := c.Verify(ctx(t), id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("verify a chunk not held: %v", err)
	}
}

// TestQuarantinePruned: a quarantined copy is kept QuarantineKeep from
// its quarantine (whatever the chunk file's own mtime), then removed when
// the store opens or a scrub pass starts; other files there are left.
func TestQuarantinePruned(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir, Options{QuarantineKeep: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	q := filepath.Join(dir, "corrupt")
	id := ID([]byte("x"))
	old := fmt.Sprintf("%s.%d", id, time.Now().Add(-2*time.Hour).UnixNano())
	recent := fmt.Sprintf("%s.%d", id, time.Now().Add(-30*time.Minute).UnixNano())
	for _, n := range []string{old, recent, "notes.txt"} {
		if err := os.WriteFile(filepath.Join(q, n), []byte("bad"), 0o600); err != nil {
			t.Fatal(err)
		}
		// An old mtime, as a rename of an old chunk keeps: not what counts.
		os.Chtimes(filepath.Join(q, n), time.Now().Add(-48*time.Hour), time.Now().Add(-48*time.Hour))
	}
	left := func() []string {
		var names []string
		ents, _ := os.ReadDir(q)
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	if err := st.ScrubPass(context.Background(), 1<<30); err != nil {
		t.Fatal(err)
	}
	if got := left(); !slices.Equal(got, []string{recent, "notes.txt"}) && !slices.Equal(got, []string{"notes.txt", recent}) {
		t.Fatalf("after a scrub pass: %v (want the recent copy and notes.txt)", got)
	}
	if _, err := Open(dir, Options{QuarantineKeep: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if got := left(); !slices.Equal(got, []string{"notes.txt"}) {
		t.Fatalf("after opening with a keep of a minute: %v", got)
	}
}
