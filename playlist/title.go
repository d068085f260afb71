package playlist

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
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

// ReadTitle reads the display title of the file at path. The file's bytes,
// not its name, say which tags to look for: first the format's own, then the
// ones MP3 tools add to any file. In order of preference:
//
//   - FLAC: the Vorbis comment block (TITLE, ARTIST).
//   - Ogg (Vorbis, Opus, FLAC, Speex): the first logical stream's comment
//     header, the same fields.
//   - MP4/M4A: the iTunes item list (©nam; ©ART, else aART).
//   - WAV (RIFF, RF64, BW64): an "id3 " or "ID3 " chunk holding an ID3v2 tag
//     (Unicode-safe), then the LIST/INFO chunk (INAM, IART).
//   - AIFF: an "ID3 " chunk, then the NAME and AUTH chunks.
//   - Any file, after those (the only tags of MP3): a leading ID3v2 tag
//     (also found in front of FLAC), APEv2, ID3v1.
//
// The first source with a non-empty title supplies both title and artist
// (fields are not mixed across sources); a field given several times (Vorbis
// comments, MP4 items) is its distinct values joined with ", ". Without any
// title the file name minus its extension is used, byte for byte. It never
// fails: unreadable files and broken tags fall back to the next source.
//
// Text is UTF-8 in the result. Formats that mandate UTF-8 (Vorbis comments,
// MP4) are decoded as a legacy charset only where they are not valid UTF-8;
// fields of unknown charset (INFO, AIFF, ID3v1) as decodeLegacy says.
//
// Reads are bounded by the real extent of each tag, chunk or block in the
// file: a size field claiming more than the file holds does not make it
// allocate that size. Pictures are skipped unread (see ReadArt), except in
// an ID3v2 tag, which dhowden/tag reads whole.
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
	f, size, ok := openRegular(path)
	if !ok {
		return "", ""
	}
	defer f.Close()

	start, _ := id3v2Extent(f, size)
	if a, t := nativeTitle(f, start, size); t != "" {
		return a, t
	}
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

// openRegular opens path for reading if it is a regular file (not a FIFO or
// device a read could block on) and returns its size.
func openRegular(path string) (*os.File, int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, false
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, false
	}
	return f, fi.Size(), true
}

// container is a file format that carries its own tags.
type container int

const (
	noContainer container = iota // MP3, ADTS and anything unknown: only ID3v2, APEv2, ID3v1
	flacContainer
	oggContainer
	mp4Container
	riffContainer // WAV, RF64, BW64
	aiffContainer // AIFF, AIFC
)

// sniffContainer names the format whose header starts at offset at.
func sniffContainer(f io.ReaderAt, at int64) container {
	var b [12]byte
	n, _ := f.ReadAt(b[:], at) // a short read leaves zeros, matching nothing
	h := string(b[:n])
	switch {
	case strings.HasPrefix(h, "fLaC"):
		return flacContainer
	case strings.HasPrefix(h, "OggS"):
		return oggContainer
	case n == 12 && h[4:8] == "ftyp":
		return mp4Container
	case n == 12 && (h[:4] == "RIFF" || h[:4] == "RF64" || h[:4] == "BW64") && h[8:] == "WAVE":
		return riffContainer
	case n == 12 && h[:4] == "FORM" && (h[8:] == "AIFF" || h[8:] == "AIFC"):
		return aiffContainer
	}
	return noContainer
}

