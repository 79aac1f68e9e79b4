package exit

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// Users is the set of accounts allowed to use an exit: user name to
// password, read from a file of "user:password" lines (blank lines and lines
// starting with # are ignored; the password is everything after the first
// colon and may itself contain colons).
type Users map[string]string

// LoadUsers reads a users file. It refuses a file that others can read:
// the passwords are in clear, as RFC 1929 sends them.
func LoadUsers(path string) (Users, error) {
	b, err := readPrivate(path)
	if err != nil {
		return nil, err
	}
	u, err := ParseUsers(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return u, nil
}

// ParseUsers parses "user:password" lines. An editor's byte-order mark
// at the start is dropped; control characters, and spaces at either end of
// a name or a password (which a client would have to send too, and which
// are more likely an editing slip), are refused with the line's number.
func ParseUsers(r io.Reader) (Users, error) {
	u := Users{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 64<<10)
	n := 1
	for ; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		name, pass, ok := strings.Cut(line, ":")
		switch {
		case !ok:
			return nil, fmt.Errorf("line %d: want user:password", n)
		case name == "" || len(name) > 255:
			return nil, fmt.Errorf("line %d: user name must be 1 to 255 bytes", n)
		case pass == "" || len(pass) > 255:
			return nil, fmt.Errorf("line %d: password must be 1 to 255 bytes", n)
		case strings.ContainsFunc(line, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }):
			return nil, fmt.Errorf("line %d: a control or invisible format character (a byte-order mark, a zero-width space, a direction override) in the user name or password", n)
		case strings.TrimSpace(name) != name || strings.TrimSpace(pass) != pass:
			return nil, fmt.Errorf("line %d: spaces at the start or end of the user name or password", n)
		}
		if _, dup := u[name]; dup {
			return nil, fmt.Errorf("line %d: user %q listed twice", n, name)
		}
		u[name] = pass
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return nil, fmt.Errorf("line %d: longer than 64 KiB", n)
		}
		return nil, err
	}
	if len(u) == 0 {
		return nil, fmt.Errorf("no users")
	}
	return u, nil
}

// Check reports whether user and pass match an account, in time that does
// not depend on how much of the password matched.
func (u Users) Check(user, pass string) bool {
	want, ok := u[user]
	if !ok {
		want = "\x00no such user\x00"
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(pass)) == 1 && ok
}
