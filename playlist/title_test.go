package playlist

import (
	"encoding/base64"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

func TestReadTitleCorpus(t *testing.T) {
	dir, m := testmedia.Corpus(t)
	n := 0
	for _, f := range m.Files {
		if f.ExpectedDisplayTitle == "" {
			continue // support files (README, scripts)
		}
		n++
		t.Run(f.Path, func(t *testing.T) {
			got := ReadTitle(filepath.Join(dir, filepath.FromSlash(f.Path)))
			if got.Display != f.ExpectedDisplayTitle {
				t.Errorf("Display = %q, want %q", got.Display, f.ExpectedDisplayTitle)
			}
		})
	}
	if n < 20 {
		t.Fatalf("only %d corpus files with titles; manifest changed?", n)
	}
}

// ---- fixture builders beyond testmedia ----

func be32(n int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(n)) }

func syncsafe4(n int) []byte {
	return []byte{byte(n >> 21 & 0x7f), byte(n >> 14 & 0x7f), byte(n >> 7 & 0x7f), byte(n & 0x7f)}
}

// frame23 is an ID3v2.3 frame (plain 32-bit size).
func frame23(id string, data []byte) []byte {
	out := append([]byte(id), be32(len(data))...)
	out = append(out, 0, 0)
	return append(out, data...)
}

// tagV2 wraps frames in an ID3v2 header of version ver with flags.
func tagV2(ver, flags byte, body []byte) []byte {
	h := append([]byte{'I', 'D', '3', ver, 0, flags}, syncsafe4(len(body))...)
	return append(h, body...)
}

// apeTag is an APEv2 tag with only a footer and the given key/value items.
func apeTag(kv ...string) []byte {
	var items []byte
	for i := 0; i+1 < len(kv); i += 2 {
		items = binary.LittleEndian.AppendUint32(items, uint32(len(kv[i+1])))
		items = binary.LittleEndian.AppendUint32(items, 0)
		items = append(items, kv[i]...)
		items = append(items, 0)
		items = append(items, kv[i+1]...)
	}
	f := []byte("APETAGEX")
	f = binary.LittleEndian.AppendUint32(f, 2000)
	f = binary.LittleEndian.AppendUint32(f, uint32(len(items)+32))
	f = binary.LittleEndian.AppendUint32(f, uint32(len(kv)/2))
	f = binary.LittleEndian.AppendUint32(f, 0)
	f = append(f, make([]byte, 8)...)
	return append(items, f...)
}

func unsynchronise(b []byte) []byte {
	var out []byte
	for _, c := range b {
		out = append(out, c)
		if c == 0xFF {
			out = append(out, 0)
		}
	}
	return out
}

