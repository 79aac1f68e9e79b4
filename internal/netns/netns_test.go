package netns

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func namespaces(t *testing.T) string {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestCensoredTopology checks the network itself: the client cannot reach
// the origin and resolves its name wrongly; a blocked exit cannot reach it;
// a free exit reaches it by name over HTTP and HTTPS (curl, the test CA).
func TestCensoredTopology(t *testing.T) {
	c := NewCensored(t, CensoredOptions{Exits: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	curl := func(h *Host, args ...string) (string, error) {
		return h.Run(ctx, "curl", append([]string{"-sS", "--max-time", "3", "--connect-timeout", "1", "--cacert", c.CAFile}, args...)...)
	}
	for _, u := range []string{c.HTTPURL, c.HTTPSURL} {
		if out, err := curl(c.Exits[1], u); err != nil || out != OriginBody {
			t.Fatalf("free exit, %s: %q, %v", u, out, err)
		}
		if out, err := curl(c.Exits[0], u); err == nil {
			t.Fatalf("blocked exit reached %s: %q", u, out)
		}
		if out, err := curl(c.Client, u); err == nil {
			t.Fatalf("client reached %s: %q", u, out)
		}
	}
	// even with the right address the client cannot get through
	if out, err := curl(c.Client, "--resolve", c.OriginName+":80:"+c.OriginV4.String(), c.HTTPURL); err == nil {
		t.Fatalf("client reached the origin by address: %q", out)
	}
	if out, err := curl(c.Exits[1], "-g", "http://["+c.OriginV6.String()+"]/"); err != nil || out != OriginBody {
		t.Fatalf("free exit over IPv6: %q, %v", out, err)
	}
	out, _ := c.Client.Run(ctx, "getent", "ahostsv4", c.OriginName)
	if !strings.Contains(out, c.PoisonV4.String()) {
		t.Fatalf("client resolves %s as %q, want the poisoned %s", c.OriginName, out, c.PoisonV4)
	}
	if c.Resolver.Queries() == 0 {
		t.Fatal("the client's resolver saw no query")
	}
	// in-process: a dial from the client host goes nowhere, from an exit it works
	dctx, dcancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer dcancel()
	if conn, err := c.Client.DialContext(dctx, "tcp", c.OriginV4.String()+":80"); err == nil {
		conn.Close()
		t.Fatal("in-process dial from the client reached the origin")
	}
	conn, err := c.Exits[1].DialContext(ctx, "tcp", c.OriginV4.String()+":80")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", c.OriginName)
	body, _ := io.ReadAll(conn)
	conn.Close()
	if !strings.HasSuffix(string(body), OriginBody) {
		t.Fatalf("in-process GET from an exit: %q", body)
	}
}

// TestCleanupAndSweep: a test's namespaces are gone when it ends, even when
// it fails; namespaces of dead test processes are swept, live ones kept.
func TestCleanupAndSweep(t *testing.T) {
	var names []string
	t.Run("inner", func(t *testing.T) {
		n := New(t)
		a, b := n.Host("a"), n.Host("b")
		n.Attach(a, b, "192.0.2.1/24")
		a.Start("sleep", "60")
		names = []string{a.Name, b.Name}
		if !strings.Contains(namespaces(t), a.Name) {
			t.Fatal("namespace not made")
		}
	})
	list := namespaces(t)
	for _, name := range names {
		if strings.Contains(list, name) {
			t.Errorf("namespace %s left behind", name)
		}
	}
	// a namespace of a process that no longer exists
	cmd := exec.Command("true")
	cmd.Run()
	stale := fmt.Sprintf("%s%d-1-stale", namePrefix, cmd.Process.Pid)
	if out, err := exec.Command("ip", "netns", "add", stale).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	staleEtc := filepath.Join("/etc/netns", fmt.Sprintf("%s%d-2-stale", namePrefix, cmd.Process.Pid))
	os.MkdirAll(staleEtc, 0o755)
	live := New(t).Host("live")
	Sweep()
	list = namespaces(t)
	if strings.Contains(list, stale) {
		exec.Command("ip", "netns", "del", stale).Run()
		t.Error("stale namespace not swept")
	}
	if _, err := os.Stat(staleEtc); err == nil {
		os.RemoveAll(staleEtc)
		t.Error("stale /etc/netns directory not swept")
	}
	if !strings.Contains(list, live.Name) {
		t.Error("sweep removed a live test's namespace")
	}
}

// TestDoStaysInNamespace: a listener made in a host is reachable there and
// not from the test machine's own namespace.
func TestDoStaysInNamespace(t *testing.T) {
	n := New(t)
	h := n.Host("solo")
	ln, err := h.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("inside"))
			c.Close()
		}
	}()
	c, err := h.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	c.Close()
	if string(b) != "inside" {
		t.Fatalf("got %q", b)
	}
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Fatal("listener in the namespace is reachable from the host namespace")
	}
}
