package ptrace

import (
	"encoding/hex"

	"github.com/carrot-project/carrot/internal/launcher"
	"github.com/carrot-project/carrot/internal/seccomp"
	"golang.org/x/net/bpf"
)

// The launcher half of starting a program lives in internal/launcher,
// whose init runs before the binary's heavy dependencies; importing this
// package makes any binary its own launcher.
const launchArg = launcher.Arg

// encodeFilter is the launcher's FILTER argument for prog.
func encodeFilter(prog []bpf.RawInstruction) string { return hex.EncodeToString(seccomp.Bytes(prog)) }
