package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"frobnicate"}, nil, &out, &errb)
	if code != exitUsage {
		t.Fatalf("exit = %d, want %d", code, exitUsage)
	}
	if got := errb.String(); !strings.Contains(got, `unknown command "frobnicate"`) {
		t.Fatalf("stderr = %q", got)
	}
}

func TestHelpListsCommands(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"help"}, nil, &out, &out); code != exitOK {
		t.Fatalf("exit = %d", code)
	}
	for name := range commands {
		if !strings.Contains(out.String(), name) {
			t.Errorf("help does not list %q:\n%s", name, out.String())
		}
	}
}

// TestMain lets the test binary be carrot itself: started with
// CARROT_TEST_MAIN=1 it runs the command line in os.Args[1:] and exits,
// so tests run real carrot processes (exit status, signals, the tracer's
// launcher) without building the binary. Use carrotCmd.
func TestMain(m *testing.M) {
	if os.Getenv("CARROT_TEST_MAIN") == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// carrotCmd is an exec.Cmd running carrot with args.
func carrotCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "CARROT_TEST_MAIN=1")
	return cmd
}