func TestReadTitleFixtures(t *testing.T) {
	audio := testmedia.Frames(4)
	cp1251Kino := []byte{0xCA, 0xE8, 0xED, 0xEE}                                                  // "Кино"
	cp1251Blood := []byte{0xC3, 0xF0, 0xF3, 0xEF, 0xEF, 0xE0, 0x20, 0xEA, 0xF0, 0xEE, 0xE2, 0xE8} // "Группа крови"
	oddUTF16 := frame23("TIT2", []byte{1, 0xFF, 0xFE, 'A', 0, 'B'})                               // 3 bytes after the BOM

	cases := []struct {
		name, file string
		parts      [][]byte
		artist     string
		title      string
		display    string
	}{
		{"id3v2 both", "x.mp3", [][]byte{testmedia.ID3v2("Artist", "Song", 32), audio}, "Artist", "Song", "Artist - Song"},
		{"id3v2 title only", "x.mp3", [][]byte{testmedia.ID3v2("", "Song", 0), audio}, "", "Song", "Song"},
		{"id3v2 artist only falls through to id3v1", "x.mp3",
			[][]byte{testmedia.ID3v2("Lonely", "", 8), audio, testmedia.ID3v1("V1 Artist", "V1 Title")}, "V1 Artist", "V1 Title", "V1 Artist - V1 Title"},
		{"empty id3v2 does not hide id3v1", "x.mp3",
			[][]byte{testmedia.ID3v2("", "", 64), audio, testmedia.ID3v1("Old", "School")}, "Old", "School", "Old - School"},
		{"id3v1 latin-1", "x.mp3", [][]byte{audio, testmedia.ID3v1("Zo\xeb", "Caf\xe9 Ol\xe9")}, "Zoë", "Café Olé", "Zoë - Café Olé"},
		{"id3v1 cp1251", "x.mp3", [][]byte{audio, testmedia.ID3v1(string(cp1251Kino), string(cp1251Blood))}, "Кино", "Группа крови", "Кино - Группа крови"},
		{"id3v1 utf-8", "x.mp3", [][]byte{audio, testmedia.ID3v1("Zoë", "日本")}, "Zoë", "日本", "Zoë - 日本"},
		{"id3v1 junk after NUL", "x.mp3", [][]byte{audio, testmedia.ID3v1("A\x00junk", "T  \x00zzz")}, "A", "T", "A - T"},
		{"apev2 with header", "x.mp3", [][]byte{audio, testmedia.APEv2("Ape Title")}, "", "Ape Title", "Ape Title"},
		{"apev2 before id3v1 wins over it", "x.mp3",
			[][]byte{audio, testmedia.APEv2("Ape"), testmedia.ID3v1("V1", "Other")}, "", "Ape", "Ape"},
		{"apev2 footer only, keys in any case", "x.mp3",
			[][]byte{audio, apeTag("ARTIST", "Ape Artist", "Album", "ignored", "title", "Ape Song")}, "Ape Artist", "Ape Song", "Ape Artist - Ape Song"},
		{"apev2 multi-value", "x.mp3", [][]byte{audio, apeTag("Artist", "A\x00B", "Title", "T")}, "A, B", "T", "A, B - T"},
		{"id3v2 beats apev2", "x.mp3", [][]byte{testmedia.ID3v2("Front", "Tag", 0), audio, apeTag("Title", "Back")}, "Front", "Tag", "Front - Tag"},
		{"odd utf-16 falls back to id3v1", "x.mp3",
			[][]byte{tagV2(3, 0, oddUTF16), audio, testmedia.ID3v1("Safe", "Fallback")}, "Safe", "Fallback", "Safe - Fallback"},
		{"odd utf-16 alone falls back to file name", "Broken Tag.mp3", [][]byte{tagV2(3, 0, oddUTF16), audio}, "", "", "Broken Tag"},
		{"id3v2.3 latin-1 that is cp1251", "x.mp3",
			[][]byte{tagV2(3, 0, append(frame23("TPE1", append([]byte{0}, cp1251Kino...)), frame23("TIT2", append([]byte{0}, cp1251Blood...))...)), audio},
			"Кино", "Группа крови", "Кино - Группа крови"},
		{"id3v2.3 utf-16 with accents stays", "x.mp3",
			[][]byte{tagV2(3, 0, frame23("TIT2", []byte{1, 0xFF, 0xFE, 'Z', 0, 'o', 0, 0xEB, 0})), audio}, "", "Zoë", "Zoë"},
		{"newlines collapsed, spaces and NULs trimmed", "x.mp3",
			[][]byte{testmedia.ID3v2("  Multi\r\nLine  ", "One\n\n  Two\x00", 0), audio}, "Multi Line", "One Two", "Multi Line - One Two"},
		{"unsynchronised id3v2.3", "x.mp3",
			[][]byte{tagV2(3, 0x80, unsynchronise(frame23("TIT2", []byte{0, 0xFF, 'e', 's'}))), audio}, "", "ÿes", "ÿes"},
		{"id3v2.3 extended header", "x.mp3",
			[][]byte{tagV2(3, 0x40, append(append(be32(6), make([]byte, 6)...), frame23("TIT2", []byte{3, 'E', 'x', 't'})...)), audio}, "", "Ext", "Ext"},
		// Padded: dhowden/tag stops 10 bytes before the declared end, which
		// only a short last v2.2 frame can fall into.
		{"id3v2.2", "x.mp3",
			[][]byte{tagV2(2, 0, append([]byte{'T', 'T', '2', 0, 0, 4, 0, 'O', 'l', 'd', 'T', 'P', '1', 0, 0, 3, 0, 'V', '2'}, make([]byte, 16)...)), audio}, "V2", "Old", "V2 - Old"},
		{"no tags, upper-case extension", "LOUD NAME.MP3", [][]byte{audio}, "", "", "LOUD NAME"},
		{"no tags, wav", "pcm tone.Wav", [][]byte{testmedia.WAV(0.01, 8000, 1, 16)}, "", "", "pcm tone"},
		{"no tags, NFD name kept", "Cafe\u0301 Ole\u0301.mp3", [][]byte{audio}, "", "", "Cafe\u0301 Ole\u0301"},
		{"dots in name", "Vol. 2 - Intro.mp3", [][]byte{audio}, "", "", "Vol. 2 - Intro"},
		{"tiny file", "tiny.mp3", [][]byte{[]byte("ID3")}, "", "", "tiny"},
		{"empty file", "empty.mp3", nil, "", "", "empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := testmedia.WriteFile(t, t.TempDir(), c.file, c.parts...)
			got := ReadTitle(path)
			want := Title{Artist: c.artist, Title: c.title, Display: c.display}
			if got != want {
				t.Fatalf("got %+q\nwant %+q", got, want)
			}
		})
	}
}

func TestReadTitleMissingFile(t *testing.T) {
	got := ReadTitle(filepath.Join(t.TempDir(), "gone away.mp3"))
	if got.Display != "gone away" || got.Title != "" {
		t.Fatalf("got %+q", got)
	}
}

