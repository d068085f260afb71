package playlist

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"io"
)

// MaxArtBytes is the largest picture ReadArt returns; a larger one is
// skipped as if it were not there.
const MaxArtBytes = 8 << 20

// Art is a track's embedded cover picture.
type Art struct {
	// MIME is the picture's type as its first bytes show it (a tag's own
	// claim is not trusted): "image/jpeg", "image/png", "image/gif" or
	// "image/webp".
	MIME string
	// Data is the picture file, 1 to MaxArtBytes bytes.
	Data []byte
	// Hash is 32 lowercase hex digits, the first 128 bits of Data's
	// SHA-256. The same picture has the same Hash in every file, so it can
	// name the picture in a URL and serve (quoted) as its HTTP ETag.
	Hash string
}

// ReadArt reads the picture embedded in the file at path, meant as its
// cover, and reports whether there is one. Like ReadTitle it goes by the
// file's bytes, not its name, and tries the format's own tags first:
//
//   - FLAC: PICTURE blocks, and METADATA_BLOCK_PICTURE comments in the
//     Vorbis comment block, in file order.
//   - Ogg (Vorbis, Opus, FLAC, Speex): the first stream's
//     METADATA_BLOCK_PICTURE comments (base64 FLAC picture blocks), and the
//     older COVERART comment (a base64 image).
//   - MP4/M4A: the pictures of the covr item.
//   - WAV: APIC frames of the ID3v2 tag in an "id3 " chunk; AIFF: an
//     "ID3 " chunk.
//   - Any file, when the above found nothing (the only source for MP3):
//     APIC frames (PIC in ID3v2.2) of a leading ID3v2 tag.
//
// Within a source the first front cover (picture type 3) wins, else the
// first picture; MP4 pictures have no type, so it is the first of covr.
// A picture that is not a JPEG, PNG, GIF or WebP by its magic bytes (a BMP,
// a "-->" link), larger than MaxArtBytes, or in a compressed or encrypted
// ID3v2 frame is passed over.
//
// Nothing is cached: every call reads the file. Reads are bounded as in
// ReadTitle; a call holds at most two pictures at once (a first picture,
// then a front cover found after it) and small buffers. It never fails:
// the bool is false for a file without a usable picture, an unreadable file or
// one that is not a regular file.
func ReadArt(path string) (Art, bool) {
	f, size, ok := openRegular(path)
	if !ok {
		return Art{}, false
	}
	defer f.Close()

	start, _ := id3v2Extent(f, size)
	var p artPicker
	switch sniffContainer(f, start) {
	case flacContainer:
		flacArt(f, start, size, &p)
	case oggContainer:
		if r, ok := oggComments(f, start, size); ok {
			vorbisArt(r, size-start, &p)
		}
	case mp4Container:
		mp4Art(f, start, size, &p)
	case riffContainer:
		riffArt(f, start, size, &p)
	case aiffContainer:
		aiffArt(f, start, size, &p)
	}
	if p.data == nil {
		id3v2Art(f, size, &p)
	}
	return p.art()
}

// artPicker keeps the first front cover offered, else the first picture.
type artPicker struct {
	data  []byte
	mime  string
	front bool // data is a front cover: the search is over
}

// wants reports whether a picture, a front cover or not, would be kept.
// Callers ask before reading one.
func (p *artPicker) wants(front bool) bool { return !p.front && (p.data == nil || front) }

// offer keeps data if it is wanted, an image of an accepted type and
// within MaxArtBytes.
func (p *artPicker) offer(data []byte, front bool) {
	if !p.wants(front) || len(data) > MaxArtBytes {
		return
	}
	if mime := sniffImage(data); mime != "" {
		p.data, p.mime, p.front = data, mime, front
	}
}

func (p *artPicker) art() (Art, bool) {
	if p.data == nil {
		return Art{}, false
	}
	sum := sha256.Sum256(p.data)
	return Art{MIME: p.mime, Data: p.data, Hash: hex.EncodeToString(sum[:16])}, true
}

// sniffImage names the image type of b by its magic bytes, or "".
func sniffImage(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return "image/jpeg"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "image/gif"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "image/webp"
	}
	return ""
}

// pictureFront is the picture type of a front cover in ID3v2 and FLAC.
const pictureFront = 3

// ---- ID3v2 ----

// id3v2Art offers the APIC (PIC) frames of the ID3v2 tag at the start of f.
func id3v2Art(f io.ReaderAt, size int64, p *artPicker) {
	n, ok := id3v2Extent(f, size)
	if !ok {
		return
	}
	walkID3v2(io.NewSectionReader(f, 0, n), func(fr id3v2Frame) bool {
		pic := fr.id == "APIC" && fr.ver > 2 || fr.id == "PIC" && fr.ver == 2
		switch {
		case !pic:
		case fr.ver == 3 && fr.flags&0xC0 != 0, fr.ver == 4 && fr.flags&0x0C != 0:
			// compressed or encrypted: not an image as stored
		case fr.ver == 4 && fr.flags&0x02 != 0 && !fr.tagUnsync:
			readAPIC(&unsync{r: bufio.NewReader(fr.data)}, fr.size, false, p)
		default:
			readAPIC(fr.data, fr.size, fr.ver == 2, p)
		}
		return !p.front
	})
}

