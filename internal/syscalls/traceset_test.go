package syscalls

import (
	"reflect"
	"testing"
)

func names(s Set) []string {
	var out []string
	for _, nr := range s.Numbers() {
		out = append(out, Lookup(nr).Name)
	}
	return out
}

func TestParseTraceSet(t *testing.T) {
	all := AllSet()
	for _, tc := range []struct {
		expr string
		want []string // nil: check count only
		n    int
	}{
		{"open,openat", []string{"open", "openat"}, 2},
		{"?opne,read", []string{"read"}, 1},
		{"read,", []string{"read"}, 1},
		{",read", []string{"read"}, 1},
		{"1", []string{"write"}, 1},
		{"/^(read|write)$", []string{"read", "write"}, 2},
		{"/^pread", []string{"pread64", "preadv", "preadv2"}, 3},
		{"none", nil, 0},
		{"!none", nil, all.Len()},
		{"all", nil, all.Len()},
		{"!all", nil, 0},
		{"!read", nil, all.Len() - 1},
		{"!!read", []string{"read"}, 1},
		{"!?opne", nil, all.Len()},
		{"%stat", []string{"stat"}, 1},
		{"%lstat", []string{"lstat"}, 1},
		{"%fstat", []string{"fstat", "newfstatat", "statx"}, 3},
		{"%%stat", []string{"stat", "fstat", "lstat", "newfstatat", "statx"}, 5},
		{"%%statfs", []string{"ustat", "statfs", "fstatfs"}, 3},
		{"%pure", []string{"getpid", "getuid", "getgid", "geteuid", "getegid", "getppid", "getpgrp", "gettid"}, 8},
		{"%clock", []string{"gettimeofday", "adjtimex", "settimeofday", "time", "clock_settime", "clock_gettime", "clock_getres", "clock_adjtime"}, 8},
		{"stat", []string{"stat"}, 1},
		{"%net", nil, ClassSet(ClassNetwork).Len()},
		{"network", nil, ClassSet(ClassNetwork).Len()},
		{"file,%memory", nil, func() int { s := ClassSet(ClassFile | ClassMemory); return s.Len() }()},
	} {
		s, err := ParseTraceSet(tc.expr)
		if err != nil {
			t.Errorf("ParseTraceSet(%q): %v", tc.expr, err)
			continue
		}
		if s.Len() != tc.n {
			t.Errorf("ParseTraceSet(%q) has %d calls, want %d: %v", tc.expr, s.Len(), tc.n, names(s))
		}
		if tc.want != nil {
			var want Set
			for _, n := range tc.want {
				want.Add(ByName(n).Nr)
			}
			if !reflect.DeepEqual(s, want) {
				t.Errorf("ParseTraceSet(%q) = %v, want %v", tc.expr, names(s), tc.want)
			}
		}
	}
}

func TestParseTraceSetErrors(t *testing.T) {
	for expr, want := range map[string]string{
		"opne":          "invalid system call 'opne'",
		"read,opne":     "invalid system call 'opne'",
		"":              "invalid system call ''",
		"!":             "invalid system call ''",
		"creds":         "invalid system call 'creds'",
		"net":           "invalid system call 'net'",
		"%foo":          "invalid system call '%foo'",
		"read,!write":   "invalid system call '!write'",
		"READ":          "invalid system call 'READ'",
		"0x1":           "invalid system call '0x1'",
		"999":           "invalid system call '999'",
		"400":           "invalid system call '400'",
		"syscall_0x1c3": "invalid system call 'syscall_0x1c3'",
	} {
		_, err := ParseTraceSet(expr)
		if err == nil || err.Error() != want {
			t.Errorf("ParseTraceSet(%q) error %v, want %q", expr, err, want)
		}
	}
	if _, err := ParseTraceSet("/["); err == nil {
		t.Error("bad regex accepted")
	}
}

func TestSetBounds(t *testing.T) {
	var s Set
	s.Add(-1)
	s.Add(MaxNr + 1)
	s.Add(MaxNr)
	if s.Has(-1) || s.Has(MaxNr+1) || !s.Has(MaxNr) || s.Len() != 1 {
		t.Errorf("bounds: %v", s.Numbers())
	}
}
