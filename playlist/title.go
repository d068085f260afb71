package playlist

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dhowden/tag"
)

// Title is the display title of a track.
type Title struct {
	Artist  string // from the tag that supplied Title; may be empty
	Title   string // empty when no tag had a title
	Display string // "Artist - Title", "Title", or the file name without extension
}

// ReadTitle reads the display title of the file at path. Tags are tried in
// order ID3v2, APEv2, ID3v1; the first one with a non-empty title supplies
// both title and artist (fields are not mixed across tags). Without any
// title the file name minus its extension is used, byte for byte. It never
// fails: unreadable files and broken tags fall back to the next source.
//
// Reads are bounded by the tags' real extent in the file: a tag claiming a
// huge size in a small file does not make it allocate that size.
func ReadTitle(path string) Title {
	artist, title := readTags(path)
	if title == "" {
		return Title{Display: fileTitle(path)}
	}
	d := title
	if artist != "" {
		d = artist + " - " + title
	}
	return Title{Artist: artist, Title: title, Display: d}
}

func readTags(path string) (artist, title string) {
	f, err := os.Open(path)
	if err != nil {
		return "", ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return "", ""
	}
	size := fi.Size()

	if a, t := readID3v2(f, size); t != "" {
		return a, t
	}
	end := size
	v1a, v1t, hasV1 := readID3v1(f, size)
	if hasV1 {
		end -= 128 // APEv2 sits before a trailing ID3v1
	}
	if a, t := readAPEv2(f, end); t != "" {
		return a, t
	}
	return v1a, v1t
}

// fileTitle is the base name without its extension, bytes kept (NFD stays
// NFD). Only a name that is not valid UTF-8 is converted, since it could not
// be shown or sent as metadata otherwise.
func fileTitle(path string) string {
	base := filepath.Base(path)
	if ext := filepath.Ext(base); len(ext) < len(base) {
		base = base[:len(base)-len(ext)]
	}
	if !utf8.ValidString(base) {
		base = decodeLegacy([]byte(base))
	}
	return base
}

// ---- ID3v2 ----

// readID3v2 parses a leading ID3v2 tag with dhowden/tag after checking that
// every read the library will do fits inside the tag.
func readID3v2(f io.ReaderAt, size int64) (artist, title string) {
	var h [10]byte
	if _, err := f.ReadAt(h[:], 0); err != nil {
		return "", ""
	}
	if string(h[:3]) != "ID3" || h[3] < 2 || h[3] > 4 || (h[6]|h[7]|h[8]|h[9])&0x80 != 0 {
		return "", ""
	}
	n := 10 + int64(Syncsafe(h[6:10]))
	if h[3] == 4 && h[5]&0x10 != 0 {
		n += 10 // footer
	}
	n = min(n, size)
	if !id3v2Fits(io.NewSectionReader(f, 0, n)) {
		return "", ""
	}
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, n), 16<<10)
	m, err := tag.ReadID3v2Tags(forwardOnly{r})
	if err != nil {
		// e.g. odd-length UTF-16 makes the whole read fail: next source.
		return "", ""
	}
	return clean(fixText(m.Artist())), clean(fixText(m.Title()))
}

// Syncsafe decodes an ID3v2 syncsafe integer: 7 bits a byte, most
// significant first, top bits ignored. The mount package uses it to skip
// tags in front of the audio.
func Syncsafe(b []byte) int {
	n := 0
	for _, x := range b {
		n = n<<7 | int(x&0x7f)
	}
	return n
}

// chunked7 is the library's own 7-bit decoding, which does not mask the top
// bit; the walker must compute the same sizes it will.
func chunked7(b []byte) int64 {
	var n int64
	for _, x := range b {
		n = n<<7 | int64(x)
	}
	return n
}

// forwardOnly gives dhowden/tag the io.ReadSeeker it asks for; its ID3v2
// reader only reads forward, and refusing Seek guarantees it stays inside
// the section.
type forwardOnly struct{ *bufio.Reader }

func (forwardOnly) Seek(int64, int) (int64, error) {
	return 0, errors.New("playlist: seek not supported")
}

