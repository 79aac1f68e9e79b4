// Package testprog gives tests the real programs they run: C test
// programs compiled once per test binary with the system's gcc, and the
// real python3 interpreter (not a wrapper script such as pyenv's shim,
// which would put bash between a tracer and python).
//
// It is imported by tests only.
package testprog

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	mu    sync.Mutex
	dir   string
	built = map[string]string{}
)

// C compiles the C source at src (relative to the test's package
// directory) with gcc -O2 -pthread, once per test binary, and returns the
// executable's path. A test is skipped, saying why, when gcc is missing.
func C(tb testing.TB, src string) string {
	tb.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		tb.Skip("SKIP: gcc not installed (.ci/install installs it)")
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		tb.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[abs]; ok {
		return p
	}
	if dir == "" {
		// Not a per-test temporary directory: the binary serves every test
		// of the package, and the OS cleans /tmp.
		if dir, err = os.MkdirTemp("", "carrot-testprog"); err != nil {
			tb.Fatal(err)
		}
	}
	out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(src), ".c")+"-"+strings.ReplaceAll(filepath.Dir(abs), "/", "_"))
	if b, err := exec.Command("gcc", "-O2", "-pthread", "-o", out, abs).CombinedOutput(); err != nil {
		tb.Fatalf("gcc %s: %v\n%s", src, err, b)
	}
	built[abs] = out
	return out
}

// Python is the path of the real python3 interpreter.
var Python = sync.OnceValue(func() string {
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return "python3"
	}
	return strings.TrimSpace(string(out))
})
