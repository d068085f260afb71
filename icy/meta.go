package icy

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// Charset is the byte encoding of titles inside ICY metadata blocks. ICY has
// no charset declaration, so the server has to pick one: most current
// players assume UTF-8, some older ones Latin-1.
type Charset int

const (
	// UTF8 is the default: what Icecast 2.5 and modern players expect.
	UTF8 Charset = iota
	// Latin1 is ISO-8859-1 (Icecast 2.4's default) for old hardware players.
	Latin1
)

// String returns the canonical config spelling of c.
func (c Charset) String() string {
	if c == Latin1 {
		return "latin1"
	}
	return "utf-8"
}

// MarshalText writes c as String does, so a configuration holding a
// Charset encodes to a file that loads back.
func (c Charset) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads what ParseCharset accepts.
func (c *Charset) UnmarshalText(b []byte) error {
	v, err := ParseCharset(string(b))
	*c = v
	return err
}

// ParseCharset accepts "utf-8", "utf8", "latin1", "iso-8859-1" in any case,
// plus Icecast's own spelling "ISO8859-1" and "latin-1", because admins copy
// them from icecast.xml.
func ParseCharset(s string) (Charset, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "utf-8", "utf8":
		return UTF8, nil
	case "latin1", "latin-1", "iso-8859-1", "iso8859-1":
		return Latin1, nil
	}
	return UTF8, fmt.Errorf("%w %q (want utf-8 or latin1)", ErrUnknownCharset, s)
}

const (
	// MaxMetaLen is the largest text area of a block: the length byte counts
	// 16-byte rows and is a byte, so 255*16 (Icecast's MAX_META_LEN).
	MaxMetaLen = 255 * 16
	// MaxBlockLen is the largest block on the wire, length byte included.
	MaxBlockLen = 1 + MaxMetaLen
	// MaxTitleBytes is the longest encoded title MetaBlock keeps: the text
	// area minus "StreamTitle='" and "';" minus one NUL terminator.
	MaxTitleBytes = MaxMetaLen - len(titlePrefix) - len(titleSuffix) - 1

	titlePrefix = "StreamTitle='"
	titleSuffix = "';"
	zeroRow     = "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

	// unchangedBlock is a constant so its bytes live in read-only memory.
	unchangedBlock = "\x00"
)

// Unchanged returns the one-byte block (L=0) that tells the client "title
// unchanged". Every call returns the same shared slice without allocating,
// because the hot path writes it to thousands of sockets. Callers must not
// modify it: it points into read-only memory, so a write crashes the
// process rather than corrupting every listener's stream. Its capacity is 1,
// so append never writes into it.
func Unchanged() []byte {
	return unsafe.Slice(unsafe.StringData(unchangedBlock), len(unchangedBlock))
}

// MetaBlock returns a complete ICY metadata block for title: the length byte
// L followed by L*16 bytes holding StreamTitle='<title>'; and NUL padding.
//
// The title is sanitised (see AppendMetaBlock), encoded in cs and truncated
// on a character boundary to MaxTitleBytes. An empty title gives Icecast's
// initial block (length byte 1, 15 bytes of text, one NUL):
//
//	"\x01StreamTitle='';\x00"
//
// MetaBlock makes exactly one allocation.
func MetaBlock(title string, cs Charset) []byte {
	// Build on the stack, then copy once into a right-sized slice: a block is
	// encoded once per title change and kept for a long time.
	var buf [MaxBlockLen]byte
	b := AppendMetaBlock(buf[:0], title, cs)
	out := make([]byte, len(b))
	copy(out, b)
	return out
}

// AppendMetaBlock appends the block MetaBlock would return to dst. It does
// not allocate when dst has MaxBlockLen bytes of spare capacity.
//
// Sanitising, so that every common player parses the title the same way:
//   - control characters (C0 including NUL, DEL, C1) and U+FEFF are dropped;
//   - apostrophes are kept as they are, no backslash escaping (players show
//     the backslash);
//   - the sequence "';", which real parsers take as the end of the value, is
//     broken by turning that apostrophe into U+2019 (UTF8) or U+00B4 (Latin1);
//     a ';' right after the opening quote gets a space in front instead;
//   - invalid UTF-8 becomes U+FFFD (UTF8) or '?' (Latin1);
//   - Latin1 transliterates as documented at appendLatin1.
//
// Like Icecast, the text area always ends with at least one NUL (L =
// len/16 + 1), so a text length that is an exact multiple of 16 gets an
// extra all-zero row; C clients that treat the area as a string need it.
func AppendMetaBlock(dst []byte, title string, cs Charset) []byte {
	start := len(dst)
	dst = append(dst, 0)
	dst = append(dst, titlePrefix...)
	dst = appendTitle(dst, title, cs)
	dst = append(dst, titleSuffix...)
	text := len(dst) - start - 1
	rows := text/16 + 1
	dst = append(dst, zeroRow[:rows*16-text]...)
	dst[start] = byte(rows)
	return dst
}

