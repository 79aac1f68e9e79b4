package syscalls

import "strings"

// quote renders b as strace's string_quote does: in double quotes, with
// C escapes; ellipsis adds "..." after the closing quote (the string was
// longer than printed).
//
// Without -x, printable ASCII is itself (except '"' and '\\', escaped),
// \t \n \v \f \r are named, and other bytes are octal with the fewest
// digits, unless the next byte is an octal digit ("\0001"). With -x, a
// string that holds a byte above 0x7e, or a control byte other than
// \t \n \v \f \r, is printed entirely as \xNN (strace's string_quote);
// with -xx every string is.
func (d *Decoded) quote(b []byte, ellipsis bool) string { return quoteHex(b, ellipsis, d.o.Hex) }

// quoteHex is quote with hex for -x's level (2: every byte as \xNN).
func quoteHex(b []byte, ellipsis bool, hex int) string { return quoteEscaping(b, ellipsis, hex, "") }

// quoteEscaping is quoteHex with the printable bytes in escape escaped in
// octal as non-printable ones are (-y's paths escape "<>").
func quoteEscaping(b []byte, ellipsis bool, hex int, escape string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	allHex := hex >= 2
	if hex == 1 {
		for _, c := range b {
			if c > 0x7e || (c < ' ' && (c < '\t' || c > '\r')) {
				allHex = true
				break
			}
		}
	}
	const digits = "0123456789abcdef"
	for i, c := range b {
		switch {
		case allHex:
			sb.WriteString(`\x`)
			sb.WriteByte(digits[c>>4])
			sb.WriteByte(digits[c&15])
		case c == '"' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c >= ' ' && c < 0x7f && strings.IndexByte(escape, c) < 0:
			sb.WriteByte(c)
		case c == '\t':
			sb.WriteString(`\t`)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\v':
			sb.WriteString(`\v`)
		case c == '\f':
			sb.WriteString(`\f`)
		case c == '\r':
			sb.WriteString(`\r`)
		default:
			sb.WriteByte('\\')
			nextDigit := i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '7'
			if nextDigit || c >= 0100 {
				sb.WriteByte('0' + c>>6)
			}
			if nextDigit || c >= 010 {
				sb.WriteByte('0' + (c>>3)&7)
			}
			sb.WriteByte('0' + c&7)
		}
	}
	sb.WriteByte('"')
	if ellipsis {
		sb.WriteString("...")
	}
	return sb.String()
}

// pathMax is PATH_MAX: strace prints paths up to this length, ignoring -s.
const pathMax = 4096

// path renders a NUL-terminated path at addr (printpath): NULL, the
// quoted path, or the address if it cannot be read.
func (d *Decoded) path(addr uint64) string {
	if addr == 0 {
		return "NULL"
	}
	s, term, err := d.readCString(addr, pathMax-1)
	if err != nil {
		return hexs(addr)
	}
	return d.quote(s, !term)
}

// cstring renders a NUL-terminated string at addr limited by -s (printstr
// with QUOTE_0_TERMINATED): "..." follows when no NUL is found within -s
// bytes.
func (d *Decoded) cstring(addr uint64) string {
	if addr == 0 {
		return "NULL"
	}
	s, term, err := d.readCString(addr, d.o.StrSize)
	if err != nil && len(s) < d.o.StrSize {
		return hexs(addr)
	}
	return d.quote(s, !term)
}

// buffer renders n bytes at addr limited by -s (printstrn): the bytes up
// to -s, then "..." if n was larger.
func (d *Decoded) buffer(addr uint64, n uint64) string { return d.bufferHex(addr, n, d.o.Hex) }

// bufferHex is buffer with hex for -x's level: 2 for bytes that strace
// always shows as \xNN (getrandom's).
func (d *Decoded) bufferHex(addr uint64, n uint64, hex int) string {
	if addr == 0 {
		return "NULL"
	}
	show := n
	if show > uint64(d.o.StrSize) {
		show = uint64(d.o.StrSize)
	}
	b, err := d.read(addr, int(show))
	if err != nil {
		return hexs(addr)
	}
	return quoteHex(b, n > show, hex)
}
