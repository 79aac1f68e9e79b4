package linux

// Terminal ioctls' structures and flags (include/uapi/asm-generic/termbits.h,
// termios.h, tty.h), in strace 6.1's order (src/xlat/term_*.in).

// ParseTermios decodes a struct termios; b must hold SizeofTermios bytes.
func ParseTermios(b []byte) Termios {
	t := Termios{Iflag: le.Uint32(b), Oflag: le.Uint32(b[4:]), Cflag: le.Uint32(b[8:]), Lflag: le.Uint32(b[12:]), Line: b[16]}
	copy(t.Cc[:], b[17:])
	return t
}

// ParseWinsize decodes a struct winsize from 8 bytes.
func ParseWinsize(b []byte) Winsize {
	return Winsize{Row: le.Uint16(b), Col: le.Uint16(b[2:]), Xpixel: le.Uint16(b[4:]), Ypixel: le.Uint16(b[6:])}
}

// TermIflags are c_iflag's bits.
var TermIflags = &FlagSet{Flags: []Flag{
	{0x1, "IGNBRK"}, {0x2, "BRKINT"}, {0x4, "IGNPAR"}, {0x8, "PARMRK"}, {0x10, "INPCK"},
	{0x20, "ISTRIP"}, {0x40, "INLCR"}, {0x80, "IGNCR"}, {0x100, "ICRNL"}, {0x200, "IUCLC"},
	{0x400, "IXON"}, {0x800, "IXANY"}, {0x1000, "IXOFF"}, {0x2000, "IMAXBEL"}, {0x4000, "IUTF8"},
}}

// TermOdelays are c_oflag's delay fields, each a mask and its values'
// names, printed before the flags: NL0|CR0|TAB0|BS0|VT0|FF0.
var TermOdelays = []struct {
	Mask  uint32
	Names *ValueSet
}{
	{0x100, NewValueSet("NL?", false, Flag{0, "NL0"}, Flag{0x100, "NL1"})},
	{0x600, NewValueSet("CR?", false, Flag{0, "CR0"}, Flag{0x200, "CR1"}, Flag{0x400, "CR2"}, Flag{0x600, "CR3"})},
	{0x1800, NewValueSet("TAB?", false, Flag{0, "TAB0"}, Flag{0x800, "TAB1"}, Flag{0x1000, "TAB2"}, Flag{0x1800, "XTABS"})},
	{0x2000, NewValueSet("BS?", false, Flag{0, "BS0"}, Flag{0x2000, "BS1"})},
	{0x4000, NewValueSet("VT?", false, Flag{0, "VT0"}, Flag{0x4000, "VT1"})},
	{0x8000, NewValueSet("FF?", false, Flag{0, "FF0"}, Flag{0x8000, "FF1"})},
}

// TermOflags are c_oflag's bits outside the delay fields.
var TermOflags = &FlagSet{Flags: []Flag{
	{0x1, "OPOST"}, {0x2, "OLCUC"}, {0x4, "ONLCR"}, {0x8, "OCRNL"}, {0x10, "ONOCR"},
	{0x20, "ONLRET"}, {0x40, "OFILL"}, {0x80, "OFDEL"},
}}

// c_cflag's fields: the output baud rate (CBAUD), the input one shifted
// by IBSHIFT (CIBAUD), the character size (CSIZE).
const (
	CBAUD   = 0x100f
	CIBAUD  = CBAUD << IBSHIFT
	IBSHIFT = 16
	CSIZE   = 0x30
)

// BaudRates names c_cflag's CBAUD values.
var BaudRates = NewValueSet("B???", false,
	Flag{0, "B0"}, Flag{1, "B50"}, Flag{2, "B75"}, Flag{3, "B110"}, Flag{4, "B134"}, Flag{5, "B150"},
	Flag{6, "B200"}, Flag{7, "B300"}, Flag{8, "B600"}, Flag{9, "B1200"}, Flag{10, "B1800"},
	Flag{11, "B2400"}, Flag{12, "B4800"}, Flag{13, "B9600"}, Flag{14, "B19200"}, Flag{15, "B38400"},
	Flag{0x1000, "BOTHER"}, Flag{0x1001, "B57600"}, Flag{0x1002, "B115200"}, Flag{0x1003, "B230400"},
	Flag{0x1004, "B460800"}, Flag{0x1005, "B500000"}, Flag{0x1006, "B576000"}, Flag{0x1007, "B921600"},
	Flag{0x1008, "B1000000"}, Flag{0x1009, "B1152000"}, Flag{0x100a, "B1500000"}, Flag{0x100b, "B2000000"},
	Flag{0x100c, "B2500000"}, Flag{0x100d, "B3000000"}, Flag{0x100e, "B3500000"}, Flag{0x100f, "B4000000"})