func TestReadTitleInvalidUTF8FileName(t *testing.T) {
	dir := t.TempDir()
	name := "\xcf\xf0\xe8\xe2\xe5\xf2.mp3" // "Привет" in CP1251, as copied from old Windows disks
	path := testmedia.WriteFile(t, dir, name, testmedia.Frames(1))
	if got := ReadTitle(path).Display; got != "Привет" {
		t.Fatalf("Display = %q", got)
	}
}

// allocBytes returns the bytes allocated by f.
func allocBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A corrupt tag that claims far more than the file holds must not make
// ReadTitle allocate that much. dhowden/tag alone allocates each frame up
// front (up to 10 MB: the 9 MB cases allocate ~9.4 MB without id3v2Fits).
func TestReadTitleHugeSizesDoNotAllocate(t *testing.T) {
	huge := func(frameSize []byte, flags ...byte) []byte {
		fl := []byte{0, 0}
		copy(fl, flags)
		body := append([]byte("TIT2"), frameSize...)
		body = append(body, fl...)
		body = append(body, 3, 'x')
		h := append([]byte("ID3\x04\x00\x00"), 0x7f, 0x7f, 0x7f, 0x7f) // 256 MB tag
		return append(h, body...)
	}
	cases := map[string][]byte{
		"9 MB frame":             huge(syncsafe4(9 << 20)),
		"100 MB frame":           huge(syncsafe4(100 << 20)),
		"9 MB data length":       huge(syncsafe4(8), 0, 0x01),
		"v2.3 2 GB frame":        tagV2(3, 0, append([]byte("TIT2\x7f\xff\xff\xff\x00\x00"), 3, 'x')),
		"ape 100 MB tag":         apeTagWithSize(100 << 20),
		"ape 100 MB item length": apeItemWithLength(100 << 20),
	}
	// The data-length case needs its 4 length bytes after the flags.
	dl := cases["9 MB data length"]
	cases["9 MB data length"] = append(dl[:len(dl)-2], append(syncsafe4(9<<20), 3, 'x')...)

	for name, tagBytes := range cases {
		t.Run(name, func(t *testing.T) {
			path := testmedia.WriteFile(t, t.TempDir(), "big.mp3", tagBytes, testmedia.Frames(10), testmedia.ID3v1("Still", "Here"))
			var got Title
			n := allocBytes(func() { got = ReadTitle(path) })
			if n > 1<<20 {
				t.Errorf("ReadTitle allocated %d bytes", n)
			}
			if got.Display != "Still - Here" {
				t.Errorf("Display = %q, want the ID3v1 fallback", got.Display)
			}
		})
	}
}

func apeTagWithSize(size uint32) []byte {
	f := []byte("APETAGEX")
	f = binary.LittleEndian.AppendUint32(f, 2000)
	f = binary.LittleEndian.AppendUint32(f, size)
	f = binary.LittleEndian.AppendUint32(f, 1)
	f = binary.LittleEndian.AppendUint32(f, 0)
	return append(f, make([]byte, 8)...)
}

func apeItemWithLength(vlen uint32) []byte {
	t := apeTag("Title", "x")
	binary.LittleEndian.PutUint32(t[0:], vlen)
	return t
}

func TestCP1251Table(t *testing.T) {
	for b, want := range map[byte]rune{0x80: 'Ђ', 0x98: '\uFFFD', 0xA8: 'Ё', 0xB8: 'ё', 0xB9: '№', 0xC0: 'А', 0xDF: 'Я', 0xE0: 'а', 0xFF: 'я'} {
		if got := []rune(decodeCP1251([]byte{b}))[0]; got != want {
			t.Errorf("0x%02X → %q, want %q", b, got, want)
		}
	}
	if got := decodeCP1251([]byte("abc")); got != "abc" {
		t.Errorf("ASCII changed: %q", got)
	}
}

func TestLooksCP1251(t *testing.T) {
	for in, want := range map[string]bool{
		"\xcf\xf0\xe8\xe2\xe5\xf2":      true,  // Привет
		"DJ \xd1\xec\xfd\xf8":           true,  // DJ Смэш
		"Caf\xe9 Ol\xe9":                false, // Café Olé
		"M\xfcller":                     false, // Müller
		"\xc5ngstr\xf6m":                false, // Ångström
		"plain ascii":                   false,
		"\xa9 \xae \xb0 \xb1 \xb2 \xe9": false, // symbols, one letter
	} {
		if got := looksCP1251([]byte(in)); got != want {
			t.Errorf("looksCP1251(%q) = %v, want %v", in, got, want)
		}
	}
}

