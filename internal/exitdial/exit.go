package exitdial

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/carrot-project/carrot/internal/socks5"
)

// Exit is one SOCKS5 server to go through.
type Exit struct {
	// Name is the URL without its password, for messages and logs.
	Name string
	// Addr is host:port of the server (host may be a name; it is resolved
	// by the client side when it is the first hop, by the previous exit in
	// a chain).
	Addr string
	// Auth is nil for servers without authentication.
	Auth *socks5.Auth
	// TLS is nil for plain socks5://, the client config for socks5+tls://.
	TLS *tls.Config
	// Pipeline sends greeting, credentials and request in one write
	// (URL query pipeline=1); see socks5.ClientOptions.
	Pipeline bool
}

// ParseExit parses an exit URL:
//
//	socks5://[user[:pass]@]host[:port][?pipeline=1]
//	socks5h://...                      (the same: names always go to the exit)
//	socks5+tls://[user[:pass]@]host[:port]?pin=sha256:HEX | ?ca=FILE [&sni=NAME]
//
// The host is a name, an IPv4 address or an IPv6 address in brackets; the
// port, 1 to 65535, defaults to 1080. With pin=, the server's certificate
// is accepted if and only if the SHA-256 of its DER encoding (what
// `openssl x509 -noout -fingerprint -sha256` prints; colons optional)
// matches; with ca=, it must chain to a certificate in FILE and name sni
// (default: the host); with neither, the system's roots are used.
//
// Credentials missing from the URL are looked up in creds (which may be
// nil); see Credentials.
func ParseExit(raw string, creds *Credentials) (*Exit, error) {
	if !strings.Contains(raw, "://") {
		// "HOST:PORT" alone would fail in url.Parse with "first path
		// segment in URL cannot contain colon", which helps nobody.
		return nil, scrub(fmt.Errorf("exit %q: want a URL, socks5://[user:pass@]HOST[:PORT] (or socks5h://, socks5+tls://)", redact(raw)), raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, password included
		}
		return nil, scrub(fmt.Errorf("exit %q: %w", redact(raw), err), raw)
	}
	bad := func(format string, a ...any) error {
		return scrub(fmt.Errorf("exit %q: "+format, append([]any{redact(raw)}, a...)...), raw)
	}
	switch u.Scheme {
	case "socks5", "socks5h", "socks5+tls":
	default:
		return nil, bad("scheme must be socks5://, socks5h:// or socks5+tls://")
	}
	if u.Host == "" || u.Path != "" && u.Path != "/" || u.Fragment != "" {
		return nil, bad("want %s://[user:pass@]HOST[:PORT]", u.Scheme)
	}
	host, port := u.Hostname(), u.Port()
	switch {
	case host == "":
		return nil, bad("no host: want %s://[user:pass@]HOST[:PORT]", u.Scheme)
	case strings.Contains(host, ":") && !strings.HasPrefix(u.Host, "["):
		// url.Parse took the last group for a port: "fd99::2:1085" would
		// be [fd99::2]:1085, where curl (and the eye) see no port
		return nil, bad("an IPv6 address goes in brackets: %s://[%s]:PORT", u.Scheme, u.Host)
	}
	if port == "" {
		port = "1080"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, bad("port %s: want 1 to 65535", port)
	}
	e := &Exit{Addr: net.JoinHostPort(host, port)}
	q := u.Query()
	for k := range q {
		switch k {
		case "pipeline":
		case "pin", "ca", "sni":
			if u.Scheme != "socks5+tls" {
				return nil, bad("%s= needs socks5+tls://", k)
			}
		default:
			return nil, bad("unknown parameter %q", k)
		}
	}
	e.Pipeline = q.Get("pipeline") == "1" || q.Get("pipeline") == "true"
	if u.User != nil {
		pass, set := u.User.Password()
		if !set {
			pass, _ = creds.Password(host, port, u.User.Username())
		}
		e.Auth = &socks5.Auth{User: u.User.Username(), Pass: pass}
	} else if a := creds.Lookup(host, port); a != nil {
		e.Auth = a
	}
	if u.Scheme == "socks5+tls" {
		if e.TLS, err = clientTLS(host, q.Get("pin"), q.Get("ca"), q.Get("sni")); err != nil {
			return nil, bad("%v", err)
		}
	}
	shown := *u
	shown.User = nil
	if e.Auth != nil {
		shown.User = url.User(e.Auth.User)
	}
	shown.RawQuery = ""
	e.Name = shown.String()
	return e, nil
}