// id3v2Fits walks the frame headers exactly as dhowden/tag (this version)
// will and reports false when one of its reads would ask for more bytes than
// the tag holds. That library allocates each frame up front (up to 10 MB),
// so a corrupt size must be caught before it is called; such a tag would
// fail there anyway.
func id3v2Fits(sec *io.SectionReader) bool {
	br := bufio.NewReaderSize(sec, 16<<10)
	remaining := func() int64 {
		read, _ := sec.Seek(0, io.SeekCurrent) // cannot fail: offset 0 from the current position
		return sec.Size() - (read - int64(br.Buffered()))
	}

	var h [10]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return false
	}
	ver, flags := h[3], h[5]
	tagSize := int64(Syncsafe(h[6:10]))
	offset := int64(10)
	if flags&0x40 != 0 { // extended header, read before unsynchronisation
		var b [4]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return false
		}
		var ext int64
		switch ver {
		case 3:
			ext = int64(binary.BigEndian.Uint32(b[:]))
		case 4:
			ext = chunked7(b[:]) - 4
		}
		if ext < 0 || ext > remaining() {
			return false
		}
		if _, err := br.Discard(int(ext)); err != nil {
			return false
		}
		offset += ext
	}
	var r io.Reader = br
	if flags&0x80 != 0 {
		r = &unsync{r: br}
	}
	// need reads n bytes of frame data the way the library will.
	need := func(n int64) bool {
		if n < 0 || n > remaining() {
			return false
		}
		_, err := io.CopyN(io.Discard, r, n)
		return err == nil
	}
	readN := func(n int) ([]byte, bool) {
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		return b, err == nil
	}

	for offset < tagSize {
		var name string
		var size, hdr int64
		var fmtFlags byte
		switch ver {
		case 2:
			b, ok := readN(6)
			if !ok {
				return false
			}
			name, size, hdr = string(b[:3]), int64(b[3])<<16|int64(b[4])<<8|int64(b[5]), 6
		case 3, 4:
			b, ok := readN(10)
			if !ok {
				return false
			}
			name, hdr, fmtFlags = string(b[:4]), 10, b[9]
			if ver == 3 {
				size = int64(binary.BigEndian.Uint32(b[4:8]))
			} else {
				size = chunked7(b[4:8])
			}
		}
		if size == 0 {
			return true // padding: the library stops here
		}
		offset += hdr + size
		if offset > tagSize && !plausibleFrameID(name) {
			return true // the library treats this as corrupt padding and stops
		}
		switch ver {
		case 3:
			if fmtFlags&0x80 != 0 { // compression: 4 bytes of size first
				if size < 4 || !need(4) {
					return false
				}
				size -= 4
			}
			if fmtFlags&0x40 != 0 { // encryption: 1 method byte
				if size < 1 || !need(1) {
					return false
				}
				size--
			}
		case 4:
			if fmtFlags&0x08 != 0 && fmtFlags&0x01 == 0 {
				return false // compression without data length indicator
			}
			if fmtFlags&0x01 != 0 { // the library then reads "data length" bytes
				b, ok := readN(4)
				if !ok {
					return false
				}
				size = chunked7(b)
			}
			if fmtFlags&0x04 != 0 {
				if size < 1 || !need(1) {
					return false
				}
				size--
			}
		}
		if !need(size) {
			return false
		}
	}
	return true
}

