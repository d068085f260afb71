package playlist

import (
	"encoding/binary"
	"encoding/json"
	"os/exec"
	"slices"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// riffChunk is a little-endian chunk, padded to an even size.
func riffChunk(id string, data []byte) []byte {
	out := slices.Concat([]byte(id), le32(len(data)), data)
	if len(data)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

// riffChunkBE is a big-endian (AIFF) chunk, padded to an even size.
func riffChunkBE(id string, data []byte) []byte {
	out := slices.Concat([]byte(id), be32(len(data)), data)
	if len(data)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

// infoList is a LIST/INFO chunk of NUL-terminated values: id, value, ...
func infoList(kv ...string) []byte {
	body := []byte("INFO")
	for i := 0; i+1 < len(kv); i += 2 {
		body = append(body, riffChunk(kv[i], append([]byte(kv[i+1]), 0))...)
	}
	return riffChunk("LIST", body)
}

// wavWith is a short PCM WAV with raw bytes (chunks) between its fmt and
// data chunks and after its data chunk.
func wavWith(before []byte, after ...[]byte) []byte {
	wav := testmedia.WAV(0.01, 8000, 1, 16)
	out := slices.Concat(wav[:36], before, wav[36:], slices.Concat(after...))
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out
}

// aiffWith is a short AIFF (silent, 8 kHz mono 16-bit) with chunks before
// its sound data.
func aiffWith(chunks ...[]byte) []byte {
	comm := slices.Concat([]byte{0, 1}, be32(80), []byte{0, 16, 0x40, 0x0B, 0xFA, 0, 0, 0, 0, 0, 0, 0})
	body := slices.Concat([]byte("AIFF"), riffChunkBE("COMM", comm), slices.Concat(chunks...), riffChunkBE("SSND", make([]byte, 8+160)))
	return slices.Concat([]byte("FORM"), be32(len(body)), body)
}

func TestReadTitleWAV(t *testing.T) {
	id3 := func(artist, title string) []byte { return riffChunk("id3 ", testmedia.ID3v2(artist, title, 8)) }
	badID3 := riffChunk("id3 ", tagV2(3, 0, frame23("TIT2", []byte{1, 0xFF, 0xFE, 'A', 0, 'B'}))) // odd UTF-16
	oddNoPad := slices.Concat([]byte("LIST"), le32(4+8+5+8+3), []byte("INFOINAM"), le32(5), []byte("Title"), []byte("IART"), le32(3), []byte("Art"), []byte{0})
	streamed := func(before []byte, after ...[]byte) []byte { // data size unknown, as piped writers leave it
		w := wavWith(before, after...)
		binary.LittleEndian.PutUint32(w[36+len(before)+4:], 0xFFFFFFFF) // the data chunk's size
		return w
	}
	plain := testmedia.WAV(0.01, 8000, 1, 16)
	rf64Data := binary.LittleEndian.AppendUint64(nil, uint64(len(plain)-44))

	cases := []struct {
		name    string
		data    []byte
		display string
	}{
		{"INFO in UTF-8", wavWith(infoList("IART", "Зоя 月光", "INAM", "Party 🎉")), "Зоя 月光 - Party 🎉"},
		{"INFO in Windows-1252", wavWith(infoList("IART", "Caf\xe9 Band", "INAM", "Don\x92t \x93Stop\x94")), "Café Band - Don’t “Stop”"},
		{"INFO in CP1251", wavWith(infoList("IART", "\xca\xe8\xed\xee", "INAM", "\xc3\xf0\xf3\xef\xef\xe0 \xea\xf0\xee\xe2\xe8")), "Кино - Группа крови"},
		{"INFO after the data", wavWith(nil, infoList("INAM", "Tail", "IART", "Band")), "Band - Tail"},
		{"INFO before fmt", slices.Concat([]byte("RIFF\x00\x00\x00\x00WAVE"), infoList("INAM", "Early"), plain[12:]), "Early"},
		{"title only", wavWith(infoList("INAM", "Alone")), "Alone"},
		{"artist only is no title", wavWith(infoList("IART", "Nobody")), "t"},
		{"junk after the NUL", wavWith(riffChunk("LIST", slices.Concat([]byte("INFO"), riffChunk("INAM", []byte("Clean\x00junk"))))), "Clean"},
		{"odd sizes without pad bytes", wavWith(oddNoPad), "Art - Title"},
		{"odd top-level chunk without pad byte", wavWith(slices.Concat([]byte("junk"), le32(3), []byte("abc"), infoList("INAM", "After Odd"))), "After Odd"},
		{"odd top-level chunk with pad byte", wavWith(slices.Concat(riffChunk("junk", []byte("abc")), infoList("INAM", "Padded"))), "Padded"},
		{"id3 chunk wins over INFO", wavWith(slices.Concat(infoList("INAM", "Info"), id3("ID3 Band", "From ID3"))), "ID3 Band - From ID3"},
		{"ID3 chunk, upper case", wavWith(nil, riffChunk("ID3 ", testmedia.ID3v2("", "Upper", 0))), "Upper"},
		{"broken id3 chunk falls back to INFO", wavWith(slices.Concat(badID3, infoList("INAM", "Info Title"))), "Info Title"},
		{"id3 chunk without title falls back to INFO", wavWith(slices.Concat(id3("Only Artist", ""), infoList("INAM", "Info Title"))), "Info Title"},
		{"streamed data size, INFO before", streamed(infoList("INAM", "Before Stream")), "Before Stream"},
		{"streamed data size, INFO after is audio", streamed(nil, infoList("INAM", "Lost")), "t"},
		{"RIFF size 0", func() []byte { w := wavWith(infoList("INAM", "Sizeless")); copy(w[4:], le32(0)); return w }(), "Sizeless"},
		{"RF64, INFO after the data", rf64(rf64Data, infoList("INAM", "Big One", "IART", "RF")), "RF - Big One"},
		{"BW64, INFO after the data", func() []byte { w := rf64(rf64Data, infoList("INAM", "Broadcast")); copy(w, "BW64"); return w }(), "Broadcast"},
		{"RF64 without ds64", slices.Concat([]byte("RF64\xff\xff\xff\xffWAVE"), plain[12:], infoList("INAM", "No ds64")), "No ds64"},
		{"garbage after the data", wavWith(infoList("INAM", "Before Junk"), []byte{0x01, 0x02, 0x03, 0x04, 0xFF, 0xFF, 0xFF, 0x7F}), "Before Junk"},
		{"file cut inside the LIST chunk", wavWith(nil, infoList("INAM", "Cut Off"))[:len(plain)+20], "t"},
		{"ID3v1 at the end of a WAV", append(wavWith(nil), testmedia.ID3v1("V1", "On Wave")...), "V1 - On Wave"},
		{"header only", plain[:12], "t"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := testmedia.WriteFile(t, t.TempDir(), "t.wav", c.data)
			if got := ReadTitle(path).Display; got != c.display {
				t.Fatalf("Display = %q, want %q", got, c.display)
			}
		})
	}
}

func TestReadTitleAIFF(t *testing.T) {
	cases := []struct {
		name    string
		data    []byte
		display string
	}{
		{"NAME and AUTH", aiffWith(riffChunkBE("NAME", []byte("Song")), riffChunkBE("AUTH", []byte("Band"))), "Band - Song"},
		{"NAME in Latin-1, odd size", aiffWith(riffChunkBE("NAME", []byte("Caf\xe9"))), "Café"},
		{"ID3 chunk wins", aiffWith(riffChunkBE("NAME", []byte("Name")), riffChunkBE("ID3 ", testmedia.ID3v2("Id3", "Tag", 0))), "Id3 - Tag"},
		{"AIFC", func() []byte {
			b := aiffWith(riffChunkBE("NAME", []byte("Compressed")))
			copy(b[8:], "AIFC")
			return b
		}(), "Compressed"},
		{"NAME claims more than the file", aiffWith(slices.Concat([]byte("NAME"), be32(1<<30), []byte("Nope"))), "t"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := testmedia.WriteFile(t, t.TempDir(), "t.aiff", c.data)
			if got := ReadTitle(path).Display; got != c.display {
				t.Fatalf("Display = %q, want %q", got, c.display)
			}
		})
	}
}

func TestReadArtWAVAndAIFF(t *testing.T) {
	front, other := testPNG(t, 4), testJPEG(t, 4)
	tag := id3v23Pictures("T", apic(0, "image/jpeg", 0, []byte("\x00"), other), apic(0, "image/png", 3, []byte("\x00"), front))
	cases := []struct {
		name, file string
		data       []byte
		want       []byte
	}{
		{"wav id3 chunk after the data", "t.wav", wavWith(infoList("INAM", "x"), riffChunk("id3 ", tag)), front},
		{"wav ID3 chunk", "t.wav", wavWith(riffChunk("ID3 ", tag)), front},
		{"rf64 id3 chunk after the data", "t.wav", rf64(binary.LittleEndian.AppendUint64(nil, uint64(len(testmedia.WAV(0.01, 8000, 1, 16))-44)), riffChunk("id3 ", tag)), front},
		{"wav without id3 chunk", "t.wav", wavWith(infoList("INAM", "x")), nil},
		{"aiff ID3 chunk", "t.aiff", aiffWith(riffChunkBE("ID3 ", tag)), front},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mime := ""
			if c.want != nil {
				mime = "image/png"
			}
			checkArt(t, testmedia.WriteFile(t, t.TempDir(), c.file, c.data), c.want, mime)
		})
	}
}

