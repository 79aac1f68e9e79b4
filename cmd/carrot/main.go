// Command carrot runs an unmodified Linux program and interposes on its
// system calls: tracing them (carrot trace), keeping its files on a storage
// cluster (carrot up, carrot node, carrot fs) and carrying its TCP
// connections through remote exits (carrot exit, carrot run --exit).
//
// main is thin: each subcommand lives in its own file and registers itself
// with register in an init function; the work is done under internal/.
//
// Exit codes:
//
//	0     success (or, for commands that run a program, that program's status)
//	1     the command failed (a message on stderr says why)
//	2     bad usage: unknown subcommand, bad flag or expression
//	126   the program to run was found but cannot be run (a directory, no
//	      execute permission, not an executable format)
//	127   the program to run was not found
//	128+N the traced program was killed by signal N, where carrot could not
//	      end by the same signal as it does (a parent sees the program's
//	      death, as under strace; a shell's $? shows 128+N); 143
//	      (128+SIGTERM): a SIGTERM stopped the command's work (carrot fs)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/carrot-project/carrot/internal/launcher"
)

// Exit statuses shared by every subcommand.
const (
	exitOK        = 0
	exitFailure   = 1
	exitUsage     = 2
	exitCannotRun = launcher.Failed   // 126, as in shells; the launcher exits so too when the exec fails
	exitNotFound  = launcher.NotFound // 127
	// exitTerminated is the status of a command a SIGTERM stopped, as a
	// shell reports a process it killed.
	exitTerminated = 128 + int(syscall.SIGTERM)
)

// env is what a subcommand gets from main: its arguments and standard
// streams. Tests drive subcommands through it without a process boundary.
type env struct {
	Args   []string // arguments after the subcommand name
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// killedBy is the signal that killed the program a command ran
	// (exitWith), for main to end carrot by (dieBy).
	killedBy syscall.Signal
}

// stickyWriter keeps the first error of writing to w (a full disk, a
// closed descriptor), for commands that print with fmt: their output lost,
// they still exit non-zero, as coreutils do.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	if err != nil {
		s.err = err
	}
	return n, err
}

// seconds is a duration flag that also takes a bare number of seconds,
// as curl's --connect-timeout 5 does ("5", "0.5"), besides Go's "5s",
// "500ms", "1m".
type seconds struct{ d *time.Duration }

func (s seconds) String() string {
	if s.d == nil {
		return "0s"
	}
	return s.d.String()
}

func (s seconds) Set(v string) error {
	// (A negative value is the command's to refuse, with its own words.)
	if f, err := strconv.ParseFloat(v, 64); err == nil && f > -1e9 && f < 1e9 {
		*s.d = time.Duration(f * float64(time.Second))
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return errors.New("want a duration such as 5s, 500ms or 1m (a bare number is seconds)")
	}
	*s.d = d
	return nil
}

// durationFlag defines a duration flag of fs that takes seconds or a
// duration (seconds).
func durationFlag(fs *flag.FlagSet, name string, def time.Duration, usage string) *time.Duration {
	d := def
	fs.Var(seconds{&d}, name, usage+" (a `duration`: 5s, 500ms, 1m, or seconds)")
	return &d
}

// errorf prints "carrot: <msg>" on stderr, the one error format of the tool.
func (e *env) errorf(format string, args ...any) {
	fmt.Fprintf(e.Stderr, "carrot: "+format+"\n", args...)
}

// flags returns a subcommand's FlagSet: flag errors go to stderr, and -h
// prints usage (its synopsis and description), then the flags.
func (e *env) flags(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(e.Stderr, strings.TrimSpace(usage))
		fmt.Fprintln(e.Stderr)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses e.Args into fs. When the command must end here, ok is false
// and code is its exit status: 0 after -h, 2 after a bad flag (which the
// flag package has reported).
func (e *env) parse(fs *flag.FlagSet) (code int, ok bool) {
	// After a bad flag, the flag package's line says what, and a hint
	// where to look, not the whole usage, which -h prints.
	full := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(e.Args)
	fs.Usage = full
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			full()
			return exitOK, false
		}
		fmt.Fprintf(e.Stderr, "(see '%s -h')\n", fs.Name())
		return exitUsage, false
	}
	return 0, true
}

// usageError reports a bad command line and returns exitUsage.
func (e *env) usageError(format string, args ...any) int {
	e.errorf(format, args...)
	return exitUsage
}

// command is one subcommand.
type command struct {
	Name    string
	Summary string // one line for `carrot help`
	// Run does the work and returns the process exit status.
	Run func(ctx context.Context, e *env) int
}

var commands = map[string]*command{}

// register adds a subcommand; called from init functions.
func register(c *command) {
	if _, dup := commands[c.Name]; dup {
		panic("carrot: subcommand registered twice: " + c.Name)
	}
	commands[c.Name] = c
}

func main() {
	for _, hook := range preMain {
		hook()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	e := &env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	code := e.run(ctx, os.Args[1:])
	stop()
	if e.killedBy != 0 {
		dieBy(e.killedBy)
	}
	os.Exit(code)
}

// preMain holds hooks that must run before anything else in the process,
// such as the launcher half of the tracer (see launch.go). A hook that
// handles the process never returns.
var preMain []func()

// run dispatches to a subcommand and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return (&env{Stdin: stdin, Stdout: stdout, Stderr: stderr}).run(ctx, args)
}

func (e *env) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		usage(e.Stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		usage(e.Stdout)
		return exitOK
	case "version", "--version":
		fmt.Fprintln(e.Stdout, "carrot", version)
		return exitOK
	}
	c, ok := commands[name]
	if !ok {
		if slices.Contains(leftOut, name) {
			e.errorf("%s is not in this build of carrot (built with -tags nocluster: tracing and exits only)", name)
		} else {
			e.errorf("unknown command %q (see 'carrot help')", name)
		}
		return exitUsage
	}
	e.Args = args[1:]
	return c.Run(ctx, e)
}

// leftOut names the commands this build was made without (nocluster.go).
var leftOut []string

// version is set at link time with -ldflags "-X main.version=...".
var version = "dev"

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: carrot <command> [flags] [-- program args...]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	width := 0
	for n := range commands {
		names = append(names, n)
		width = max(width, len(n))
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s  %s\n", width, n, commands[n].Summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "'carrot <command> -h' shows a command's flags.")
}
