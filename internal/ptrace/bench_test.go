package ptrace

import (
	"github.com/carrot-project/carrot/internal/testprog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The engine's own cost per trapped call, on Bypass's getpid loop
// (bench/tracebench/csrc/syscalls.c): natively, with a handler that needs only
// the entry stop (as the routing modes will: it counts getpid), and with
// one that also asks for the exit stop (as tracing does). Run with
//
//	go test -run '^$' -bench Engine -benchtime 1x ./internal/ptrace
//
// b.N is ignored: each sub-benchmark runs 100,000 calls and reports
// µs/call as the program measured it.

type counter struct{ n int }

func (h *counter) Enter(c *Syscall) Action {
	if c.Nr == unix.SYS_GETPID {
		h.n++
	}
	return Continue
}
func (h *counter) Exit(*Syscall) {}
func (h *counter) Event(*Event)  {}

type exitCounter struct{ counter }

func (h *exitCounter) Enter(c *Syscall) Action { h.counter.Enter(c); return WantExit }

func BenchmarkEngine(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("SKIP: needs root")
	}
	dir := b.TempDir()
	bin := testprog.C(b, "../../bench/tracebench/csrc/syscalls.c")
	const iters = 100000
	perCall := func(out string) float64 {
		f := strings.Fields(out)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		return v
	}
	argv := []string{bin, dir, strconv.Itoa(iters), "getpid"}
	b.Run("native", func(b *testing.B) {
		out, err := exec.Command(argv[0], argv[1:]...).Output()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(perCall(string(out)), "µs/call")
	})
	for _, c := range []struct {
		name string
		h    Handler
	}{
		{"entry-only", &counter{}},
		{"entry+exit", &exitCounter{}},
	} {
		b.Run(c.name, func(b *testing.B) {
			rd, wr, _ := os.Pipe()
			st, err := New(Config{Handler: c.h, Filter: filterFor(unix.SYS_GETPID)}).Run(b.Context(), Program{Path: bin, Argv: argv, Env: os.Environ(), Files: []*os.File{os.Stdin, wr, os.Stderr}})
			wr.Close()
			out := make([]byte, 256)
			n, _ := rd.Read(out)
			if err != nil || st.ExitCode() != 0 {
				b.Fatalf("%v %v", st, err)
			}
			b.ReportMetric(perCall(string(out[:n])), "µs/call")
		})
	}
}