// plausibleFrameID approximates the library's table of known frame IDs; a
// false positive only makes us skip a tag the library might have read.
func plausibleFrameID(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// unsync drops the 0x00 after each 0xFF, like the library's filter.
type unsync struct {
	r  io.ByteReader
	ff bool
}

func (u *unsync) Read(p []byte) (int, error) {
	i := 0
	for i < len(p) {
		b, err := u.r.ReadByte()
		if err != nil {
			return i, err
		}
		if u.ff && b == 0 {
			u.ff = false
			continue
		}
		p[i] = b
		i++
		u.ff = b == 0xFF
	}
	return i, nil
}

// ---- ID3v1 ----

// readID3v1 reads the 128-byte tag at the end. The fields are raw bytes in
// an unknown 8-bit charset (see decodeLegacy).
func readID3v1(f io.ReaderAt, size int64) (artist, title string, ok bool) {
	if size < 128 {
		return "", "", false
	}
	var b [128]byte
	if _, err := f.ReadAt(b[:], size-128); err != nil || string(b[:3]) != "TAG" {
		return "", "", false
	}
	field := func(raw []byte) string {
		if i := bytes.IndexByte(raw, 0); i >= 0 {
			raw = raw[:i] // NUL-padded; bytes after the NUL are often junk
		}
		return clean(decodeLegacy(raw))
	}
	return field(b[33:63]), field(b[3:33]), true
}

// ---- APEv2 ----

const (
	apeMaxItems = 1000
	apeMaxValue = 64 << 10 // longer artist/title values are not titles
)

// readAPEv2 reads Artist and Title from an APE tag whose footer ends at end.
func readAPEv2(f io.ReaderAt, end int64) (artist, title string) {
	if end < 32 {
		return "", ""
	}
	var ft [32]byte
	if _, err := f.ReadAt(ft[:], end-32); err != nil || string(ft[:8]) != "APETAGEX" {
		return "", ""
	}
	ver := binary.LittleEndian.Uint32(ft[8:])
	tagSize := int64(binary.LittleEndian.Uint32(ft[12:])) // items + footer
	count := binary.LittleEndian.Uint32(ft[16:])
	flags := binary.LittleEndian.Uint32(ft[20:])
	if (ver != 1000 && ver != 2000) || flags&(1<<29) != 0 || tagSize < 32 || tagSize > end {
		return "", ""
	}
	itemsLen := tagSize - 32
	r := bufio.NewReader(io.NewSectionReader(f, end-tagSize, itemsLen))
	for i := uint32(0); i < count && i < apeMaxItems; i++ {
		var ih [8]byte
		if _, err := io.ReadFull(r, ih[:]); err != nil {
			break
		}
		vlen := int64(binary.LittleEndian.Uint32(ih[:4]))
		iflags := binary.LittleEndian.Uint32(ih[4:])
		key, err := r.ReadSlice(0)
		if err != nil || len(key) < 3 || len(key) > 256 {
			break // keys are 2..255 ASCII bytes plus NUL
		}
		key = key[:len(key)-1]
		if vlen > itemsLen {
			break
		}
		isText := iflags&0x6 == 0 // 0 = UTF-8 text; 1 binary, 2 external link
		var dst *string
		switch {
		case strings.EqualFold(string(key), "Artist"):
			dst = &artist
		case strings.EqualFold(string(key), "Title"):
			dst = &title
		}
		if dst == nil || !isText || vlen > apeMaxValue {
			if _, err := r.Discard(int(vlen)); err != nil {
				break
			}
			continue
		}
		v := make([]byte, vlen)
		if _, err := io.ReadFull(r, v); err != nil {
			break
		}
		*dst = apeValue(v)
	}
	return artist, title
}

// apeValue decodes a text value; several values are NUL-separated.
func apeValue(v []byte) string {
	s := string(v)
	if !utf8.ValidString(s) {
		s = decodeLegacy(v)
	}
	var parts []string
	for _, p := range strings.Split(s, "\x00") {
		if p = clean(p); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}

// ---- text ----

// fixText repairs tag text: invalid UTF-8 is decoded as a legacy charset,
// and Latin-1 text that is really CP1251 (Winamp-era Cyrillic tags written
// as "ISO-8859-1") is re-decoded.
func fixText(s string) string {
	if !utf8.ValidString(s) {
		return decodeLegacy([]byte(s))
	}
	b := make([]byte, 0, len(s))
	high := false
	for _, r := range s {
		if r > 0xFF {
			return s // real Unicode text, not a single-byte charset
		}
		high = high || r >= 0x80
		b = append(b, byte(r))
	}
	if high && looksCP1251(b) {
		return decodeCP1251(b)
	}
	return s
}

// decodeLegacy turns bytes of unknown charset into UTF-8: UTF-8 if valid,
// CP1251 if it looks Cyrillic, else Latin-1.
func decodeLegacy(b []byte) string {
	switch {
	case utf8.Valid(b):
		return string(b)
	case looksCP1251(b):
		return decodeCP1251(b)
	default:
		return decodeLatin1(b)
	}
}

// looksCP1251 reports whether 8-bit text is more likely CP1251 Cyrillic
// than Latin-1: most of its letters are bytes >= 0xC0 (Cyrillic letters in
// CP1251, accented letters in Latin-1, where they are rarely the majority).
func looksCP1251(b []byte) bool {
	var cyr, ascii, otherHigh int
	for _, c := range b {
		switch {
		case c >= 0xC0 || c == 0xA8 || c == 0xB8: // А..я, Ё, ё
			cyr++
		case c >= 0x80:
			otherHigh++
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			ascii++
		}
	}
	return cyr > ascii && cyr > otherHigh
}

func decodeLatin1(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) * 2)
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

func decodeCP1251(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) * 2)
	for _, c := range b {
		if c < 0x80 {
			sb.WriteByte(c)
		} else {
			sb.WriteRune(cp1251High[c-0x80])
		}
	}
	return sb.String()
}

// clean trims spaces and NULs, drops byte-order marks and turns every run of
// whitespace or control characters that contains a line break or control
// character into one space (titles are shown on one line).
func clean(s string) string {
	s = strings.ReplaceAll(s, "\uFEFF", "")
	if strings.IndexFunc(s, isBreak) >= 0 {
		var sb strings.Builder
		sb.Grow(len(s))
		for i := 0; i < len(s); {
			r, n := utf8.DecodeRuneInString(s[i:])
			if !isBreak(r) && !unicode.IsSpace(r) {
				sb.WriteRune(r)
				i += n
				continue
			}
			j, brk := i, false
			for j < len(s) {
				r, n := utf8.DecodeRuneInString(s[j:])
				if !isBreak(r) && !unicode.IsSpace(r) {
					break
				}
				brk = brk || isBreak(r)
				j += n
			}
			if brk {
				sb.WriteByte(' ')
			} else {
				sb.WriteString(s[i:j])
			}
			i = j
		}
		s = sb.String()
	}
	return strings.TrimFunc(s, func(r rune) bool { return r == 0 || unicode.IsSpace(r) })
}

// isBreak: line breaks and control characters other than space and tab.
func isBreak(r rune) bool {
	return r == '\n' || r == '\r' || r == 0x85 || r == 0x2028 || r == 0x2029 ||
		(unicode.IsControl(r) && r != '\t')
}

// PlaylistTitle makes a Title of a title a playlist file gives an entry
// (#EXTINF, TitleN). By the players' convention it reads "Artist - Title";
// without " - " it is the title alone. Display is the text as given.
func PlaylistTitle(s string) Title {
	s = clean(s)
	if s == "" {
		return Title{}
	}
	if a, t, ok := strings.Cut(s, " - "); ok && strings.TrimSpace(a) != "" && strings.TrimSpace(t) != "" {
		return Title{Artist: strings.TrimSpace(a), Title: strings.TrimSpace(t), Display: s}
	}
	return Title{Title: s, Display: s}
}