// The hand-built WAV and AIFF fixtures are files ffmpeg reads the same
// way, so the tests above are about real layouts.
func TestWAVFixturesAgreeWithFFprobe(t *testing.T) {
	bin := testmedia.RequireTool(t, "ffprobe")
	cases := map[string][]byte{
		"info.wav":       wavWith(infoList("IART", "Зоя", "INAM", "Party 🎉")),
		"info-after.wav": wavWith(nil, infoList("INAM", "Tail", "IART", "Band")),
		"id3.wav":        wavWith(riffChunk("id3 ", testmedia.ID3v2("ID3 Band", "From ID3", 8))),
		"t.aiff":         aiffWith(riffChunkBE("NAME", []byte("Song")), riffChunkBE("AUTH", []byte("Band"))),
		"id3.aiff":       aiffWith(riffChunkBE("ID3 ", testmedia.ID3v2("Id3", "Tag", 0))),
	}
	dir := t.TempDir()
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			path := testmedia.WriteFile(t, dir, name, data)
			out, err := exec.Command(bin, "-v", "error", "-show_entries", "format_tags=title,artist,author", "-of", "json", path).Output()
			if err != nil {
				t.Fatalf("ffprobe: %v", err)
			}
			var probe struct {
				Format struct {
					Tags map[string]string `json:"tags"`
				} `json:"format"`
			}
			if err := json.Unmarshal(out, &probe); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			ffTitle, ffArtist := probe.Format.Tags["title"], probe.Format.Tags["artist"]+probe.Format.Tags["author"] // AIFF's AUTH is "author"
			if got := ReadTitle(path); got.Title != ffTitle || got.Artist != ffArtist || ffTitle == "" {
				t.Fatalf("ReadTitle %+q; ffprobe title %q artist %q", got, ffTitle, ffArtist)
			}
		})
	}
}