// redact hides what could be the userinfo of raw: everything between the
// scheme and the last '@'.
func redact(raw string) string {
	at := strings.LastIndex(raw, "@")
	if at < 0 {
		return raw
	}
	start := 0
	if j := strings.Index(raw, "://"); j >= 0 && j < at {
		start = j + 3
	}
	return raw[:start] + "...@" + raw[at+1:]
}

// scrub removes raw's userinfo from an error message that may quote it.
func scrub(err error, raw string) error {
	at := strings.LastIndex(raw, "@")
	if at < 0 {
		return err
	}
	start := 0
	if j := strings.Index(raw, "://"); j >= 0 && j < at {
		start = j + 3
	}
	info := raw[start:at]
	msg := err.Error()
	if info == "" || !strings.Contains(msg, info) {
		return err
	}
	return errors.New(strings.ReplaceAll(msg, info, "..."))
}

// Pin is the form of a certificate pin in an exit URL: "sha256:" and the hex
// SHA-256 of the certificate's DER encoding. `carrot exit` prints it.
func Pin(der []byte) string {
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func clientTLS(host, pin, caFile, sni string) (*tls.Config, error) {
	cfg := &tls.Config{
		ServerName:         host,
		MinVersion:         tls.VersionTLS12,
		ClientSessionCache: tls.NewLRUClientSessionCache(32),
	}
	if sni != "" {
		cfg.ServerName = sni
	}
	switch {
	case pin != "" && caFile != "":
		return nil, errors.New("give pin= or ca=, not both")
	case pin != "":
		h, ok := strings.CutPrefix(strings.ToLower(pin), "sha256:")
		want, err := hex.DecodeString(strings.ReplaceAll(h, ":", ""))
		if !ok || err != nil || len(want) != sha256.Size {
			return nil, errors.New("pin must be sha256: and 64 hex digits")
		}
		// The pin replaces chain verification entirely: a self-signed
		// certificate is the normal case for an exit.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("exit presented no certificate")
			}
			got := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if subtle.ConstantTimeCompare(got[:], want) != 1 {
				return fmt.Errorf("exit certificate %s does not match the pin", Pin(cs.PeerCertificates[0].Raw))
			}
			return nil
		}
	case caFile != "":
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", caFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// Credentials supply exit credentials that are not in the URL, so that
// passwords need not appear on a command line (where ps shows them).
//
// Lookup order for an exit host:port, first match wins:
//
//  1. the URL's own user:pass;
//  2. a netrc-format file — $CARROT_EXIT_NETRC, else
//     $XDG_CONFIG_HOME/carrot/netrc (~/.config/carrot/netrc) when it
//     exists — "machine HOST:PORT", then "machine HOST";
//  3. $CARROT_EXIT_USER and $CARROT_EXIT_PASS;
//  4. the netrc file's "default" entry.
//
// The netrc file is the curl/ftp format ("machine M login U password P",
// tokens separated by any white space, # comments) and must not be
// readable by others. As in curl (7.84 and later) and Python's netrc, a
// token that starts with a double quote runs to the next unescaped one
// (which must be on the same line, and followed by white space or the end
// of the line), so it may hold spaces and #: within it a backslash takes
// the next character literally, \n, \r and \t being a newline, carriage
// return and tab (password "two words \"quoted\" \\ back"). Outside
// quotes, a # that starts a token starts a comment that runs to the end
// of the line; a # within a token is part of it (password pw#1), as in
// curl. An ftp macro ("macdef NAME", the rest of its line and the lines
// after it up to an empty one) is skipped, as curl and Python skip it.
type Credentials struct {
	machines map[string]*socks5.Auth
	def      *socks5.Auth
	env      *socks5.Auth // CARROT_EXIT_USER and CARROT_EXIT_PASS
	envPass  string       // CARROT_EXIT_PASS, with or without a user
}

// Password is user's password at host:port, for a URL that names the
// user but gives no password (socks5://alice@host): the netrc entry for
// the machine if its login is user, then CARROT_EXIT_PASS if
// CARROT_EXIT_USER is user or unset, then the netrc default entry if its
// login is user. ok is false when none has one. c may be nil.
func (c *Credentials) Password(host, port, user string) (pass string, ok bool) {
	if c == nil {
		return "", false
	}
	for _, a := range []*socks5.Auth{c.machines[net.JoinHostPort(host, port)], c.machines[host]} {
		if a != nil && a.User == user && a.Pass != "" {
			return a.Pass, true
		}
	}
	if c.envPass != "" && (c.env == nil || c.env.User == user) {
		return c.envPass, true
	}
	if c.def != nil && c.def.User == user && c.def.Pass != "" {
		return c.def.Pass, true
	}
	return "", false
}

// Lookup returns the credentials for host:port, or nil. c may be nil.
func (c *Credentials) Lookup(host, port string) *socks5.Auth {
	if c == nil {
		return nil
	}
	if a := c.machines[net.JoinHostPort(host, port)]; a != nil {
		return a
	}
	if a := c.machines[host]; a != nil {
		return a
	}
	if c.env != nil {
		return c.env
	}
	return c.def
}

// LoadCredentials reads the environment (through getenv, e.g. os.Getenv)
// and the netrc file it names or the default one.
func LoadCredentials(getenv func(string) string) (*Credentials, error) {
	c := &Credentials{machines: map[string]*socks5.Auth{}}
	c.envPass = getenv("CARROT_EXIT_PASS")
	if u := getenv("CARROT_EXIT_USER"); u != "" {
		c.env = &socks5.Auth{User: u, Pass: c.envPass}
	}
	path, explicit := getenv("CARROT_EXIT_NETRC"), true
	if path == "" {
		explicit = false
		dir := getenv("XDG_CONFIG_HOME")
		if dir == "" {
			if home := getenv("HOME"); home != "" {
				dir = filepath.Join(home, ".config")
			}
		}
		if dir == "" {
			return c, nil
		}
		path = filepath.Join(dir, "carrot", "netrc")
	}
	f, err := os.Open(path)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return c, nil
		}
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	if err := c.parseNetrc(bufio.NewScanner(f)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func (c *Credentials) parseNetrc(sc *bufio.Scanner) error {
	// Errors name the line, never a token: a token may be (part of) a
	// password.
	var cur *socks5.Auth
	var key *netrcToken // a keyword waiting for its value
	macro := false      // in a macdef's body, which runs to an empty line
	for line := 1; sc.Scan(); line++ {
		if macro {
			macro = strings.TrimSpace(sc.Text()) != ""
			continue
		}
		toks, err := appendNetrcTokens(nil, sc.Text(), line)
		if err != nil {
			return err
		}
		for _, tok := range toks {
			if key == nil {
				switch tok.s {
				case "machine", "login", "password", "account", "macdef":
					key = &tok
				case "default":
					cur = &socks5.Auth{}
					c.def = cur
				default:
					return fmt.Errorf("line %d: unexpected token (want machine, default, login, password, account or macdef; a value with white space goes in double quotes)", tok.line)
				}
				continue
			}
			switch key.s {
			case "machine":
				cur = &socks5.Auth{}
				c.machines[tok.s] = cur
			case "login", "password", "account":
				if cur == nil {
					return fmt.Errorf("line %d: %q before any machine", key.line, key.s)
				}
				switch key.s {
				case "login":
					cur.User = tok.s
				case "password":
					cur.Pass = tok.s
				}
			case "macdef":
				// An ftp macro (curl and Python skip them too): the rest
				// of the line, then its body.
				macro = true
			}
			key = nil
			if macro {
				break
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if key != nil {
		return fmt.Errorf("line %d: %q needs a value", key.line, key.s)
	}
	return nil
}

// netrcToken is a token of a netrc file and the line it is on.
type netrcToken struct {
	s    string
	line int
}

// appendNetrcTokens appends the tokens of one line of a netrc file to toks,
// as curl reads them: see Credentials.
func appendNetrcTokens(toks []netrcToken, text string, line int) ([]netrcToken, error) {
	isSpace := func(c byte) bool {
		return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
	}
	for i := 0; i < len(text); {
		if isSpace(text[i]) {
			i++
			continue
		}
		if text[i] == '#' {
			break // a comment, to the end of the line
		}
		if text[i] != '"' {
			j := i
			for j < len(text) && !isSpace(text[j]) {
				j++
			}
			toks = append(toks, netrcToken{text[i:j], line})
			i = j
			continue
		}
		var b strings.Builder
		closed := false
		for i++; i < len(text); i++ {
			ch := text[i]
			if ch == '"' {
				closed = true
				i++
				break
			}
			if ch == '\\' {
				if i++; i == len(text) {
					break
				}
				switch ch = text[i]; ch {
				case 'n':
					ch = '\n'
				case 'r':
					ch = '\r'
				case 't':
					ch = '\t'
				}
			}
			b.WriteByte(ch)
		}
		switch {
		case !closed:
			return nil, fmt.Errorf("line %d: a quoted token has no closing quote on its line", line)
		case i < len(text) && !isSpace(text[i]):
			return nil, fmt.Errorf("line %d: a quoted token must be followed by white space", line)
		}
		toks = append(toks, netrcToken{b.String(), line})
	}
	return toks, nil
}