// appendTitle appends the sanitised, encoded title. dst must end with the
// opening quote of StreamTitle='.
func appendTitle(dst []byte, title string, cs Charset) []byte {
	base := len(dst)
	prev := rune(-1)
	for i := 0; i < len(title); {
		r, size := utf8.DecodeRuneInString(title[i:])
		raw := title[i : i+size]
		i += size
		if isControl(r) || r == '\uFEFF' {
			continue
		}
		mark := len(dst)
		switch {
		case r == ';' && mark == base:
			// The previous byte is the opening quote: "=';" would end the
			// value at once.
			dst = append(dst, ' ', ';')
		case r == ';' && dst[mark-1] == '\'':
			dst = append(dst[:mark-1], closeQuote(cs)...)
			dst = append(dst, ';')
			if len(dst)-base > MaxTitleBytes {
				// Undo: the apostrophe's byte was overwritten.
				dst = append(dst[:mark-1], '\'')
				return dst
			}
			prev = r
			continue
		case cs == Latin1:
			dst = appendLatin1(dst, r, title[i:], prev)
		case r == utf8.RuneError && size == 1:
			dst = append(dst, "\uFFFD"...)
		default:
			dst = append(dst, raw...)
		}
		if len(dst)-base > MaxTitleBytes {
			return dst[:mark]
		}
		prev = r
	}
	return dst
}

// closeQuote replaces an apostrophe that is followed by ';'. U+2019 does not
// exist in ISO-8859-1; the acute accent is the closest glyph that does.
func closeQuote(cs Charset) string {
	if cs == Latin1 {
		return "\xb4"
	}
	return "\u2019"
}

func isControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f)
}

// appendLatin1 appends r as ISO-8859-1. Runes below U+0100 are their own
// byte. Cyrillic is romanised (table at cyrillicLatin) so Russian and
// Ukrainian titles stay readable; common typographic punctuation maps to its
// ASCII look-alike (table at punctLatin1); everything else becomes '?'.
// rest and prev are the neighbouring input, used to pick "SH" over "Sh"
// inside an all-caps word.
func appendLatin1(dst []byte, r rune, rest string, prev rune) []byte {
	if r < 0x100 {
		return append(dst, byte(r))
	}
	if s, ok := punctLatin1(r); ok {
		return append(dst, s...)
	}
	lower := unicode.ToLower(r)
	s, ok := cyrillicLatin(lower)
	if !ok {
		return append(dst, '?')
	}
	start := len(dst)
	dst = append(dst, s...)
	if lower == r || len(s) == 0 {
		return dst
	}
	dst[start] = asciiUpper(dst[start])
	if len(s) > 1 && allCaps(rest, prev) {
		for k := start + 1; k < len(dst); k++ {
			dst[k] = asciiUpper(dst[k])
		}
	}
	return dst
}

// allCaps reports whether an uppercase letter stands in an all-caps word:
// the next letter is uppercase, or there is no next letter and the previous
// one was uppercase ("ЩУКА" → "SHCHUKA", "Щука" → "Shchuka", "ПОЮЩ" → "POYUSHCH").
func allCaps(rest string, prev rune) bool {
	next, _ := utf8.DecodeRuneInString(rest)
	if unicode.IsLetter(next) {
		return unicode.IsUpper(next)
	}
	return unicode.IsUpper(prev)
}

