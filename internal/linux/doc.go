// Package linux holds the x86-64 Linux ABI that carrot's tracer decodes:
// errno and signal names, the flag and value names of system call
// arguments, and the layouts of the structures that calls pass by pointer.
//
// It is pure data and pure functions over byte slices: it makes no system
// calls, so everything here can be tested anywhere. Names and the order in
// which flag names are printed follow strace 6.1 (which itself follows the
// kernel's uapi headers), because the tracer's output must be identical to
// strace's. Values come from golang.org/x/sys/unix where it has them and are
// written out, with the header that defines them, where it does not.
//
// Flags are decoded through two shared types, [FlagSet] (bit sets, printed
// "A|B|0x40") and [ValueSet] (enumerations, printed "NAME" or
// "0x5 /* SIG_??? */"), so decoders do not scatter switches.
package linux
