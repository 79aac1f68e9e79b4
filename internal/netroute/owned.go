package netroute

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Streams on the program's own socket (over.go). carrot does not trap
// close, and once the stream is handed over it holds no duplicate of the
// socket (one would keep the connection open after the program closed
// it), so it never sees such a stream end: its entry in the socket table,
// which getpeername is answered from, stays. Entries are therefore
// pruned when the list of them has grown to twice its length after the
// last pruning (ownedLimit at least): a socket some process still holds
// is listed with its inode number in the program's /proc/PID/net/tcp and
// tcp6, and one nobody holds any more (closed, orphaned in its closing
// states, or gone) is not; the entries of the latter are dropped. Only
// entries made before the lists were read are pruned. If /proc cannot be
// read, the oldest entries past ownedLimit are dropped instead, and
// getpeername on those sockets then shows the exit.

// addOwned records e, just handed over on the program's own socket s
// (carrot's duplicate, still open), and reports whether the list should
// be pruned now (pruneOwned, once the program's call has returned).
func (h *Handler) addOwned(e *conn, s int) (prune bool) {
	var st unix.Stat_t
	if unix.Fstat(s, &st) == nil {
		e.ino = st.Ino
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	e.state = connected
	h.owned = append(h.owned, e)
	return len(h.owned) > max(h.ownedNext, ownedLimit)
}

// pruneOwned drops the entries of own-socket streams whose sockets no
// process holds any more, looking at pid's network namespace.
func (h *Handler) pruneOwned(pid int) {
	h.mu.Lock()
	n := len(h.owned) // the entries made before the lists are read
	h.mu.Unlock()
	live, err := liveSocketInodes(pid)
	h.mu.Lock()
	defer h.mu.Unlock()
	keep := make([]*conn, 0, len(h.owned))
	for i, e := range h.owned {
		if i >= n || err == nil && e.ino != 0 && live[e.ino] || err != nil && i >= n-ownedLimit {
			keep = append(keep, e)
		} else if h.conns[e.cookie] == e {
			delete(h.conns, e.cookie)
		}
	}
	h.owned = keep
	h.ownedNext = 2 * len(keep)
}

// liveSocketInodes is the set of inode numbers of the TCP sockets that some
// process holds in pid's network namespace.
func liveSocketInodes(pid int) (map[uint64]bool, error) {
	live := map[uint64]bool{}
	for _, name := range []string{"tcp", "tcp6"} {
		if err := socketInodes(fmt.Sprintf("/proc/%d/net/%s", pid, name), live); err != nil {
			return nil, err
		}
	}
	return live, nil
}

// socketInodes adds the inode column of a /proc/net/tcp-style table to
// live (0, a socket nobody holds, is left out).
func socketInodes(path string, live map[uint64]bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 {
			continue
		}
		if ino, err := strconv.ParseUint(fields[9], 10, 64); err == nil && ino != 0 {
			live[ino] = true
		}
	}
	return sc.Err()
}
