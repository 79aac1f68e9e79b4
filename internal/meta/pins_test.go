package meta_test

import (
	"fmt"
	"testing"
)

// TestPins: an upload's pins are listed until it unpins them, or until the
// lease they live under ends (a writer that died).
func TestPins(t *testing.T) {
	f := newFS(t)
	c := ctx(t)
	lr, err := etcdCli.Grant(c, 30)
	mustNil(t, err)
	var ids []string
	for i := range 150 { // more than one transaction's worth
		ids = append(ids, fmt.Sprintf("%064x", i))
	}
	mustNil(t, f.Pin(c, lr.ID, 1, ids[:120]))
	mustNil(t, f.Pin(c, lr.ID, 1, ids[120:]))
	mustNil(t, f.Pin(c, lr.ID, 2, ids[:1])) // another upload of the same chunk
	got, err := f.Pinned(c)
	mustNil(t, err)
	if len(got) != len(ids) || !got[ids[0]] || !got[ids[149]] {
		t.Fatalf("pinned: %d of %d", len(got), len(ids))
	}
	mustNil(t, f.Unpin(c, lr.ID, 1))
	got, err = f.Pinned(c)
	mustNil(t, err)
	if len(got) != 1 || !got[ids[0]] {
		t.Fatalf("after upload 1 unpinned: %v, want only the other upload's chunk", got)
	}
	_, err = etcdCli.Revoke(c, lr.ID)
	mustNil(t, err)
	got, err = f.Pinned(c)
	mustNil(t, err)
	if len(got) != 0 {
		t.Fatalf("after the lease ended: %d pins", len(got))
	}
}

// TestPinRepeatedChunks: an upload of repeated content pins the same
// chunk more than once, within one transaction's worth and across two;
// etcd refuses a transaction that puts one key twice, so Pin must not
// send one.
func TestPinRepeatedChunks(t *testing.T) {
	f := newFS(t)
	c := ctx(t)
	lr, err := etcdCli.Grant(c, 30)
	mustNil(t, err)
	zero := fmt.Sprintf("%064x", 0)
	other := fmt.Sprintf("%064x", 1)
	var ids []string
	for i := range 250 { // past two transactions' worth
		if i%50 == 49 {
			ids = append(ids, other)
		} else {
			ids = append(ids, zero)
		}
	}
	mustNil(t, f.Pin(c, lr.ID, 1, ids))
	mustNil(t, f.Pin(c, lr.ID, 1, ids[:3])) // pinned again, as a renewal does
	got, err := f.Pinned(c)
	mustNil(t, err)
	if len(got) != 2 || !got[zero] || !got[other] {
		t.Fatalf("pinned %v, want the two chunks", got)
	}
	mustNil(t, f.Unpin(c, lr.ID, 1))
	if got, err = f.Pinned(c); err != nil || len(got) != 0 {
		t.Fatalf("after unpin: %v %v", got, err)
	}
}
