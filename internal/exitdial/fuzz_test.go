package exitdial

import (
	"bufio"
	"strings"
	"testing"

	"github.com/carrot-project/carrot/internal/socks5"
)

// FuzzParseExit: any string either parses to an exit whose Name never
// shows the password, or fails with an error that never shows it.
func FuzzParseExit(f *testing.F) {
	f.Add("socks5://alice:hunter2@192.0.2.1:1080")
	f.Add("socks5+tls://alice:hunter2@exit.test?pin=sha256:" + strings.Repeat("0", 64))
	f.Add("socks5://alice:hunter2@exit.test:99999")
	f.Add("socks5://alice:hunter2@[::1")
	f.Fuzz(func(t *testing.T, raw string) {
		const secret = "hunter2"
		// the password, once in the userinfo and nowhere else
		if !strings.Contains(raw, ":"+secret+"@") || strings.Count(raw, secret) != 1 {
			return
		}
		e, err := ParseExit(raw, nil)
		if err != nil {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error shows the password: %v", err)
			}
			return
		}
		if strings.Contains(e.Name, secret) {
			t.Fatalf("name shows the password: %s", e.Name)
		}
	})
}

// FuzzNetrc: the netrc parser never panics.
func FuzzNetrc(f *testing.F) {
	f.Add("machine exit.test:1080 login bob password pw\ndefault login x password y\n")
	f.Add("login x")
	f.Add("machine")
	f.Add("machine m login \"a b\" password \"x\\\"y\\\\z\\n\" # c\n")
	f.Add("password \"open\\")
	f.Fuzz(func(t *testing.T, in string) {
		c := &Credentials{machines: map[string]*socks5.Auth{}}
		c.parseNetrc(bufio.NewScanner(strings.NewReader(in)))
	})
}