func FuzzReadTitle(f *testing.F) {
	audio := testmedia.Frames(2)
	f.Add(append(testmedia.ID3v2("A", "T", 4), audio...))
	f.Add(append(audio, testmedia.APEv2("Ape")...))
	f.Add(append(audio, testmedia.ID3v1("A", "T")...))
	f.Add(tagV2(3, 0x80, unsynchronise(frame23("TIT2", []byte{0, 0xFF, 'e'}))))
	f.Add(tagV2(3, 0x40, be32(0x7fffffff)))
	f.Add(apeItemWithLength(1 << 30))
	f.Add(flacFile(flacBlock(flacVorbisComment, true, vorbisComment("v", "TITLE=T", "ARTIST=A"))))
	f.Add(append(testmedia.ID3v2("A", "", 0), flacFile(flacBlock(flacPicture, false, pictureBlock(3, "image/png", "", []byte("\x89PNG"))), flacBlock(flacVorbisComment, true, vorbisComment("v", "TITLE=T")))...))
	f.Add(oggFile(1, 64, append([]byte("\x01vorbis"), make([]byte, 23)...), append([]byte("\x03vorbis"), vorbisComment("v", "TITLE="+strings.Repeat("t", 100))...), []byte{1}))
	f.Add(oggFile(1, 4096, []byte("\x7fFLAC\x01\x00\x00\x01fLaC"), flacBlock(flacVorbisComment, true, vorbisComment("v", "TITLE=T"))))
	f.Add(m4aFile(mp4Box("\xa9nam", mp4Data(1, []byte("T"))), mp4Box("\xa9ART", mp4Data(2, []byte{0, 'A'}))))
	f.Add(wavWith(slices.Concat(infoList("INAM", "T", "IART", "A"), riffChunk("id3 ", testmedia.ID3v2("A", "T", 0)))))
	f.Add(rf64(binary.LittleEndian.AppendUint64(nil, 160), infoList("INAM", "T")))
	f.Add(aiffWith(riffChunkBE("NAME", []byte("T")), riffChunkBE("ID3 ", testmedia.ID3v2("A", "T", 0))))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.mp3")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got := ReadTitle(path)
		if !utf8.ValidString(got.Display) || got.Display == "" || strings.ContainsAny(got.Display, "\r\n\x00") {
			t.Fatalf("bad display %q", got.Display)
		}
	})
}

// ---- container fixture builders ----

func le32(n int) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(n)) }

// vorbisComment is a Vorbis comment header without framing bit: vendor,
// count, length-prefixed comments.
func vorbisComment(vendor string, comments ...string) []byte {
	b := append(le32(len(vendor)), vendor...)
	b = append(b, le32(len(comments))...)
	for _, c := range comments {
		b = append(append(b, le32(len(c))...), c...)
	}
	return b
}

// flacBlock is a metadata block of type typ; last marks the final one.
func flacBlock(typ byte, last bool, data []byte) []byte {
	if last {
		typ |= 0x80
	}
	return append([]byte{typ, byte(len(data) >> 16), byte(len(data) >> 8), byte(len(data))}, data...)
}

// flacFile is "fLaC", a STREAMINFO block, then blocks (the last one must be
// marked by the caller), then a few bytes standing for audio frames.
func flacFile(blocks ...[]byte) []byte {
	out := append([]byte("fLaC"), flacBlock(0, len(blocks) == 0, make([]byte, 34))...)
	for _, b := range blocks {
		out = append(out, b...)
	}
	return append(out, 0xFF, 0xF8, 0, 0)
}

// pictureBlock is the body of a FLAC PICTURE block.
func pictureBlock(typ int, mime, desc string, data []byte) []byte {
	b := be32(typ)
	b = append(append(b, be32(len(mime))...), mime...)
	b = append(append(b, be32(len(desc))...), desc...)
	b = append(b, make([]byte, 16)...) // width, height, depth, colours
	return append(append(b, be32(len(data))...), data...)
}

