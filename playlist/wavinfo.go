package playlist

import (
	"bytes"
	"encoding/binary"
	"io"
)

// Tags in chunked files: WAV (RIFF, RF64, BW64; little-endian sizes) and
// AIFF (IFF; big-endian sizes). See ReadTitle for which chunks are read.

const (
	riffMaxChunks = 4096 // real files have a handful; stops a file of empty chunks
	ds64MaxTable  = 64
)

// chunks walks the chunks of a RIFF or IFF file.
type chunks struct {
	f     io.ReaderAt
	order binary.ByteOrder
	// big holds the real sizes of chunks declared as 0xFFFFFFFF, from an
	// RF64 or BW64 file's ds64 chunk; nil elsewhere.
	big map[string]int64
}

// walk calls visit with the ID and data extent of each chunk in [off, end)
// until visit returns false. Chunks are padded to even sizes, but some
// writers forget the pad byte: after an odd-sized chunk the walk goes on
// where a valid chunk ID is. It stops at the first header that is not a
// chunk (audio after a streamed "data" chunk of unknown size, garbage) and
// at a chunk that runs past end, which is not visited: its size is wrong
// or the file is cut short, and either way what follows is not its data.
func (c chunks) walk(off, end int64, visit func(id string, off, n int64) bool) {
	for range riffMaxChunks {
		if end-off < 8 {
			return
		}
		var h [8]byte
		if _, err := c.f.ReadAt(h[:], off); err != nil || !chunkID(h[:4]) {
			return
		}
		id, n := string(h[:4]), int64(c.order.Uint32(h[4:]))
		if s, ok := c.big[id]; ok && n == 0xFFFFFFFF {
			n = s
		}
		data := off + 8
		if n < 0 {
			return // a ds64 size over 2^63
		}
		if n > end-data {
			return
		}
		if !visit(id, data, n) {
			return
		}
		off = data + n
		if n%2 == 1 && (c.idAt(off+1, end) || !c.idAt(off, end)) {
			off++
		}
	}
}

// idAt reports whether a chunk header fits in [off, end) and starts with
// a valid ID.
func (c chunks) idAt(off, end int64) bool {
	if end-off < 8 {
		return false
	}
	var b [4]byte
	_, err := c.f.ReadAt(b[:], off)
	return err == nil && chunkID(b[:])
}

// chunkID reports whether b is a chunk ID: four printable ASCII characters.
func chunkID(b []byte) bool {
	for _, x := range b {
		if x < 0x20 || x > 0x7E {
			return false
		}
	}
	return true
}

// text reads a text chunk: NUL-terminated (what follows the NUL is
// padding or junk), in an unknown charset.
func (c chunks) text(off, n int64) string {
	if n > maxTagText {
		return ""
	}
	b := make([]byte, n) // n is within the file: walk checked
	if _, err := c.f.ReadAt(b, off); err != nil {
		return ""
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return clean(decodeLegacy(b))
}

// riffChunks checks the RIFF header at start and returns the walker and
// the extent of the top-level chunks. For RF64 and BW64 it reads the
// sizes the ds64 chunk gives for chunks over 4 GB.
func riffChunks(f io.ReaderAt, start, size int64) (c chunks, off, end int64) {
	c = chunks{f: f, order: binary.LittleEndian}
	var h [4]byte
	if _, err := f.ReadAt(h[:], start); err != nil || string(h[:]) == "RIFF" {
		return c, start + 12, size // the RIFF size is ignored: streaming writers leave it 0 or wrong
	}
	c.walk(start+12, size, func(id string, off, n int64) bool {
		if id != "ds64" || n < 28 {
			return false // ds64 must come first
		}
		b := make([]byte, min(n, 28+12*ds64MaxTable))
		if _, err := f.ReadAt(b, off); err != nil {
			return false
		}
		c.big = map[string]int64{"data": int64(binary.LittleEndian.Uint64(b[8:]))}
		table := b[28:]
		for range min(binary.LittleEndian.Uint32(b[24:]), ds64MaxTable) {
			if len(table) < 12 {
				break
			}
			c.big[string(table[:4])] = int64(binary.LittleEndian.Uint64(table[4:]))
			table = table[12:]
		}
		return false
	})
	return c, start + 12, size
}

// riffTitle reads an ID3v2 tag in an "id3 " chunk, then LIST/INFO.
func riffTitle(f io.ReaderAt, start, size int64) (artist, title string) {
	c, off, end := riffChunks(f, start, size)
	var id3, info [2]int64 // offset and size; size 0 when absent
	c.walk(off, end, func(id string, off, n int64) bool {
		switch id {
		case "id3 ", "ID3 ":
			if id3[1] == 0 {
				id3 = [2]int64{off, n}
			}
		case "LIST":
			var kind [4]byte
			if _, err := f.ReadAt(kind[:], off); err == nil && string(kind[:]) == "INFO" && info[1] == 0 {
				info = [2]int64{off + 4, n - 4}
			}
		}
		return true
	})
	if id3[1] > 0 {
		if a, t := readID3v2(io.NewSectionReader(f, id3[0], id3[1]), id3[1]); t != "" {
			return a, t
		}
	}
	if info[1] > 0 {
		c.walk(info[0], info[0]+info[1], func(id string, off, n int64) bool {
			switch id {
			case "INAM":
				title = c.text(off, n)
			case "IART":
				artist = c.text(off, n)
			}
			return true
		})
	}
	return artist, title
}

// riffArt offers the pictures of an "id3 " chunk.
func riffArt(f io.ReaderAt, start, size int64, p *artPicker) {
	c, off, end := riffChunks(f, start, size)
	c.walk(off, end, func(id string, off, n int64) bool {
		if id == "id3 " || id == "ID3 " {
			id3v2Art(io.NewSectionReader(f, off, n), n, p)
		}
		return !p.front
	})
}

// aiffTitle reads an "ID3 " chunk, then the NAME and AUTH chunks.
func aiffTitle(f io.ReaderAt, start, size int64) (artist, title string) {
	c := chunks{f: f, order: binary.BigEndian}
	var id3 [2]int64
	c.walk(start+12, size, func(id string, off, n int64) bool {
		switch id {
		case "ID3 ", "id3 ":
			if id3[1] == 0 {
				id3 = [2]int64{off, n}
			}
		case "NAME":
			title = c.text(off, n)
		case "AUTH":
			artist = c.text(off, n)
		}
		return true
	})
	if id3[1] > 0 {
		if a, t := readID3v2(io.NewSectionReader(f, id3[0], id3[1]), id3[1]); t != "" {
			return a, t
		}
	}
	return artist, title
}

// aiffArt offers the pictures of an "ID3 " chunk.
func aiffArt(f io.ReaderAt, start, size int64, p *artPicker) {
	c := chunks{f: f, order: binary.BigEndian}
	c.walk(start+12, size, func(id string, off, n int64) bool {
		if id == "ID3 " || id == "id3 " {
			id3v2Art(io.NewSectionReader(f, off, n), n, p)
		}
		return !p.front
	})
}