// CharSizes names c_cflag's CSIZE values.
var CharSizes = NewValueSet("CS?", false, Flag{0, "CS5"}, Flag{0x10, "CS6"}, Flag{0x20, "CS7"}, Flag{0x30, "CS8"})

// TermCflags are c_cflag's bits outside its fields.
var TermCflags = &FlagSet{Flags: []Flag{
	{0x40, "CSTOPB"}, {0x80, "CREAD"}, {0x100, "PARENB"}, {0x200, "PARODD"}, {0x400, "HUPCL"},
	{0x800, "CLOCAL"}, {0x40000000, "CMSPAR"}, {0x80000000, "CRTSCTS"},
}}

// TermLflags are c_lflag's bits.
var TermLflags = &FlagSet{Flags: []Flag{
	{0x1, "ISIG"}, {0x2, "ICANON"}, {0x4, "XCASE"}, {0x8, "ECHO"}, {0x10, "ECHOE"}, {0x20, "ECHOK"},
	{0x40, "ECHONL"}, {0x80, "NOFLSH"}, {0x8000, "IEXTEN"}, {0x200, "ECHOCTL"}, {0x400, "ECHOPRT"},
	{0x800, "ECHOKE"}, {0x1000, "FLUSHO"}, {0x4000, "PENDIN"}, {0x100, "TOSTOP"}, {0x10000, "EXTPROC"},
}}

// LineDisciplines names c_line (include/uapi/linux/tty.h).
var LineDisciplines = NewValueSet("N_???", false,
	Flag{0, "N_TTY"}, Flag{1, "N_SLIP"}, Flag{2, "N_MOUSE"}, Flag{3, "N_PPP"}, Flag{4, "N_STRIP"},
	Flag{5, "N_AX25"}, Flag{6, "N_X25"}, Flag{7, "N_6PACK"}, Flag{8, "N_MASC"}, Flag{9, "N_R3964"},
	Flag{10, "N_PROFIBUS_FDL"}, Flag{11, "N_IRDA"}, Flag{12, "N_SMSBLOCK"}, Flag{13, "N_HDLC"},
	Flag{14, "N_SYNC_PPP"}, Flag{15, "N_HCI"}, Flag{16, "N_GIGASET_M101"}, Flag{17, "N_SLCAN"},
	Flag{18, "N_PPS"}, Flag{19, "N_V253"}, Flag{20, "N_CAIF"}, Flag{21, "N_GSM0710"}, Flag{22, "N_TI_WL"},
	Flag{23, "N_TRACESINK"}, Flag{24, "N_TRACEROUTER"}, Flag{25, "N_NCI"}, Flag{26, "N_SPEAKUP"},
	Flag{27, "N_NULL"})

// ControlChars names c_cc's indices (VINTR..VEOL2); the last two have none.
var ControlChars = [...]string{
	"VINTR", "VQUIT", "VERASE", "VKILL", "VEOF", "VTIME", "VMIN", "VSWTC", "VSTART", "VSTOP",
	"VSUSP", "VEOL", "VREPRINT", "VDISCARD", "VWERASE", "VLNEXT", "VEOL2",
}

// TcxoncActions names TCXONC's argument; TcflshQueues names TCFLSH's.
var (
	TcxoncActions = NewValueSet("TC???", false, Flag{0, "TCOOFF"}, Flag{1, "TCOON"}, Flag{2, "TCIOFF"}, Flag{3, "TCION"})
	TcflshQueues  = NewValueSet("TC???", false, Flag{0, "TCIFLUSH"}, Flag{1, "TCOFLUSH"}, Flag{2, "TCIOFLUSH"})
)

// SizeofWinsize is the size of struct winsize.
const SizeofWinsize = 8