// oggCRC is the Ogg page checksum (CRC-32, polynomial 0x04C11DB7, not
// reflected, initial value 0).
func oggCRC(b []byte) uint32 {
	var crc uint32
	for _, c := range b {
		crc ^= uint32(c) << 24
		for range 8 {
			if crc&0x80000000 != 0 {
				crc = crc<<1 ^ 0x04C11DB7
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// oggFile lays packets out as one logical stream: the first alone on the
// first page (as the codecs require), the others on pages of at most
// pageBody bytes, packets spanning pages where they must.
func oggFile(serial uint32, pageBody int, packets ...[]byte) []byte {
	var out []byte
	seq := uint32(0)
	page := func(flags byte, lacing, body []byte) {
		h := []byte("OggS\x00")
		h = append(h, flags)
		h = append(h, make([]byte, 8)...) // granule position
		h = binary.LittleEndian.AppendUint32(h, serial)
		h = binary.LittleEndian.AppendUint32(h, seq)
		h = append(h, 0, 0, 0, 0, byte(len(lacing)))
		p := append(append(h, lacing...), body...)
		binary.LittleEndian.PutUint32(p[22:], oggCRC(p))
		out = append(out, p...)
		seq++
	}
	type segment struct {
		lace byte
		data []byte
	}
	laced := func(pk []byte) []segment {
		var s []segment
		for len(pk) >= 255 {
			s = append(s, segment{255, pk[:255]})
			pk = pk[255:]
		}
		return append(s, segment{byte(len(pk)), pk})
	}
	flags := byte(0x02) // beginning of stream
	var segs []segment
	for i, pk := range packets {
		segs = append(segs, laced(pk)...)
		if i > 0 && i < len(packets)-1 {
			continue
		}
		continued := false
		for len(segs) > 0 {
			var lacing, body []byte
			for len(segs) > 0 && len(lacing) < 255 && len(body)+len(segs[0].data) <= max(pageBody, 255) {
				lacing = append(lacing, segs[0].lace)
				body = append(body, segs[0].data...)
				segs = segs[1:]
			}
			f := flags
			if continued {
				f |= 0x01
			}
			if i == len(packets)-1 && len(segs) == 0 && i > 0 {
				f |= 0x04 // end of stream
			}
			page(f, lacing, body)
			flags, continued = 0, lacing[len(lacing)-1] == 255
		}
	}
	return out
}

// oggPages splits an Ogg file into its pages.
func oggPages(b []byte) [][]byte {
	var pages [][]byte
	for len(b) >= 27 {
		n := 27 + int(b[26])
		for _, l := range b[27:n] {
			n += int(l)
		}
		pages, b = append(pages, b[:n]), b[n:]
	}
	return pages
}

// mp4Box is an ISO BMFF box.
func mp4Box(typ string, children ...[]byte) []byte {
	var body []byte
	for _, c := range children {
		body = append(body, c...)
	}
	return append(append(be32(8+len(body)), typ...), body...)
}

// mp4Data is a "data" box of well-known type class.
func mp4Data(class int, value []byte) []byte {
	return mp4Box("data", be32(class), []byte{0, 0, 0, 0}, value)
}

// m4aFile is an M4A with the given ilst items, laid out as ffmpeg does
// (mdat before moov).
func m4aFile(items ...[]byte) []byte {
	meta := mp4Box("meta", []byte{0, 0, 0, 0}, mp4Box("hdlr", make([]byte, 25)), mp4Box("ilst", items...))
	return append(append(mp4Box("ftyp", []byte("M4A \x00\x00\x02\x00isomiso2")), mp4Box("mdat", make([]byte, 64))...),
		mp4Box("moov", mp4Box("mvhd", make([]byte, 100)), mp4Box("udta", meta))...)
}

// ffmpegAudio writes a short tone encoded by ffmpeg with args (codec,
// metadata, ...) to dir/name and returns its path.
func ffmpegAudio(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	bin := testmedia.RequireTool(t, "ffmpeg")
	out := filepath.Join(dir, name)
	cmd := exec.Command(bin, append(append([]string{"-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=0.3"}, args...), out)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, b)
	}
	return out
}

// ---- titles from other formats ----

// The formats stations play through ffmpeg, tagged by ffmpeg itself.
func TestReadTitleFormatsFromFFmpeg(t *testing.T) {
	const title, artist = "Привет, 世界 🎉", "Зоя & 月光乐队"
	meta := []string{"-metadata", "title=" + title, "-metadata", "artist=" + artist}
	cases := []struct {
		name   string
		file   string
		args   []string
		artist string
	}{
		{"flac", "t.flac", nil, artist},
		{"ogg vorbis", "t.ogg", []string{"-c:a", "libvorbis"}, artist},
		{"ogg opus", "t.opus", []string{"-c:a", "libopus"}, artist},
		{"ogg speex", "t.spx", []string{"-ar", "16000", "-c:a", "libspeex"}, artist},
		{"ogg flac", "t.oga", []string{"-c:a", "flac"}, artist},
		{"m4a aac", "t.m4a", []string{"-c:a", "aac"}, artist},
		{"m4a alac", "t.m4a", []string{"-c:a", "alac"}, artist},
		{"wav INFO", "t.wav", nil, artist},
		{"rf64 INFO", "t.wav", []string{"-rf64", "always"}, artist},
		{"aiff NAME (ffmpeg writes no AUTH)", "t.aiff", nil, ""},
		{"aiff ID3 chunk", "t.aiff", []string{"-write_id3v2", "1"}, artist},
		{"mp3", "t.mp3", nil, artist},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path := ffmpegAudio(t, t.TempDir(), c.file, append(slices.Clone(c.args), meta...)...)
			got := ReadTitle(path)
			want := Title{Artist: c.artist, Title: title, Display: title}
			if c.artist != "" {
				want.Display = c.artist + " - " + title
			}
			if got != want {
				t.Fatalf("got %+q\nwant %+q", got, want)
			}
		})
	}
}

// A file ffmpeg wrote without tags keeps its name (the Vorbis comment and
// the MP4 item list hold only the encoder).
func TestReadTitleUntaggedFromFFmpeg(t *testing.T) {
	for _, file := range []string{"Plain Name.flac", "Plain Name.ogg", "Plain Name.m4a", "Plain Name.wav"} {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			path := ffmpegAudio(t, t.TempDir(), file)
			if got := ReadTitle(path); got != (Title{Display: "Plain Name"}) {
				t.Fatalf("got %+q", got)
			}
		})
	}
}

