package syscalls

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Set is a set of syscall numbers 0..MaxNr (a bitset).
type Set [(MaxNr + 64) / 64]uint64

// Has reports whether nr is in s.
func (s Set) Has(nr int) bool {
	return nr >= 0 && nr <= MaxNr && s[nr/64]&(1<<(nr%64)) != 0
}

// Add puts nr in s.
func (s *Set) Add(nr int) {
	if nr >= 0 && nr <= MaxNr {
		s[nr/64] |= 1 << (nr % 64)
	}
}

// Numbers lists the members of s in increasing order.
func (s Set) Numbers() []int {
	var nrs []int
	for nr := 0; nr <= MaxNr; nr++ {
		if s.Has(nr) {
			nrs = append(nrs, nr)
		}
	}
	return nrs
}

// Len is the number of members of s.
func (s Set) Len() int { return len(s.Numbers()) }

// AllSet returns the set of every call in the table.
func AllSet() Set {
	var s Set
	for _, i := range All() {
		s.Add(i.Nr)
	}
	return s
}

// ClassSet returns the set of calls in any of the classes c.
func ClassSet(c Class) Set {
	var s Set
	for _, i := range All() {
		if i.Class&c != 0 {
			s.Add(i.Nr)
		}
	}
	return s
}

// oldClassNames are the class names strace still accepts without '%'.
var oldClassNames = map[string]Class{
	"file": ClassFile, "process": ClassProcess, "network": ClassNetwork, "signal": ClassSignal,
	"ipc": ClassIPC, "desc": ClassDesc, "memory": ClassMemory,
}

// ParseTraceSet parses the value of strace's -e trace=EXPR, with strace
// 6.1's rules:
//
//   - EXPR is a comma-separated list of tokens; empty tokens are skipped,
//     but an empty EXPR is an error.
//   - Leading '!'s each negate the whole expression.
//   - A token is a call name ("openat"), a decimal call number, a class
//     ("%file", "%net", "%%stat"; the old names file, process, network,
//     signal, ipc, desc and memory also work without '%'), "all", "none",
//     or "/REGEX" matching call names.
//   - A token starting with '?' is ignored if it matches nothing known.
//
// An unknown token is an error naming it exactly: invalid system call 'opne'.
func ParseTraceSet(expr string) (Set, error) {
	var s Set
	negate := false
	for strings.HasPrefix(expr, "!") {
		negate = !negate
		expr = expr[1:]
	}
	if expr == "" {
		return s, fmt.Errorf("invalid system call '%s'", expr)
	}
	for _, tok := range strings.Split(expr, ",") {
		if tok == "" {
			continue
		}
		optional := false
		name := tok
		if strings.HasPrefix(name, "?") {
			optional = true
			name = name[1:]
		}
		add, err := parseToken(name)
		if err != nil {
			if optional {
				continue
			}
			return Set{}, err
		}
		for i := range s {
			s[i] |= add[i]
		}
	}
	if negate {
		all := AllSet()
		for i := range s {
			s[i] = all[i] &^ s[i]
		}
	}
	return s, nil
}

func parseToken(tok string) (Set, error) {
	var s Set
	bad := fmt.Errorf("invalid system call '%s'", tok)
	switch {
	case tok == "all":
		return AllSet(), nil
	case tok == "none":
		return s, nil
	case strings.HasPrefix(tok, "/"):
		re, err := regexp.Compile(tok[1:])
		if err != nil {
			return s, fmt.Errorf("regcomp: %s: %w", tok[1:], err)
		}
		for _, i := range All() {
			if re.MatchString(i.Name) {
				s.Add(i.Nr)
			}
		}
		return s, nil
	case strings.HasPrefix(tok, "%"):
		c, ok := classNames[tok[1:]]
		if !ok {
			return s, bad
		}
		return ClassSet(c), nil
	}
	if c, ok := oldClassNames[tok]; ok {
		return ClassSet(c), nil
	}
	if i := ByName(tok); i != nil {
		s.Add(i.Nr)
		return s, nil
	}
	if n, err := strconv.Atoi(tok); err == nil && tok[0] >= '0' && tok[0] <= '9' && Lookup(n) != nil {
		s.Add(n)
		return s, nil
	}
	return s, bad
}
