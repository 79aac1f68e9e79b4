package netroute_test

// End-to-end tests of `carrot run --exit` in issue 4's censored network
// (internal/netns): real namespaces and nftables, real `carrot exit`
// processes and a real `carrot run` built from this tree, and programs
// nobody here wrote (curl, python3, git, wget). They need root; CI runs
// them.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/carrot-project/carrot/internal/netns"
)

var carrotBin string

func TestMain(m *testing.M) {
	var dir string
	if os.Geteuid() == 0 {
		var err error
		if dir, err = os.MkdirTemp("", "carrot-bin-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if carrotBin, err = netns.BuildCarrot(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	if dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// run runs carrot run with flags, then argv, in the client host.
func run(ctx context.Context, c *netns.Censored, flags []string, argv ...string) (string, error) {
	args := append(append([]string{"run"}, flags...), "--")
	return c.Client.Run(ctx, carrotBin, append(args, argv...)...)
}

func exits(c *netns.Censored, mode string, idx ...int) []string {
	var f []string
	for _, i := range idx {
		f = append(f, "--exit", c.ExitURL(i))
	}
	if mode != "" {
		f = append(f, "--exit-mode", mode)
	}
	return f
}

func TestCurlThroughExits(t *testing.T) {
	c := netns.NewCensored(t, netns.CensoredOptions{Exits: 3})
	for i := range c.Exits {
		c.StartCarrotExit(t, carrotBin, i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	curl := []string{"curl", "-sS", "--max-time", "10", "--cacert", c.CAFile}
	for _, u := range []string{c.HTTPURL, c.HTTPSURL} {
		if out, err := c.Client.Run(ctx, curl[0], append(curl[1:], "--connect-timeout", "2", u)...); err == nil {
			t.Fatalf("without carrot, the client reached %s: %q", u, out)
		}
	}
	before := c.Resolver.Queries()
	for _, mode := range []string{"race", "failover"} {
		for _, u := range []string{c.HTTPURL, c.HTTPSURL} {
			log := filepath.Join(t.TempDir(), "log")
			out, err := run(ctx, c, append(exits(c, mode, 0, 1, 2), "-o", log), append(curl, u)...)
			routed, _ := os.ReadFile(log)
			if err != nil || out != netns.OriginBody {
				t.Fatalf("%s %s: %v\n%s\nlog:\n%s", mode, u, err, out, routed)
			}
			t.Logf("%s %s:\n%s", mode, u, routed)
		}
	}
	if n := c.Resolver.Queries() - before; n != 0 {
		t.Errorf("DNS leaked: the client's resolver got %d queries under carrot: %v", n, c.Resolver.Names())
	}
}
