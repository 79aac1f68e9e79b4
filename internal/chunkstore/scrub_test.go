package chunkstore

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrot-project/carrot/internal/chunkstore/chunkpb"
	"google.golang.org/grpc"
)

func corrupt(t *testing.T, st *Store, id string, off int64) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(st.Dir(), "chunks", id[:2], id), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff ^ byte(off)}, off); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestScrubFindsCorruption: a pass reads every chunk, quarantines and
// reports the one damaged on disk, and keeps the others.
func TestScrubFindsCorruption(t *testing.T) {
	var mu sync.Mutex
	var reported []string
	st, err := Open(t.TempDir(), Options{OnCorrupt: func(id string) {
		mu.Lock()
		reported = append(reported, id)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for k, n := range []int{1, 4095, 4096, 100001, MaxChunkSize} {
		data := pattern(n, byte(k))
		id := ID(data)
		if _, err := st.Put(id, int64(n), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	corrupt(t, st, ids[3], 77777)
	if err := st.ScrubPass(context.Background(), 1<<40); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(reported) != 1 || reported[0] != ids[3] {
		t.Fatalf("reported %v, want %s", reported, ids[3])
	}
	mu.Unlock()
	if st.Has(ids[3]) {
		t.Fatal("corrupt chunk kept")
	}
	for i, id := range ids {
		if i != 3 && !st.Has(id) {
			t.Fatalf("good chunk %d dropped", i)
		}
	}
	sc := st.ScrubStats()
	if sc.Passes != 1 || sc.Chunks != 5 || sc.Bytes != 1+4095+4096+100001+MaxChunkSize || sc.LastPass.IsZero() {
		t.Fatalf("scrub stats %+v", sc)
	}
	if s := st.Stats(); s.Corrupt != 1 || s.Chunks != 4 {
		t.Fatalf("stats %+v", s)
	}
}

// TestScrubRateAndSchedule: a pass reads no faster than its rate, the
// loop records the pass and a restarted store waits for the interval.
func TestScrubRateAndSchedule(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for k := range 4 {
		data := pattern(512<<10, byte(k))
		st.Put(ID(data), int64(len(data)), bytes.NewReader(data))
	}
	// 2 MiB at 4 MiB/s: at least half a second (a lower bound: a slow
	// machine only makes it longer).
	start := time.Now()
	if err := st.ScrubPass(context.Background(), 4<<20); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 400*time.Millisecond {
		t.Fatalf("2 MiB scrubbed in %v at 4 MiB/s", el)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { st.Scrub(ctx, ScrubOptions{Rate: 1 << 40, Interval: time.Hour}); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for st.ScrubStats().Passes < 2 {
		if time.Now().After(deadline) {
			t.Fatal("scrub loop never ran a pass")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if _, err := os.Stat(filepath.Join(dir, "scrub-last")); err != nil {
		t.Fatal(err)
	}
	// A restart within the interval does not scrub again.
	st2, _ := Open(dir, Options{})
	ctx2, cancel2 := context.WithCancel(context.Background())
	go st2.Scrub(ctx2, ScrubOptions{Rate: 1 << 40, Interval: time.Hour})
	time.Sleep(300 * time.Millisecond)
	cancel2()
	if sc := st2.ScrubStats(); sc.Passes != 0 || sc.LastPass.IsZero() {
		t.Fatalf("restarted store: %+v", sc)
	}
}

// lyingServer damages every unverified Get on the way, as a bad link or
// a bad NIC would; verified Gets are served honestly.
type lyingServer struct{ *Server }

func (l lyingServer) Get(req *chunkpb.GetRequest, stream chunkpb.ChunkStore_GetServer) error {
	if req.Verify {
		return l.Server.Get(req, stream)
	}
	return l.Server.Get(req, flipStream{stream})
}

type flipStream struct{ chunkpb.ChunkStore_GetServer }

func (f flipStream) Send(m *chunkpb.GetResponse) error {
	d := bytes.Clone(m.Data)
	if len(d) > 0 {
		d[len(d)/2] ^= 1
	}
	return f.ChunkStore_GetServer.Send(&chunkpb.GetResponse{Data: d, Size: m.Size})
}

// TestClientVerifiesEndToEnd: bytes damaged between the node and the
// client are caught by the client, which asks for a verified copy; the
// node's good copy is not quarantined.
func TestClientVerifiesEndToEnd(t *testing.T) {
	st, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := pattern(3<<20+5, 9)
	id := ID(data)
	st.Put(id, int64(len(data)), bytes.NewReader(data))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tlsOnce.Do(func() { testTLS = memberTLS(t) })
	gs := grpc.NewServer(append(AuthInterceptors(token), serverOptions(testTLS)...)...)
	chunkpb.RegisterChunkStoreServer(gs, lyingServer{NewServer(st, "liar")})
	go gs.Serve(ln)
	defer gs.Stop()
	c, err := Dial(ln.Addr().String(), testTLS, token)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The raw unverified stream is damaged...
	raw, err := rangeGet(t, c, id, 0, 0) // 0: to the end
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(raw, data) || len(raw) != len(data) {
		t.Fatal("the lying server did not lie")
	}
	// ...but Get returns the right bytes, and the node keeps its copy.
	got, err := c.Get(ctx(t), id, nil)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get through a damaging link: %v", err)
	}
	if !st.Has(id) || st.Stats().Corrupt != 0 {
		t.Fatal("a good copy was quarantined")
	}
}

// TestGetRanges: byte ranges, verified or not.
func TestGetRanges(t *testing.T) {
	_, c := serve(t, Options{})
	data := pattern(2*frameSize+100, 4)
	id := ID(data)
	if _, err := c.Put(ctx(t), id, data); err != nil {
		t.Fatal(err)
	}
	for _, verify := range []bool{false, true} {
		for _, r := range [][2]uint64{{0, 0}, {5, 10}, {frameSize - 3, frameSize + 7}, {uint64(len(data)) - 1, 0}, {uint64(len(data)), 0}, {100, 1 << 30}} {
			s, err := c.RPC().Get(ctx(t), &chunkpb.GetRequest{Id: id, Offset: r[0], Length: r[1], Verify: verify})
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			var size uint64
			for {
				m, err := s.Recv()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("range %v verify=%v: %v", r, verify, err)
				}
				if m.Size != 0 {
					size = m.Size
				}
				got = append(got, m.Data...)
			}
			end := uint64(len(data))
			if r[1] > 0 && r[0]+r[1] < end {
				end = r[0] + r[1]
			}
			if !bytes.Equal(got, data[r[0]:end]) || size != uint64(len(data)) {
				t.Fatalf("range %v verify=%v: %d bytes, size %d", r, verify, len(got), size)
			}
		}
	}
}

// TestScrubGoesOnPastUnreadable: a chunk the pass cannot read (here a
// directory where its file should be) is skipped and counted; the chunks
// after it are still checked, a corrupt one among them quarantined.
func TestScrubGoesOnPastUnreadable(t *testing.T) {
	st, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for k := range 6 {
		data := pattern(5000+k, byte(k))
		id := ID(data)
		if _, err := st.Put(id, int64(len(data)), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	slices.Sort(ids) // the order a pass takes them in
	odd := filepath.Join(st.Dir(), "chunks", ids[0][:2], ids[0])
	if err := os.Remove(odd); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(odd, 0o700); err != nil {
		t.Fatal(err)
	}
	corrupt(t, st, ids[5], 10)
	// The pass goes on past it, and then says it was not a whole pass.
	if err := st.ScrubPass(context.Background(), 1<<40); err == nil || !strings.Contains(err.Error(), "1 of 6 chunks could not be checked") {
		t.Fatalf("the pass: %v", err)
	}
	if st.Has(ids[5]) {
		t.Fatal("the corrupt chunk after the unreadable one was not checked")
	}
	if sc := st.ScrubStats(); sc.Skipped != 1 || sc.Passes != 0 || sc.Chunks != 5 {
		t.Fatalf("scrub stats %+v, want 1 skipped, no whole pass, 5 checked", sc)
	}
}