// readAPIC offers the picture of an APIC frame (or a v2.2 PIC frame) read
// from r, which holds at most size bytes: text encoding, MIME type (PIC:
// three letters), picture type, description, picture data.
func readAPIC(r io.Reader, size int64, v22 bool, p *artPicker) {
	lr := &io.LimitedReader{R: r, N: size}
	br := bufio.NewReaderSize(lr, 512)
	enc, err := br.ReadByte()
	if err != nil || enc > 3 {
		return
	}
	if v22 {
		_, err = br.Discard(3)
	} else {
		err = skipString(br, false, 256)
	}
	if err != nil {
		return
	}
	typ, err := br.ReadByte()
	if err != nil || skipString(br, enc == 1 || enc == 2, maxTagText) != nil {
		return
	}
	front := typ == pictureFront
	if !p.wants(front) {
		return
	}
	// The rest is the picture; size came from the tag and was checked
	// against the file, so this is no larger than the bytes there.
	rest := lr.N + int64(br.Buffered())
	if rest > MaxArtBytes {
		return
	}
	data := make([]byte, rest)
	n, _ := io.ReadFull(br, data) // shorter when unsynchronisation dropped bytes
	p.offer(data[:n], front)
}

// skipString consumes a NUL-terminated string of at most limit units; wide
// strings (UTF-16) end with two NULs at a unit boundary.
func skipString(r *bufio.Reader, wide bool, limit int) error {
	for range limit {
		c, err := r.ReadByte()
		if err != nil {
			return err
		}
		d := byte(0)
		if wide {
			if d, err = r.ReadByte(); err != nil {
				return err
			}
		}
		if c == 0 && d == 0 {
			return nil
		}
	}
	return io.ErrShortBuffer
}

// ---- FLAC and Vorbis comments ----

// flacArt offers the PICTURE blocks and the Vorbis comment's pictures.
func flacArt(f io.ReaderAt, start, size int64, p *artPicker) {
	flacBlocks(f, start, size, func(typ byte, off, n int64) bool {
		switch typ {
		case flacPicture:
			readPictureBlock(io.NewSectionReader(f, off, n), n, p)
		case flacVorbisComment:
			vorbisArt(bufio.NewReaderSize(io.NewSectionReader(f, off, n), 4096), n, p)
		}
		return !p.front
	})
}

// vorbisArt offers the pictures of a Vorbis comment header in r, which
// holds at most avail bytes (the rest of the file, or of its block).
func vorbisArt(r *bufio.Reader, avail int64, p *artPicker) {
	vorbisComments(r, func(name string, n int64, value io.Reader) bool {
		switch name {
		case "METADATA_BLOCK_PICTURE":
			readPictureBlock(base64.NewDecoder(base64.StdEncoding, value), min(n, avail)/4*3, p)
		case "COVERART": // a bare image of no stated type, from before METADATA_BLOCK_PICTURE
			if p.wants(false) && n <= int64(base64.StdEncoding.EncodedLen(MaxArtBytes)) {
				data, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, value))
				if err == nil {
					p.offer(data, false)
				}
			}
		}
		return !p.front
	})
}

// readPictureBlock offers the picture of a FLAC PICTURE block read from r:
// picture type, MIME type, description, four numbers on the image, then the
// data, each field or length a big-endian 32-bit number. avail is the most
// bytes r can hold, as the file's size shows: a picture length within it is
// allocated at once (a broken file can make it allocate no more than it
// holds), a longer one only as its bytes arrive.
func readPictureBlock(r io.Reader, avail int64, p *artPicker) {
	var b [4]byte
	field := func() (int64, bool) {
		_, err := io.ReadFull(r, b[:])
		return int64(binary.BigEndian.Uint32(b[:])), err == nil
	}
	skip := func(n int64) bool {
		_, err := io.CopyN(io.Discard, r, n)
		return err == nil
	}
	typ, ok := field()
	if !ok {
		return
	}
	mimeLen, ok := field()
	if !ok || mimeLen > 256 || !skip(mimeLen) {
		return
	}
	descLen, ok := field()
	if !ok || !skip(descLen) || !skip(16) {
		return
	}
	n, ok := field()
	front := typ == pictureFront
	if !ok || n > MaxArtBytes || !p.wants(front) {
		return
	}
	if data, ok := readExact(r, n, 32+mimeLen+descLen+n <= avail); ok {
		p.offer(data, front)
	}
}

// ---- MP4 ----

// mp4Art offers the pictures of the covr item, first to last.
func mp4Art(f io.ReaderAt, start, size int64, p *artPicker) {
	off, end, ok := mp4ItemList(f, start, size)
	if !ok {
		return
	}
	if cOff, cEnd, ok := mp4Child(f, off, end, "covr"); ok {
		mp4Values(f, cOff, cEnd, func(_ uint32, o, e int64) bool {
			if e-o <= MaxArtBytes {
				b := make([]byte, e-o) // within the file: mp4Boxes cut boxes to it
				if _, err := f.ReadAt(b, o); err != nil {
					return false
				}
				p.offer(b, false)
			}
			return p.wants(false)
		})
	}
}