func asciiUpper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// cyrillicLatin is the romanisation table for Latin1 titles, keyed by the
// lowercase letter. It is a practical BGN/PCGN-style scheme (what listeners
// recognise, e.g. "Весёлые Ребята" → "Vesyolye Rebyata"), not strict ISO 9
// whose diacritics mostly do not exist in ISO-8859-1:
//
//	а a   б b   в v   г g   д d   е e   ё yo  ж zh  з z   и i   й y
//	к k   л l   м m   н n   о o   п p   р r   с s   т t   у u   ф f
//	х kh  ц ts  ч ch  ш sh  щ shch ъ -  ы y   ь -   э e   ю yu  я ya
//	Ukrainian:  є ye  і i  ї yi  ґ g     Belarusian: ў u
//	Serbian/Macedonian: ђ dj  ј j  љ lj  њ nj  ћ c  џ dz  ѓ gj  ќ kj  ѕ dz
//
// ъ and ь (hard and soft signs) are dropped. Uppercase letters capitalise
// the first Latin letter, or all of them inside an all-caps word.
func cyrillicLatin(r rune) (string, bool) {
	switch r {
	case 'а':
		return "a", true
	case 'б':
		return "b", true
	case 'в':
		return "v", true
	case 'г', 'ґ':
		return "g", true
	case 'д':
		return "d", true
	case 'е', 'э':
		return "e", true
	case 'ё':
		return "yo", true
	case 'ж':
		return "zh", true
	case 'з':
		return "z", true
	case 'и', 'і':
		return "i", true
	case 'й', 'ы':
		return "y", true
	case 'к':
		return "k", true
	case 'л':
		return "l", true
	case 'м':
		return "m", true
	case 'н':
		return "n", true
	case 'о':
		return "o", true
	case 'п':
		return "p", true
	case 'р':
		return "r", true
	case 'с':
		return "s", true
	case 'т':
		return "t", true
	case 'у', 'ў':
		return "u", true
	case 'ф':
		return "f", true
	case 'х':
		return "kh", true
	case 'ц':
		return "ts", true
	case 'ч':
		return "ch", true
	case 'ш':
		return "sh", true
	case 'щ':
		return "shch", true
	case 'ъ', 'ь':
		return "", true
	case 'ю':
		return "yu", true
	case 'я':
		return "ya", true
	case 'є':
		return "ye", true
	case 'ї':
		return "yi", true
	case 'ђ':
		return "dj", true
	case 'ј':
		return "j", true
	case 'љ':
		return "lj", true
	case 'њ':
		return "nj", true
	case 'ћ':
		return "c", true
	case 'џ', 'ѕ':
		return "dz", true
	case 'ѓ':
		return "gj", true
	case 'ќ':
		return "kj", true
	}
	return "", false
}

// punctLatin1 maps punctuation common in tags but absent from ISO-8859-1 to
// a look-alike, because '?' in place of a curly apostrophe or a dash reads
// as an error:
//
//	‘ ’ ‚ ‛ ′ ʼ → '     “ ” „ ‟ ″ → "     ‐ ‑ ‒ – — ― − → -
//	… → ...   № → No.   € → EUR   typographic spaces → space
//	zero-width space/joiners and word joiner → dropped
func punctLatin1(r rune) (string, bool) {
	switch {
	case r == '‘' || r == '’' || r == '‚' || r == '‛' || r == '′' || r == 'ʼ':
		return "'", true
	case r == '“' || r == '”' || r == '„' || r == '‟' || r == '″':
		return `"`, true
	case (r >= '\u2010' && r <= '\u2015') || r == '\u2212':
		return "-", true
	case r == '…':
		return "...", true
	case r == '№':
		return "No.", true
	case r == '€':
		return "EUR", true
	case (r >= '\u2000' && r <= '\u200a') || r == '\u202f' || r == '\u205f' || r == '\u3000':
		return " ", true
	case (r >= '\u200b' && r <= '\u200d') || r == '\u2060':
		return "", true
	}
	return "", false
}

// ParseMetaBlock reads one metadata block from the start of b and returns
// its StreamTitle and the number of bytes the block occupies.
//
// n == 1 means an empty block (L=0, "title unchanged"); title is then "".
// A block shorter than its length byte claims gives ErrShortBlock and n == 0;
// a non-empty block without a StreamTitle gives ErrNoStreamTitle with n set,
// so a relay can skip it. Keys are matched case-insensitively and the value
// ends at the first "';" (as ExoPlayer and FFmpeg do), so lone apostrophes
// survive. Text that is not valid UTF-8 is decoded as ISO-8859-1 (ExoPlayer's
// fallback), so title is always valid UTF-8.
func ParseMetaBlock(b []byte) (title string, n int, err error) {
	if len(b) == 0 {
		return "", 0, ErrShortBlock
	}
	n = 1 + int(b[0])*16
	if len(b) < n {
		return "", 0, ErrShortBlock
	}
	text := b[1:n]
	for i, c := range text {
		if c == 0 {
			text = text[:i]
			break
		}
	}
	if n == 1 {
		return "", n, nil
	}
	for len(text) > 0 {
		eq := indexString(text, "='")
		if eq < 0 {
			break
		}
		key := string(text[:eq])
		val := text[eq+2:]
		end := indexString(val, "';")
		next := []byte(nil)
		if end >= 0 {
			next = val[end+2:]
			val = val[:end]
		} else if len(val) > 0 && val[len(val)-1] == '\'' {
			// Unterminated last pair ("…'" without ';'): be lenient.
			val = val[:len(val)-1]
		}
		if strings.EqualFold(key, "StreamTitle") {
			return decodeTitle(val), n, nil
		}
		text = next
	}
	return "", n, ErrNoStreamTitle
}

func indexString(b []byte, s string) int {
	return strings.Index(string(b), s)
}

// decodeTitle returns v as UTF-8, reading it as ISO-8859-1 when it is not
// valid UTF-8.
func decodeTitle(v []byte) string {
	if utf8.Valid(v) {
		return string(v)
	}
	out := make([]byte, 0, 2*len(v))
	for _, c := range v {
		out = utf8.AppendRune(out, rune(c))
	}
	return string(out)
}
