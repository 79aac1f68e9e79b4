package kcount

import (
	"os"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkUntraced measures what the attached counters cost a call of a
// process they do not count: getppid in a loop, natively and with the
// programs attached (counting another process), alternating round by
// round so that the machine's load falls on both alike. It reports the
// medians in ns per call:
//
//	go test -run '^$' -bench Untraced -benchtime 2000000x ./internal/kcount
func BenchmarkUntraced(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("SKIP: needs root")
	}
	const rounds = 15
	loop := func(n int) float64 {
		start := time.Now()
		for range n {
			unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
		}
		return float64(time.Since(start).Nanoseconds()) / float64(n)
	}
	var native, attached []float64
	n := max(b.N/rounds, 1000)
	for range rounds {
		native = append(native, loop(n))
		c, err := Open(Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Trace(os.Getppid()); err != nil {
			b.Fatal(err)
		}
		attached = append(attached, loop(n))
		c.Close()
	}
	med := func(v []float64) float64 { slices.Sort(v); return v[len(v)/2] }
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(med(native), "native-ns/call")
	b.ReportMetric(med(attached), "attached-ns/call")
	b.ReportMetric(med(attached)/med(native), "ratio")
	b.ReportMetric(native[0], "native-min-ns/call")
	b.ReportMetric(native[len(native)-1], "native-max-ns/call")
	b.ReportMetric(attached[0], "attached-min-ns/call")
	b.ReportMetric(attached[len(attached)-1], "attached-max-ns/call")
}
