package exitdial

import (
	"os"
	"testing"
	"time"
)

// after's channel closes, and never before its time: on the timerfd below
// 1 ms, and on the runtime's timer above.
func TestAfter(t *testing.T) {
	for _, d := range []time.Duration{0, 150 * time.Microsecond, 900 * time.Microsecond, 3 * time.Millisecond} {
		start := time.Now()
		select {
		case <-after(d):
		case <-time.After(5 * time.Second):
			t.Fatalf("after(%v) did not fire in 5s", d)
		}
		if el := time.Since(start); el < d {
			t.Fatalf("after(%v) fired after %v", d, el)
		}
	}
	// Waits nobody reads end on their own: their descriptors are closed.
	before := openFiles(t)
	for range 200 {
		after(100 * time.Microsecond)
	}
	deadline := time.Now().Add(5 * time.Second)
	for openFiles(t) > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d descriptors open, %d before 200 abandoned waits", openFiles(t), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func openFiles(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
