package main

// The tracer starts programs by re-executing this binary as its launcher.
// The launcher's package does its work in its init function, which the
// Go spec runs before this binary's heavy dependencies initialise; it is
// imported by the engine already, and here to say so.
import _ "github.com/carrot-project/carrot/internal/launcher"