func TestReadTitleVorbisComments(t *testing.T) {
	cases := []struct {
		name     string
		comments []string
		artist   string
		title    string
	}{
		{"names in any case", []string{"title=Song", "Artist=Band"}, "Band", "Song"},
		{"repeated artists joined, duplicates dropped", []string{"ARTIST=A", "TITLE=T", "ARTIST=B", "ARTIST= A "}, "A, B", "T"},
		{"comment without = skipped", []string{"garbage", "TITLE=Kept"}, "", "Kept"},
		{"empty name skipped", []string{"=x", "TITLE=Kept"}, "", "Kept"},
		{"value may hold =", []string{"TITLE=a=b"}, "", "a=b"},
		{"names are ASCII (ı upper-cases to I)", []string{"tıtle=Fake"}, "", ""},
		{"invalid UTF-8 read as CP1251", []string{"TITLE=\xcf\xf0\xe8\xe2\xe5\xf2"}, "", "Привет"},
		{"invalid UTF-8 read as Windows-1252", []string{"TITLE=Don\x92t Stop"}, "", "Don’t Stop"},
		{"multi-line title on one line", []string{"TITLE=One\r\nTwo"}, "", "One Two"},
		{"artist alone is no title", []string{"ARTIST=Lonely"}, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vc := vorbisComment("test vendor", c.comments...)
			want := Title{Artist: c.artist, Title: c.title, Display: c.title}
			if c.artist != "" {
				want.Display = c.artist + " - " + c.title
			}
			if c.title == "" {
				want = Title{Display: "x"}
			}
			files := map[string][]byte{
				"flac": flacFile(flacBlock(flacVorbisComment, true, vc)),
				"ogg":  oggFile(7, 4096, append([]byte("\x01vorbis"), make([]byte, 23)...), append([]byte("\x03vorbis"), append(vc, 1)...), []byte{0x05}),
			}
			for kind, data := range files {
				path := testmedia.WriteFile(t, t.TempDir(), "x."+kind, data)
				if got := ReadTitle(path); got != want {
					t.Errorf("%s: got %+q\nwant %+q", kind, got, want)
				}
			}
		})
	}
}

