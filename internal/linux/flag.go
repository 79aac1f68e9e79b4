package linux

import (
	"strconv"
	"strings"
)

// Flag names one bit, or one multi-bit value, of a flag word.
type Flag struct {
	Value uint64
	Name  string
}

// FlagSet decodes a bit set the way strace's printflags does: the flags are
// tried in order, each whose bits are all present is printed and its bits
// removed, so a multi-bit flag listed first (O_SYNC) hides the single bit it
// contains (O_DSYNC). Bits no flag names are printed last, in hex.
type FlagSet struct {
	Flags []Flag
	// Zero is printed for the value 0 ("PROT_NONE"); "" prints "0".
	Zero string
	// Unknown, when set, is the placeholder strace prints in a comment
	// after a value none of whose bits it can name: "0x40 /* DN_??? */".
	Unknown string
}

// Format renders v, for example "PROT_READ|PROT_WRITE" or "O_APPEND|0x40000000".
func (s *FlagSet) Format(v uint64) string {
	if v == 0 {
		if s.Zero != "" {
			return s.Zero
		}
		return "0"
	}
	var b strings.Builder
	rest := s.FormatTo(&b, v)
	if rest != 0 {
		if b.Len() == 0 && s.Unknown != "" {
			return hex(rest) + " /* " + s.Unknown + " */"
		}
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString("0x" + strconv.FormatUint(rest, 16))
	}
	return b.String()
}

// FormatPlain is Format without the Unknown comment, as strace's
// sprintflags renders a return value's flags: "0x60", "F_SEAL_SEAL|0x60".
func (s *FlagSet) FormatPlain(v uint64) string {
	u := *s
	u.Unknown = ""
	return u.Format(v)
}

// FormatTo appends the names of the flags present in v to b, each preceded
// by '|' unless b is empty, and returns the bits it did not name.
func (s *FlagSet) FormatTo(b *strings.Builder, v uint64) uint64 {
	for _, f := range s.Flags {
		if f.Value != 0 && v&f.Value == f.Value {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(f.Name)
			v &^= f.Value
		}
	}
	return v
}

// Names returns the names of the flags present in v, in print order.
func (s *FlagSet) Names(v uint64) []string {
	var names []string
	for _, f := range s.Flags {
		if f.Value != 0 && v&f.Value == f.Value {
			names = append(names, f.Name)
			v &^= f.Value
		}
	}
	return names
}

// ValueSet decodes an enumeration (a command, a family, a whence).
type ValueSet struct {
	Values map[uint64]string
	// Unknown is the placeholder strace prints in a comment after a value
	// it cannot name, for example "SIG_???" in "0x5 /* SIG_??? */".
	Unknown string
	// Decimal prints unknown values in decimal rather than hex.
	Decimal bool
}

// NewValueSet builds a ValueSet from flags (the Value and Name pairs).
func NewValueSet(unknown string, decimal bool, vals ...Flag) *ValueSet {
	s := &ValueSet{Values: make(map[uint64]string, len(vals)), Unknown: unknown, Decimal: decimal}
	for _, v := range vals {
		if _, dup := s.Values[v.Value]; !dup {
			s.Values[v.Value] = v.Name
		}
	}
	return s
}

// Name returns the name of v, if it has one.
func (s *ValueSet) Name(v uint64) (string, bool) {
	n, ok := s.Values[v]
	return n, ok
}

// Format renders v as its name, or as a number followed by the placeholder
// comment, as strace does.
func (s *ValueSet) Format(v uint64) string {
	if n, ok := s.Values[v]; ok {
		return n
	}
	var num string
	if s.Decimal {
		num = strconv.FormatUint(v, 10)
	} else {
		num = hex(v)
	}
	if s.Unknown == "" {
		return num
	}
	return num + " /* " + s.Unknown + " */"
}

// hex formats v like C's "%#x": 0 stays "0".
func hex(v uint64) string {
	if v == 0 {
		return "0"
	}
	return "0x" + strconv.FormatUint(v, 16)
}
