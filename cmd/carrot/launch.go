package main

import "github.com/carrot-project/carrot/internal/ptrace"

// The tracer starts programs by re-executing this binary as its launcher
// (see internal/ptrace). Package initialisation runs on the main thread,
// which the launcher needs; in a launcher LaunchMain never returns.
func init() { ptrace.LaunchMain() }