// Titles are read past pictures without reading them, and the first stream
// of a multiplexed or chained Ogg file is the one that counts.
func TestReadTitleLayouts(t *testing.T) {
	png := testPNG(t, 8)
	bigPicture := "METADATA_BLOCK_PICTURE=" + base64.StdEncoding.EncodeToString(pictureBlock(3, "image/png", "", append(png, make([]byte, 300<<10)...)))
	opusHead := append([]byte("OpusHead"), 1, 2, 0, 0, 0x80, 0xBB, 0, 0, 0, 0, 0)
	opusTags := func(c ...string) []byte { return append([]byte("OpusTags"), vorbisComment("v", c...)...) }
	other := oggFile(99, 4096, append([]byte("\x80theora"), make([]byte, 34)...), []byte("\x81theora junk"))
	audio := oggFile(7, 4096, opusHead, opusTags("TITLE=Audio"), []byte{1})

	cases := []struct {
		name, file string
		data       []byte
		display    string
	}{
		{"flac: picture block before the comment", "x.flac",
			flacFile(flacBlock(flacPicture, false, pictureBlock(3, "image/png", "", png)), flacBlock(flacVorbisComment, true, vorbisComment("v", "TITLE=After Picture"))), "After Picture"},
		{"flac: id3v2 in front, vorbis comment wins", "x.flac",
			append(testmedia.ID3v2("Old", "From ID3", 16), flacFile(flacBlock(flacVorbisComment, true, vorbisComment("v", "TITLE=From Vorbis")))...), "From Vorbis"},
		{"flac: id3v2 in front, used when the comment has no title", "x.flac",
			append(testmedia.ID3v2("Old", "From ID3", 16), flacFile(flacBlock(flacVorbisComment, true, vorbisComment("Lavf")))...), "Old - From ID3"},
		{"flac: no comment block, trailing id3v1", "x.flac",
			append(flacFile(flacBlock(1, true, make([]byte, 64))), testmedia.ID3v1("V1", "Tail")...), "V1 - Tail"},
		{"opus: comment packet spans pages, picture first", "x.opus",
			oggFile(7, 4096, opusHead, opusTags(bigPicture, "ARTIST=Band", "TITLE=Long Header"), []byte{1}), "Band - Long Header"},
		{"opus: comment packet in 255-byte pages", "x.opus",
			oggFile(7, 255, opusHead, opusTags("ARTIST="+strings.Repeat("a", 600), "TITLE=Small Pages"), []byte{1}), strings.Repeat("a", 600) + " - Small Pages"},
		{"ogg: first stream is not audio", "x.ogg", append(slices.Clone(other), audio...), "x"},
		{"ogg: multiplexed, another stream's pages skipped", "x.ogg", func() []byte {
			a, o := oggPages(audio), oggPages(other)
			return slices.Concat(a[0], o[0], slices.Concat(a[1:]...), slices.Concat(o[1:]...))
		}(), "Audio"},
		{"ogg: chained, first link counts", "x.ogg",
			append(slices.Clone(audio), oggFile(8, 4096, opusHead, opusTags("TITLE=Second Link"), []byte{1})...), "Audio"},
		{"ogg: a lost page ends the packet, no bytes from the next one", "x.ogg", func() []byte {
			vorbisHead := append([]byte("\x01vorbis"), make([]byte, 23)...)
			comment := append([]byte("\x03vorbis"), vorbisComment("v", "TITLE=Kept", "ARTIST="+strings.Repeat("a", 300))...)
			setup := append([]byte("\x05vorbis"), strings.Repeat("X", 300)...)
			pages := oggPages(oggFile(7, 255, vorbisHead, comment, setup))
			return slices.Concat(pages[0], pages[1], pages[3], pages[4]) // pages[2] ended the comment
		}(), "Kept"},
		{"ogg: unknown codec", "x.ogg", oggFile(7, 4096, []byte("\x80unknown"), opusTags("TITLE=No")), "x"},
		{"ogg: comment packet with the wrong marker", "x.ogg", oggFile(7, 4096, opusHead, append([]byte("\x03vorbis"), vorbisComment("v", "TITLE=No")...)), "x"},
		{"m4a: title, artist", "x.m4a",
			m4aFile(mp4Box("\xa9nam", mp4Data(1, []byte("Track"))), mp4Box("\xa9ART", mp4Data(1, []byte("Band")))), "Band - Track"},
		{"m4a: album artist when no artist", "x.m4a",
			m4aFile(mp4Box("aART", mp4Data(1, []byte("Album Band"))), mp4Box("\xa9nam", mp4Data(1, []byte("Track")))), "Album Band - Track"},
		{"m4a: UTF-16 value", "x.m4a",
			m4aFile(mp4Box("\xa9nam", mp4Data(2, []byte{0x04, 0x1f, 0x04, 0x40, 0x04, 0x38}))), "При"},
		{"m4a: picture first, then title", "x.m4a",
			m4aFile(mp4Box("covr", mp4Data(14, png)), mp4Box("\xa9nam", mp4Data(1, []byte("After Cover")))), "After Cover"},
		{"m4a: QuickTime meta without version", "x.m4a",
			append(mp4Box("ftyp", []byte("M4A \x00\x00\x02\x00")), mp4Box("moov", mp4Box("meta", mp4Box("hdlr", make([]byte, 25)), mp4Box("ilst", mp4Box("\xa9nam", mp4Data(1, []byte("QT"))))))...), "QT"},
		{"m4a: 64-bit mdat size", "x.m4a",
			append(append(mp4Box("ftyp", []byte("M4A ")), append(append(be32(1), "mdat"...), binary.BigEndian.AppendUint64(nil, 16+8)...)...),
				append(make([]byte, 8), mp4Box("moov", mp4Box("udta", mp4Box("meta", []byte{0, 0, 0, 0}, mp4Box("ilst", mp4Box("\xa9nam", mp4Data(1, []byte("Large")))))))...)...), "Large"},
		{"m4a: no item list", "x.m4a", append(mp4Box("ftyp", []byte("M4A ")), mp4Box("moov", mp4Box("mvhd", make([]byte, 100)))...), "x"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := testmedia.WriteFile(t, t.TempDir(), c.file, c.data)
			if got := ReadTitle(path).Display; got != c.display {
				t.Fatalf("Display = %q, want %q", got, c.display)
			}
		})
	}
}

