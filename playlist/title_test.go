package playlist

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
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
