package exitdial

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNetrcQuoted: netrc tokens in double quotes, with backslash escapes,
// as curl (7.84 and later) and Python's netrc read them, so that a
// password can hold spaces, quotes and #.
func TestNetrcQuoted(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "netrc")
	os.WriteFile(path, []byte(`# exits
machine 10.98.0.11 login alice password "s3cret"
machine 10.98.0.12 login "bob smith" password "two words \"and\" a \\ and #" # a comment
machine "10.98.0.13:1080"
	login carol password "tab\there\nnl\rcr\x" account ""
machine 10.98.0.14 login dave password pw#1 # pw#1 is the password, as in curl
default login "" password ""
macdef init
cd "/pub
machine 10.98.0.16 login mallory password inside-a-macro

machine 10.98.0.17 login erin password after-a-macro macdef upload
put file
machine 10.98.0.18 login zed password in-a-macro-to-the-end
`), 0o600)
	env := map[string]string{"CARROT_EXIT_NETRC": path}
	c, err := LoadCredentials(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ host, port, user, pass string }{
		{"10.98.0.11", "1080", "alice", "s3cret"},
		{"10.98.0.12", "1080", "bob smith", `two words "and" a \ and #`},
		{"10.98.0.13", "1080", "carol", "tab\there\nnl\rcrx"},
		{"10.98.0.14", "1080", "dave", "pw#1"},
		{"10.98.0.15", "1080", "", ""},
		// An ftp macro's body, up to an empty line or the end, is not
		// read, even where it holds a broken quote.
		{"10.98.0.16", "1080", "", ""},
		{"10.98.0.17", "1080", "erin", "after-a-macro"},
		{"10.98.0.18", "1080", "", ""},
	} {
		a := c.Lookup(tc.host, tc.port)
		if a == nil || a.User != tc.user || a.Pass != tc.pass {
			t.Errorf("Lookup(%s:%s) = %+v, want %q %q", tc.host, tc.port, a, tc.user, tc.pass)
		}
	}

	// Broken quoting is an error that names the line, never the secret.
	for _, bad := range []struct {
		in   string
		line int
	}{
		{"machine m login u password \"open secret\n", 1},
		{"machine m login u password \"secret\\\n", 1},
		{"machine m login u password \"sec\"ret\n", 1},
		{"machine m\nlogin u\npassword \"secret\"x\n", 3},
		{"machine m\nlogin u password my secret\n", 2},
	} {
		os.WriteFile(path, []byte(bad.in), 0o600)
		_, err := LoadCredentials(func(k string) string { return env[k] })
		if err == nil {
			t.Errorf("%q accepted", bad.in)
			continue
		}
		if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "ret") {
			t.Errorf("%q: error shows the password: %v", bad.in, err)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf(": line %d: ", bad.line)) {
			t.Errorf("%q: error does not name line %d: %v", bad.in, bad.line, err)
		}
	}
}
