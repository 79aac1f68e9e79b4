package trace

import (
	"context"
	"github.com/carrot-project/carrot/internal/testprog"
	"os"
	"testing"

	"github.com/carrot-project/carrot/internal/ptrace"
	"github.com/carrot-project/carrot/internal/syscalls"
)

// BenchmarkSessionGetpid traces Bypass's getpid loop with every call
// decoded and printed to /dev/null, as carrot trace -f -o /dev/null does;
// for profiling the trace layer:
//
//	go test -run '^$' -bench SessionGetpid -cpuprofile cpu.out ./internal/trace
func BenchmarkSessionGetpid(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("SKIP: needs root")
	}
	dir := b.TempDir()
	bin := testprog.C(b, "../../bench/tracebench/csrc/syscalls.c")
	for range b.N {
		s, err := New(Options{Follow: true, Output: os.DevNull, TraceAll: true, Trace: syscalls.AllSet()}, os.Stderr)
		if err != nil {
			b.Fatal(err)
		}
		null, _ := os.Open(os.DevNull)
		if _, err := ptrace.New(s.Config()).Run(context.Background(), ptrace.Program{Path: bin, Argv: []string{bin, dir, "20000", "getpid"},
			Files: []*os.File{null, null, null}}); err != nil {
			b.Fatal(err)
		}
		s.Close()
		null.Close()
	}
}
