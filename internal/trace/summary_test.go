package trace

import "testing"

// TestTableTotalWithoutTime: a run whose calls took no measurable system
// time (rusage counts in ticks) still has a total of 100%, as strace -c
// prints it.
func TestTableTotalWithoutTime(t *testing.T) {
	tb := table(map[string]*callStat{"read": {calls: 3}, "write": {calls: 2, errors: 1}})
	if tb.Total.Percent != 100 || tb.Total.Calls != 5 || tb.Total.Errors != 1 {
		t.Errorf("total %+v, want 100%% of 5 calls, 1 error", tb.Total)
	}
	for _, r := range tb.Rows {
		if r.Percent != 0 {
			t.Errorf("%s: %v%%, want 0", r.Syscall, r.Percent)
		}
	}
}
