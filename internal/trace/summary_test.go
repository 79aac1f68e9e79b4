package trace

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTableTotalWithoutTime: a run whose calls took no measurable system
// time (rusage counts in ticks) still has a total of 100%, as strace -c
// prints it.
func TestTableTotalWithoutTime(t *testing.T) {
	tb := table(map[string]*callStat{"read": {calls: 3}, "write": {calls: 2, errors: 1}}, "")
	if tb.Total.Percent != 100 || tb.Total.Calls != 5 || tb.Total.Errors != 1 {
		t.Errorf("total %+v, want 100%% of 5 calls, 1 error", tb.Total)
	}
	for _, r := range tb.Rows {
		if r.Percent != 0 {
			t.Errorf("%s: %v%%, want 0", r.Syscall, r.Percent)
		}
	}
}

// TestTableRuleWidth: the last column's rule is one longer than the
// longest call name, 16 at least, as strace -c draws it.
func TestTableRuleWidth(t *testing.T) {
	for _, c := range []struct {
		name string
		want int
	}{{"read", 16}, {"clock_nanosleep", 16}, {"sched_getaffinity", 18}, {"set_mempolicy_home_node", 24}} {
		var b strings.Builder
		writeTable(&b, SummaryTable{Rows: []SummaryRow{{Syscall: "read", Calls: 1}, {Syscall: c.name, Calls: 1}}})
		rule := strings.Split(b.String(), "\n")[1]
		if f := strings.Fields(rule); len(f[len(f)-1]) != c.want {
			t.Errorf("%s: rule %q, want %d dashes at the end", c.name, rule, c.want)
		}
	}
}

// TestRelativeNeverBack: -r counts from the latest line's time; a line
// carrying an older time (a call written whole at its exit, with its
// entry's time) shows 0 and does not set the clock back.
func TestRelativeNeverBack(t *testing.T) {
	s := &Session{o: Options{Relative: true}}
	t0 := time.Unix(100, 0)
	var got []string
	for _, at := range []time.Time{t0, t0.Add(300 * time.Millisecond), t0.Add(100 * time.Millisecond), t0.Add(400 * time.Millisecond)} {
		got = append(got, s.prefixLive(1, at, 1))
	}
	want := []string{"     0.000000 ", "     0.300000 ", "     0.000000 ", "     0.100000 "}
	if !slices.Equal(got, want) {
		t.Errorf("prefixes %q, want %q", got, want)
	}
}