// nativeTitle reads the tags of the container that starts at start (after
// any leading ID3v2 tag).
func nativeTitle(f io.ReaderAt, start, size int64) (artist, title string) {
	switch sniffContainer(f, start) {
	case flacContainer:
		return flacTitle(f, start, size)
	case oggContainer:
		return oggTitle(f, start, size)
	case mp4Container:
		return mp4Title(f, start, size)
	case riffContainer:
		return riffTitle(f, start, size)
	case aiffContainer:
		return aiffTitle(f, start, size)
	}
	return "", ""
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
	n, ok := id3v2Extent(f, size)
	if !ok || !id3v2Fits(io.NewSectionReader(f, 0, n)) {
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

// id3v2Extent returns the length of the ID3v2 tag at the start of f (header,
// frames, padding, footer), cut to the file's size, and whether there is one.
func id3v2Extent(f io.ReaderAt, size int64) (int64, bool) {
	var h [10]byte
	if _, err := f.ReadAt(h[:], 0); err != nil {
		return 0, false
	}
	if string(h[:3]) != "ID3" || h[3] < 2 || h[3] > 4 || (h[6]|h[7]|h[8]|h[9])&0x80 != 0 {
		return 0, false
	}
	n := 10 + int64(Syncsafe(h[6:10]))
	if h[3] == 4 && h[5]&0x10 != 0 {
		n += 10 // footer
	}
	return min(n, size), true
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
func id3v2Fits(sec *io.SectionReader) bool { return walkID3v2(sec, nil) }

// id3v2Frame is a frame as walkID3v2 hands it to its visitor.
type id3v2Frame struct {
	id        string // "APIC"; three letters in ID3v2.2 ("PIC")
	ver       byte   // 2, 3 or 4
	flags     byte   // the format flags byte (ID3v2.3 and 2.4; 0 in 2.2)
	tagUnsync bool   // the whole tag is unsynchronised (data has it undone)
	size      int64  // bytes in data, checked against the tag's extent
	data      io.Reader
}

// walkID3v2 is id3v2Fits calling visit (if not nil) with each frame whose
// size the tag holds; compression and encryption prefixes are already
// consumed. The walk stops early when visit returns false, and then reports
// true. Frames visit does not read to the end are skipped without
// allocating.
func walkID3v2(sec *io.SectionReader, visit func(id3v2Frame) bool) bool {
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
		if size < 0 || size > remaining() {
			return false
		}
		data := &io.LimitedReader{R: r, N: size}
		if visit != nil && !visit(id3v2Frame{id: name, ver: ver, flags: fmtFlags, tagUnsync: flags&0x80 != 0, size: size, data: data}) {
			return true
		}
		if _, err := io.Copy(io.Discard, data); err != nil || data.N != 0 {
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
	maxTagText  = 64 << 10 // longer artist/title values are not titles
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
		if dst == nil || !isText || vlen > maxTagText {
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

// ---- Vorbis comments (FLAC, Ogg) ----

// vorbisMaxName bounds a comment's field name; longer ones are not names.
const vorbisMaxName = 64

// vorbisComments walks a Vorbis comment header in r: a vendor string, a
// count, then that many "NAME=value" strings, each after its little-endian
// 32-bit length. visit gets each field name upper-cased, the value's length
// and a reader of the value; it need not read it all. The walk ends when
// visit returns false, after count comments, or at the first length the
// data does not hold. Lengths are only ever skipped, never allocated.
func vorbisComments(r *bufio.Reader, visit func(name string, n int64, value io.Reader) bool) {
	var b [4]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return
	}
	if _, err := r.Discard(int(binary.LittleEndian.Uint32(b[:]))); err != nil { // vendor
		return
	}
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return
	}
	count := binary.LittleEndian.Uint32(b[:])
	for range count {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return
		}
		n := int64(binary.LittleEndian.Uint32(b[:]))
		head, _ := r.Peek(int(min(n, vorbisMaxName+1))) // short at the end of the data: Discard below fails
		eq := bytes.IndexByte(head, '=')
		if eq <= 0 || !fieldName(head[:eq]) {
			if _, err := r.Discard(int(n)); err != nil {
				return
			}
			continue // not NAME=value: skipped, as players do
		}
		name := strings.ToUpper(string(head[:eq]))
		if _, err := r.Discard(eq + 1); err != nil {
			return
		}
		value := &io.LimitedReader{R: r, N: n - int64(eq) - 1}
		if !visit(name, value.N, value) {
			return
		}
		if _, err := r.Discard(int(value.N)); err != nil {
			return
		}
	}
}

// fieldName reports whether b is a Vorbis field name: printable ASCII
// without '='.
func fieldName(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7D || c == '=' {
			return false
		}
	}
	return true
}

// vorbisTitle reads ARTIST and TITLE from a Vorbis comment header.
func vorbisTitle(r *bufio.Reader) (artist, title string) {
	var artists, titles fieldValues
	vorbisComments(r, func(name string, n int64, value io.Reader) bool {
		var dst *fieldValues
		switch name {
		case "TITLE":
			dst = &titles
		case "ARTIST":
			dst = &artists
		default:
			return true
		}
		if n > maxTagText {
			return true
		}
		b, ok := readExact(value, n, false)
		if ok {
			dst.add(decodeLegacy(b)) // UTF-8 by the spec; legacy bytes from old taggers
		}
		return ok
	})
	return artists.String(), titles.String()
}

// fieldValues collects the values of a field that may repeat.
type fieldValues []string

// add keeps s, cleaned, unless it is empty or already there.
func (v *fieldValues) add(s string) {
	if s = clean(s); s != "" && !slices.Contains(*v, s) {
		*v = append(*v, s)
	}
}

// String is the values joined with ", ".
func (v fieldValues) String() string { return strings.Join(v, ", ") }

// readExact reads n bytes from r. Unless sized, the buffer grows with the
// bytes that arrive, so a length a broken file claims is never allocated up
// front; sized says the caller checked that the file has room for n bytes
// where r reads from.
func readExact(r io.Reader, n int64, sized bool) ([]byte, bool) {
	if n < 0 {
		return nil, false
	}
	if sized {
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		return b, err == nil
	}
	b, err := io.ReadAll(io.LimitReader(r, n))
	return b, err == nil && int64(len(b)) == n
}

// ---- FLAC ----

const (
	flacVorbisComment = 4
	flacPicture       = 6
	flacMaxBlocks     = 1024 // real files have a handful; padding need not be walked past
)

// flacBlocks calls visit with the type and extent of each metadata block of
// the FLAC stream whose "fLaC" marker is at start, in file order, until the
// last block, a block the file does not hold, or visit returning false.
func flacBlocks(f io.ReaderAt, start, size int64, visit func(typ byte, off, n int64) bool) {
	off := start + 4
	for range flacMaxBlocks {
		var h [4]byte
		if _, err := f.ReadAt(h[:], off); err != nil {
			return
		}
		typ, n := h[0]&0x7f, int64(h[1])<<16|int64(h[2])<<8|int64(h[3])
		off += 4
		if typ == 127 || n > size-off {
			return // invalid, or cut off: what follows is not metadata
		}
		if !visit(typ, off, n) || h[0]&0x80 != 0 {
			return
		}
		off += n
	}
}

// flacTitle reads the Vorbis comment block (a stream has at most one).
func flacTitle(f io.ReaderAt, start, size int64) (artist, title string) {
	flacBlocks(f, start, size, func(typ byte, off, n int64) bool {
		if typ != flacVorbisComment {
			return true
		}
		artist, title = vorbisTitle(bufio.NewReaderSize(io.NewSectionReader(f, off, n), 4096))
		return false
	})
	return artist, title
}

// ---- Ogg ----

const oggMaxPages = 1 << 16 // a comment header with a large picture spans a few thousand

// oggPackets reads the packets of the first logical stream of an Ogg file;
// pages of other streams (multiplexed or chained ones) are skipped. Read
// reads the current packet and returns io.EOF at its end; nextPacket moves
// to the following one. Page checksums are not verified: the comment
// packets' own markers and the bounded walks guard against garbage.
type oggPackets struct {
	r       *bufio.Reader
	serial  uint32
	pages   int
	lacing  [255]byte
	nseg    int  // lacing values on the current page
	seg     int  // index of the next segment on the page
	left    int  // unread bytes of the current segment
	last    bool // the current segment ends its packet
	started bool // a segment of the current packet has been read
}

func newOggPackets(f io.ReaderAt, start, size int64) *oggPackets {
	return &oggPackets{r: bufio.NewReaderSize(io.NewSectionReader(f, start, size-start), 16<<10)}
}

// page reads the header of the stream's next page; continued says whether
// it must continue a packet.
func (o *oggPackets) page(continued bool) bool {
	for o.pages < oggMaxPages {
		o.pages++
		var h [27]byte
		if _, err := io.ReadFull(o.r, h[:]); err != nil || string(h[:4]) != "OggS" || h[4] != 0 {
			return false
		}
		serial := binary.LittleEndian.Uint32(h[14:])
		nseg := int(h[26])
		if _, err := io.ReadFull(o.r, o.lacing[:nseg]); err != nil {
			return false
		}
		if o.pages == 1 {
			o.serial = serial
		}
		if serial != o.serial {
			body := 0
			for _, l := range o.lacing[:nseg] {
				body += int(l)
			}
			if _, err := o.r.Discard(body); err != nil {
				return false
			}
			continue
		}
		if (h[5]&0x01 != 0) != continued {
			return false // a packet is cut short, or a page belongs to one we did not see start
		}
		o.nseg, o.seg = nseg, 0
		return true
	}
	return false
}

// nextSegment moves to the next segment of the current packet.
func (o *oggPackets) nextSegment() bool {
	for o.seg == o.nseg { // a page may hold no segments
		if !o.page(o.started) {
			return false
		}
	}
	l := o.lacing[o.seg]
	o.seg++
	o.left, o.last, o.started = int(l), l < 255, true
	return true
}

func (o *oggPackets) Read(p []byte) (int, error) {
	for o.left == 0 {
		if o.last {
			return 0, io.EOF
		}
		if !o.nextSegment() {
			return 0, io.ErrUnexpectedEOF
		}
	}
	n, err := o.r.Read(p[:min(len(p), o.left)])
	o.left -= n
	if err == io.EOF {
		err = io.ErrUnexpectedEOF // the page claimed more than the file holds
	}
	return n, err
}

// nextPacket skips the rest of the current packet.
func (o *oggPackets) nextPacket() bool {
	for {
		if _, err := o.r.Discard(o.left); err != nil {
			return false
		}
		o.left = 0
		if o.last {
			o.last, o.started = false, false
			return true
		}
		if !o.nextSegment() {
			return false
		}
	}
}

// oggComments returns a reader at the Vorbis comment header of the file's
// first stream, which is its second packet: after "\x03vorbis" (Vorbis),
// "OpusTags" (Opus) or a VORBIS_COMMENT block header (FLAC), or alone
// (Speex).
func oggComments(f io.ReaderAt, start, size int64) (*bufio.Reader, bool) {
	o := newOggPackets(f, start, size)
	var id [8]byte
	n, _ := io.ReadFull(o, id[:]) // a shorter first packet matches no codec
	head := string(id[:n])
	if !o.nextPacket() {
		return nil, false
	}
	r := bufio.NewReaderSize(o, 4096)
	var prefixOK bool
	switch {
	case strings.HasPrefix(head, "\x01vorbis"):
		prefixOK = skipPrefix(r, "\x03vorbis")
	case head == "OpusHead":
		prefixOK = skipPrefix(r, "OpusTags")
	case head == "Speex   ":
		prefixOK = true
	case strings.HasPrefix(head, "\x7fFLAC"):
		h, err := r.Peek(4)
		prefixOK = err == nil && h[0]&0x7f == flacVorbisComment && skipPrefix(r, string(h))
	}
	return r, prefixOK
}

// skipPrefix consumes prefix if r starts with it.
func skipPrefix(r *bufio.Reader, prefix string) bool {
	if h, err := r.Peek(len(prefix)); err != nil || string(h) != prefix {
		return false
	}
	_, err := r.Discard(len(prefix))
	return err == nil
}

func oggTitle(f io.ReaderAt, start, size int64) (artist, title string) {
	if r, ok := oggComments(f, start, size); ok {
		return vorbisTitle(r)
	}
	return "", ""
}

// ---- MP4 ----

const mp4MaxBoxes = 1024 // per level; an ilst has one box per item

// mp4Boxes calls visit with the type and content extent of each box in
// [off, end) until visit returns false. It stops at a box claiming more
// than its parent (or the file) holds: its size is wrong or the file is cut
// short, and either way what follows is not its content.
func mp4Boxes(f io.ReaderAt, off, end int64, visit func(typ string, off, end int64) bool) {
	for i := 0; i < mp4MaxBoxes && end-off >= 8; i++ {
		var h [16]byte
		if _, err := f.ReadAt(h[:8], off); err != nil {
			return
		}
		n, hdr := int64(binary.BigEndian.Uint32(h[:4])), int64(8)
		switch n {
		case 0: // to the end of the file (or parent)
			n = end - off
		case 1: // 64-bit size after the type
			if _, err := f.ReadAt(h[8:], off+8); err != nil {
				return
			}
			n, hdr = int64(binary.BigEndian.Uint64(h[8:])), 16
		}
		if n < hdr || n > end-off { // n < 0 for sizes over 2^63
			return
		}
		if !visit(string(h[4:8]), off+hdr, off+n) {
			return
		}
		off += n
	}
}

// mp4Child finds the first box of type typ in [off, end).
func mp4Child(f io.ReaderAt, off, end int64, typ string) (int64, int64, bool) {
	var cOff, cEnd int64
	found := false
	mp4Boxes(f, off, end, func(t string, o, e int64) bool {
		if t == typ {
			cOff, cEnd, found = o, e, true
		}
		return !found
	})
	return cOff, cEnd, found
}

// mp4ItemList finds the iTunes item list: moov/udta/meta/ilst, or
// moov/meta/ilst as some taggers write it.
func mp4ItemList(f io.ReaderAt, start, size int64) (int64, int64, bool) {
	mOff, mEnd, ok := mp4Child(f, start, size, "moov")
	if !ok {
		return 0, 0, false
	}
	metas := [][2]int64{}
	if uOff, uEnd, ok := mp4Child(f, mOff, mEnd, "udta"); ok {
		if o, e, ok := mp4Child(f, uOff, uEnd, "meta"); ok {
			metas = append(metas, [2]int64{o, e})
		}
	}
	if o, e, ok := mp4Child(f, mOff, mEnd, "meta"); ok {
		metas = append(metas, [2]int64{o, e})
	}
	for _, m := range metas {
		// ISO meta is a full box (4 bytes of version and flags before its
		// children); QuickTime's is not, and starts with its hdlr box.
		var h [8]byte
		if _, err := f.ReadAt(h[:], m[0]); err != nil {
			continue
		}
		off := m[0] + 4
		if string(h[4:]) == "hdlr" {
			off = m[0]
		}
		if o, e, ok := mp4Child(f, off, m[1], "ilst"); ok {
			return o, e, true
		}
	}
	return 0, 0, false
}

// mp4Values calls visit with the well-known type (1 UTF-8, 2 UTF-16, 13
// JPEG, 14 PNG, ...) and value extent of each "data" box of the item in
// [off, end).
func mp4Values(f io.ReaderAt, off, end int64, visit func(class uint32, off, end int64) bool) {
	mp4Boxes(f, off, end, func(typ string, o, e int64) bool {
		if typ != "data" {
			return true
		}
		var h [8]byte // version, 24-bit type, 4 bytes of locale
		if e-o < 8 {
			return true
		}
		if _, err := f.ReadAt(h[:], o); err != nil {
			return false
		}
		return visit(binary.BigEndian.Uint32(h[:4])&0xFFFFFF, o+8, e)
	})
}

// mp4Text reads an item's text values (joined when repeated).
func mp4Text(f io.ReaderAt, off, end int64) string {
	var vs fieldValues
	mp4Values(f, off, end, func(class uint32, o, e int64) bool {
		if e-o > maxTagText || (class != 0 && class != 1 && class != 2) {
			return true
		}
		b := make([]byte, e-o)
		if _, err := f.ReadAt(b, o); err != nil {
			return false
		}
		if class == 2 {
			vs.add(decodeUTF16(b, true))
		} else {
			vs.add(decodeLegacy(b))
		}
		return true
	})
	return vs.String()
}

// mp4Title reads ©nam and ©ART (aART, the album artist, when there is no
// track artist).
func mp4Title(f io.ReaderAt, start, size int64) (artist, title string) {
	off, end, ok := mp4ItemList(f, start, size)
	if !ok {
		return "", ""
	}
	var albumArtist string
	mp4Boxes(f, off, end, func(typ string, o, e int64) bool {
		switch typ {
		case "\xa9nam":
			title = mp4Text(f, o, e)
		case "\xa9ART":
			artist = mp4Text(f, o, e)
		case "aART":
			albumArtist = mp4Text(f, o, e)
		}
		return true
	})
	if artist == "" {
		artist = albumArtist
	}
	return artist, title
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
// CP1251 if it looks Cyrillic, else Latin-1 read as browsers read it, as
// Windows-1252 (whose 0x80-0x9F are the quotes, dashes and € that Windows
// tools wrote; in ISO Latin-1 they are control characters).
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

// decodeLatin1 decodes Windows-1252: Latin-1 with printable 0x80-0x9F.
func decodeLatin1(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) * 2)
	for _, c := range b {
		if c >= 0x80 && c < 0xA0 {
			sb.WriteRune(cp1252C1[c-0x80])
		} else {
			sb.WriteRune(rune(c))
		}
	}
	return sb.String()
}

// cp1252C1 is Windows-1252 at 0x80-0x9F; its five unassigned bytes stay the
// control characters Latin-1 has there (as the WHATWG Encoding Standard
// decodes them).
var cp1252C1 = [32]rune{
	'€', 0x81, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0x8D, 'Ž', 0x8F,
	0x90, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0x9D, 'ž', 'Ÿ',
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