// Sizes a broken or hostile file claims, in every format, are neither
// allocated nor trusted: the read falls through to the ID3v1 tag at the end.
func TestReadTitleHostileContainersDoNotAllocate(t *testing.T) {
	huge := be32(0x7FFFFFF0)
	vorbis := func(b []byte) []byte { return append([]byte("\x03vorbis"), b...) }
	vorbisHead := append([]byte("\x01vorbis"), make([]byte, 23)...)
	riff := func(chunks ...[]byte) []byte {
		wav := testmedia.WAV(0.01, 8000, 1, 16)
		out := slices.Concat(wav[:36], slices.Concat(chunks...), wav[36:])
		binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
		return out
	}
	cases := map[string][]byte{
		"flac block longer than file": flacFile(append([]byte{0x84, 0xFF, 0xFF, 0xFF}, vorbisComment("v", "TITLE=x")...)),
		"flac vendor 2 GB":            flacFile(flacBlock(flacVorbisComment, true, append(huge, "v"...))),
		"flac comment count 2 G":      flacFile(flacBlock(flacVorbisComment, true, append(append(le32(0), huge...), le32(1)...))),
		"flac comment 9 MB":           flacFile(flacBlock(flacVorbisComment, true, append(append(le32(0), le32(1)...), append(le32(9<<20), "TITLE=x"...)...))),
		"flac title 60 kB":            flacFile(flacBlock(flacVorbisComment, true, append(append(le32(0), le32(1)...), append(le32(60<<10), "TITLE=x"...)...))),
		"ogg comment 2 GB":            oggFile(1, 4096, vorbisHead, vorbis(append(append(le32(0), le32(1)...), append(huge, "TITLE=x"...)...))),
		"ogg title 60 kB":             oggFile(1, 4096, vorbisHead, vorbis(append(append(le32(0), le32(1)...), append(le32(60<<10), "TITLE=x"...)...))),
		"ogg page cut short":          oggFile(1, 4096, vorbisHead, vorbis(vorbisComment("v", "TITLE="+strings.Repeat("x", 3000))))[:200],
		"mp4 moov 2 GB":               append(mp4Box("ftyp", []byte("M4A ")), append(huge, "moov"...)...),
		"mp4 item 2^62":               m4aFile(append(append(be32(1), "\xa9nam"...), binary.BigEndian.AppendUint64(nil, 1<<62)...)),
		"mp4 data 2 GB":               m4aFile(mp4Box("\xa9nam", append(append(huge, "data"...), make([]byte, 8)...))),
		"mp4 box size 3":              m4aFile(append(be32(3), "\xa9nam"...)),
		"wav LIST 2 GB":               riff(append([]byte("LIST"), append(le32(0x7FFFFFF0), "INFOINAM"...)...)),
		"wav INAM 2 GB":               riff(append([]byte("LIST"), append(le32(12), append([]byte("INFOINAM"), le32(0x7FFFFFF0)...)...)...)),
		"wav id3 chunk 2 GB":          riff(append([]byte("id3 "), append(le32(0x7FFFFFF0), "ID3\x04\x00\x00\x7f\x7f\x7f\x7f"...)...)),
		"rf64 ds64 2^64-1":            rf64(binary.LittleEndian.AppendUint64(nil, 1<<64-1), append([]byte("LIST"), le32(12)...)),
		"aiff NAME 2 GB":              append([]byte("FORM\x00\x00\x00\x00AIFFNAME"), huge...),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			path := testmedia.WriteFile(t, t.TempDir(), "hostile.bin", data, testmedia.ID3v1("Still", "Here"))
			var got Title
			n := allocBytes(func() { got = ReadTitle(path) })
			if n > 256<<10 {
				t.Errorf("ReadTitle allocated %d bytes", n)
			}
			if got.Display != "Still - Here" {
				t.Errorf("Display = %q, want the ID3v1 fallback", got.Display)
			}
		})
	}
}

// rf64 is an RF64 WAV whose ds64 chunk gives dataSize as the data chunk's
// size and whose data chunk (declared 0xFFFFFFFF) is followed by after.
func rf64(dataSize []byte, after ...[]byte) []byte {
	wav := testmedia.WAV(0.01, 8000, 1, 16)
	ds64 := slices.Concat(make([]byte, 8), dataSize, make([]byte, 8), le32(0))
	out := slices.Concat([]byte("RF64\xff\xff\xff\xffWAVEds64"), le32(len(ds64)), ds64, wav[12:36], []byte("data\xff\xff\xff\xff"), wav[44:])
	return append(out, slices.Concat(after...)...)
}

func BenchmarkReadTitleFormats(b *testing.B) {
	vc := vorbisComment("Lavf", "ARTIST=Artist", "TITLE=Title", "ENCODER=Lavf")
	files := map[string][]byte{
		"flac": flacFile(flacBlock(flacVorbisComment, false, vc), flacBlock(1, true, make([]byte, 8192))),
		"ogg":  oggFile(1, 4096, append([]byte("\x01vorbis"), make([]byte, 23)...), append([]byte("\x03vorbis"), append(vc, 1)...), make([]byte, 3000)),
		"m4a":  m4aFile(mp4Box("\xa9nam", mp4Data(1, []byte("Title"))), mp4Box("\xa9ART", mp4Data(1, []byte("Artist")))),
		"wav":  wavWith(infoList("IART", "Artist", "INAM", "Title")),
	}
	for name, data := range files {
		b.Run(name, func(b *testing.B) {
			path := testmedia.WriteFile(b, b.TempDir(), "t."+name, data, make([]byte, 64<<10))
			b.ReportAllocs()
			for b.Loop() {
				if ReadTitle(path).Display != "Artist - Title" {
					b.Fatal("wrong title")
				}
			}
		})
	}
}
