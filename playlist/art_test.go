package playlist

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// testImage is a side×side image whose pixels depend on seed, so pictures
// made with different seeds differ.
func testImage(side int, seed byte) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	for y := range side {
		for x := range side {
			img.Set(x, y, color.RGBA{byte(x * 16), byte(y * 16), seed, 255})
		}
	}
	return img
}

func testPNG(t testing.TB, side int) []byte { return testPNGSeed(t, side, 0) }

func testPNGSeed(t testing.TB, side int, seed byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, testImage(side, seed)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func testJPEG(t testing.TB, side int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testImage(side, 1), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func testGIF(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gif.Encode(&b, testImage(4, 2), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// apic is an APIC frame body: text encoding, MIME, picture type,
// description (encoded per enc), picture.
func apic(enc byte, mime string, typ byte, desc []byte, data []byte) []byte {
	b := append([]byte{enc}, mime...)
	b = append(b, 0, typ)
	return append(append(b, desc...), data...)
}

// id3v23Pictures is an ID3v2.3 tag with a title and the given APIC frames.
func id3v23Pictures(title string, frames ...[]byte) []byte {
	body := frame23("TIT2", append([]byte{3}, title...))
	for _, f := range frames {
		body = append(body, frame23("APIC", f)...)
	}
	return tagV2(3, 0, body)
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func checkArt(t *testing.T, path string, want []byte, wantMIME string) {
	t.Helper()
	art, ok := ReadArt(path)
	switch {
	case want == nil && ok:
		t.Fatalf("ReadArt found %s of %d bytes, want none", art.MIME, len(art.Data))
	case want == nil:
		if art.MIME != "" || art.Data != nil || art.Hash != "" {
			t.Fatalf("ok is false but Art is %+v", art)
		}
	case !ok:
		t.Fatalf("ReadArt found nothing, want %s of %d bytes", wantMIME, len(want))
	case !bytes.Equal(art.Data, want):
		t.Fatalf("Data is %d bytes (% x...), want the %d-byte picture", len(art.Data), art.Data[:min(8, len(art.Data))], len(want))
	case art.MIME != wantMIME:
		t.Fatalf("MIME = %q, want %q", art.MIME, wantMIME)
	case art.Hash != hashOf(want):
		t.Fatalf("Hash = %q, want %q", art.Hash, hashOf(want))
	}
}

// Covers as ffmpeg attaches them (FLAC PICTURE, MP4 covr, ID3v2 APIC), and
// as Vorbis and Opus taggers store them (METADATA_BLOCK_PICTURE), which
// ffmpeg writes when given the comment. ffmpeg copies the picture's bytes.
func TestReadArtFromFFmpeg(t *testing.T) {
	dir := t.TempDir()
	covers := map[string][]byte{"image/png": testPNG(t, 16), "image/jpeg": testJPEG(t, 16)}
	for mime, pic := range covers {
		cover := testmedia.WriteFile(t, dir, "cover-"+filepath.Base(mime), pic)
		attach := []string{"-i", cover, "-map", "0", "-map", "1", "-c:v", "copy", "-disposition:v", "attached_pic",
			"-metadata", "title=With Cover", "-metadata", "artist=Пикча"}
		block := "METADATA_BLOCK_PICTURE=" + base64.StdEncoding.EncodeToString(pictureBlock(3, mime, "Front", pic))
		comment := []string{"-metadata", block, "-metadata", "title=With Cover", "-metadata", "artist=Пикча"}
		cases := map[string][]string{
			"t.flac": attach,
			"t.m4a":  append(slices.Clone(attach), "-c:a", "aac"),
			"t.mp3":  attach,
			"t.ogg":  append([]string{"-c:a", "libvorbis"}, comment...),
			"t.opus": append([]string{"-c:a", "libopus"}, comment...),
		}
		for file, args := range cases {
			t.Run(mime+" "+file, func(t *testing.T) {
				t.Parallel()
				path := ffmpegAudio(t, t.TempDir(), file, args...)
				checkArt(t, path, pic, mime)
				if got := ReadTitle(path).Display; got != "Пикча - With Cover" {
					t.Errorf("title next to the picture: %q", got)
				}
			})
		}
	}
}

func TestReadArtWithoutPicture(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"plain.flac", "plain.m4a", "plain.ogg", "plain.mp3", "plain.wav"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkArt(t, ffmpegAudio(t, dir, name, "-metadata", "title=No Cover"), nil, "")
		})
	}
	t.Run("missing file", func(t *testing.T) { checkArt(t, filepath.Join(dir, "gone.mp3"), nil, "") })
	t.Run("folder", func(t *testing.T) { checkArt(t, dir, nil, "") })
	t.Run("empty file", func(t *testing.T) { checkArt(t, testmedia.WriteFile(t, dir, "empty.mp3"), nil, "") })
}

func TestReadArtChoosesThePicture(t *testing.T) {
	front, back, other := testPNGSeed(t, 4, 1), testPNGSeed(t, 4, 2), testJPEG(t, 4)
	gifPic := testGIF(t)
	webp := append([]byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00"), make([]byte, 10)...)
	bmp := append([]byte("BM"), make([]byte, 60)...)
	utf16Desc := []byte{0xFF, 0xFE, 'C', 0, 0, 'x', 0, 0} // "C\u7800": a NUL byte inside a UTF-16 unit
	audio := testmedia.Frames(2)
	frontAPIC := apic(0, "image/png", 3, []byte("\x00"), front)
	vc := func(pics ...[]byte) []byte {
		var cs []string
		for _, p := range pics {
			cs = append(cs, "METADATA_BLOCK_PICTURE="+base64.StdEncoding.EncodeToString(p))
		}
		return vorbisComment("v", cs...)
	}
	opus := func(comment []byte) []byte {
		return oggFile(3, 4096, append([]byte("OpusHead"), make([]byte, 11)...), append([]byte("OpusTags"), comment...))
	}

	cases := []struct {
		name, file string
		data       []byte
		want       []byte
		mime       string
	}{
		{"id3v2: front cover after another picture", "x.mp3",
			append(id3v23Pictures("T", apic(0, "image/jpeg", 0, []byte("other\x00"), other), apic(0, "image/png", 3, []byte("\x00"), front)), audio...), front, "image/png"},
		{"id3v2: first picture without a front cover", "x.mp3",
			append(id3v23Pictures("T", apic(0, "image/png", 4, []byte("\x00"), back), apic(0, "image/jpeg", 0, []byte("\x00"), other)), audio...), back, "image/png"},
		{"id3v2: first front cover of two", "x.mp3",
			append(id3v23Pictures("T", apic(0, "image/png", 3, []byte("\x00"), front), apic(0, "image/png", 3, []byte("\x00"), back)), audio...), front, "image/png"},
		{"id3v2: a BMP is passed over", "x.mp3",
			append(id3v23Pictures("T", apic(0, "image/bmp", 3, []byte("\x00"), bmp), apic(0, "image/png", 0, []byte("\x00"), back)), audio...), back, "image/png"},
		{"id3v2: the MIME claim is not trusted", "x.mp3",
			append(id3v23Pictures("T", apic(0, "image/png", 3, []byte("\x00"), other)), audio...), other, "image/jpeg"},
		{"id3v2: a link is no picture", "x.mp3",
			append(id3v23Pictures("T", apic(0, "-->", 3, []byte("\x00"), []byte("http://example.com/a.png"))), audio...), nil, ""},
		{"id3v2: UTF-16 description", "x.mp3",
			append(id3v23Pictures("T", apic(1, "image/png", 3, utf16Desc, front)), audio...), front, "image/png"},
		{"id3v2: UTF-8 description, GIF", "x.mp3",
			append(id3v23Pictures("T", apic(3, "image/gif", 3, []byte("Обложка\x00"), gifPic)), audio...), gifPic, "image/gif"},
		{"id3v2: WebP", "x.mp3", append(id3v23Pictures("T", apic(0, "image/webp", 3, []byte("\x00"), webp)), audio...), webp, "image/webp"},
		{"id3v2.2 PIC", "x.mp3",
			append(tagV2(2, 0, slices.Concat([]byte("PIC"), []byte{0, 0, byte(5 + 1 + len(front))}, []byte("\x00PNG\x03\x00"), front)), audio...), front, "image/png"},
		{"id3v2.3 tag-level unsynchronisation", "x.mp3",
			append(tagV2(3, 0x80, unsynchronise(frame23("APIC", apic(0, "image/jpeg", 3, []byte("\x00"), other)))), audio...), other, "image/jpeg"},
		{"id3v2.4 frame-level unsynchronisation", "x.mp3",
			append(tagV2(4, 0, frame24("APIC", 0x02, unsynchronise(apic(0, "image/jpeg", 3, []byte("\x00"), other)))), audio...), other, "image/jpeg"},
		{"id3v2.4 compressed frame is passed over", "x.mp3", // (stored uncompressed, so only the flag says no)
			append(tagV2(4, 0, frame24("APIC", 0x09, append(syncsafe4(len(frontAPIC)), frontAPIC...))), audio...), nil, ""},
		{"flac: front PICTURE block after a back cover", "x.flac",
			flacFile(flacBlock(flacPicture, false, pictureBlock(4, "image/png", "", back)), flacBlock(flacPicture, true, pictureBlock(3, "image/png", "front", front))), front, "image/png"},
		{"flac: picture in the Vorbis comment", "x.flac",
			flacFile(flacBlock(flacVorbisComment, true, vc(pictureBlock(3, "image/png", "", front)))), front, "image/png"},
		{"flac: unknown picture type 200 still a picture", "x.flac",
			flacFile(flacBlock(flacPicture, true, pictureBlock(200, "image/png", "", back))), back, "image/png"},
		{"flac: native picture beats a leading id3v2 one", "x.flac",
			append(id3v23Pictures("T", apic(0, "image/png", 3, []byte("\x00"), back)), flacFile(flacBlock(flacPicture, true, pictureBlock(0, "image/png", "", front)))...), front, "image/png"},
		{"flac: leading id3v2 picture when the stream has none", "x.flac",
			append(id3v23Pictures("T", apic(0, "image/png", 3, []byte("\x00"), back)), flacFile()...), back, "image/png"},
		{"opus: front cover second", "x.opus",
			opus(vc(pictureBlock(0, "image/jpeg", "", other), pictureBlock(3, "image/png", "", front))), front, "image/png"},
		{"opus: broken base64 then a good picture", "x.opus",
			opus(vorbisComment("v", "METADATA_BLOCK_PICTURE=!!!notbase64", "METADATA_BLOCK_PICTURE="+base64.StdEncoding.EncodeToString(pictureBlock(3, "image/png", "", front)))), front, "image/png"},
		{"ogg: legacy COVERART", "x.ogg",
			oggFile(3, 4096, append([]byte("\x01vorbis"), make([]byte, 23)...), append([]byte("\x03vorbis"), vorbisComment("v", "COVERARTMIME=image/jpeg", "COVERART="+base64.StdEncoding.EncodeToString(other))...)), other, "image/jpeg"},
		{"m4a: first covr picture", "x.m4a",
			m4aFile(mp4Box("\xa9nam", mp4Data(1, []byte("T"))), mp4Box("covr", mp4Data(13, other), mp4Data(14, front))), other, "image/jpeg"},
		{"m4a: covr of unknown class, PNG bytes", "x.m4a", m4aFile(mp4Box("covr", mp4Data(0, front))), front, "image/png"},
		{"m4a: a BMP first, the PNG next", "x.m4a", m4aFile(mp4Box("covr", mp4Data(27, bmp), mp4Data(14, front))), front, "image/png"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkArt(t, testmedia.WriteFile(t, t.TempDir(), c.file, c.data), c.want, c.mime)
		})
	}
}

// frame24 is an ID3v2.4 frame (syncsafe size) with format flags.
func frame24(id string, flags byte, data []byte) []byte {
	out := append([]byte(id), syncsafe4(len(data))...)
	out = append(out, 0, flags)
	return append(out, data...)
}

func TestReadArtSizeLimit(t *testing.T) {
	big := append(testPNG(t, 4), make([]byte, MaxArtBytes)...) // one byte too many once the PNG is there
	atLimit := big[:MaxArtBytes]
	small := testJPEG(t, 4)
	cases := []struct {
		name string
		data []byte
		want []byte
	}{
		{"mp3 at the limit", append(id3v23Pictures("T", apic(0, "image/png", 3, []byte("\x00"), atLimit)), testmedia.Frames(2)...), atLimit},
		{"mp3 over the limit, smaller one next", append(id3v23Pictures("T", apic(0, "image/png", 3, []byte("\x00"), big), apic(0, "image/jpeg", 0, []byte("\x00"), small)), testmedia.Frames(2)...), small},
		{"flac over the limit", flacFile(flacBlock(flacPicture, true, pictureBlock(3, "image/png", "", big))), nil},
		{"m4a over the limit", m4aFile(mp4Box("covr", mp4Data(14, big))), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mime := ""
			if c.want != nil {
				mime = sniffImage(c.want)
			}
			checkArt(t, testmedia.WriteFile(t, t.TempDir(), "x.bin", c.data), c.want, mime)
		})
	}
}

// One picture has one Hash in every file; different pictures have
// different ones.
func TestReadArtHashIdentifiesThePicture(t *testing.T) {
	dir := t.TempDir()
	a, b := testPNGSeed(t, 8, 1), testPNGSeed(t, 8, 2)
	read := func(name string, data []byte) Art {
		art, ok := ReadArt(testmedia.WriteFile(t, dir, name, data))
		if !ok {
			t.Fatalf("%s: no art", name)
		}
		return art
	}
	mp3 := read("a.mp3", append(id3v23Pictures("One", apic(0, "image/png", 3, []byte("\x00"), a)), testmedia.Frames(2)...))
	flac := read("a.flac", flacFile(flacBlock(flacPicture, true, pictureBlock(3, "image/png", "desc", a))))
	other := read("b.flac", flacFile(flacBlock(flacPicture, true, pictureBlock(3, "image/png", "desc", b))))
	if mp3.Hash != flac.Hash || len(mp3.Hash) != 32 {
		t.Errorf("same picture: %q and %q", mp3.Hash, flac.Hash)
	}
	if other.Hash == flac.Hash {
		t.Errorf("different pictures share Hash %q", other.Hash)
	}
}

// Sizes a broken or hostile file claims for pictures are not allocated.
func TestReadArtHostileSizesDoNotAllocate(t *testing.T) {
	pngHead := testPNG(t, 2)[:16]
	short := func(b []byte) []byte { return b[:len(b)-(MaxArtBytes-64)] } // a picture block claiming 8 MiB, holding 64 bytes
	claim8M := pictureBlock(3, "image/png", "", append(pngHead, make([]byte, MaxArtBytes-16)...))
	cases := map[string][]byte{
		"flac picture block cut short": flacFile(flacBlock(flacPicture, true, short(claim8M))),
		"flac picture data past block": flacFile(flacBlock(flacPicture, false, short(claim8M)), flacBlock(1, true, make([]byte, 32))),
		"opus picture cut short": oggFile(3, 4096, append([]byte("OpusHead"), make([]byte, 11)...),
			append([]byte("OpusTags"), vorbisComment("v", "METADATA_BLOCK_PICTURE="+base64.StdEncoding.EncodeToString(short(claim8M)))...)),
		"opus comment claims 2 GB": oggFile(3, 4096, append([]byte("OpusHead"), make([]byte, 11)...),
			slices.Concat([]byte("OpusTags"), le32(0), le32(1), be32(0x7FFFFFF0), []byte("METADATA_BLOCK_PICTURE=AAAA"))),
		"m4a covr 2 GB": m4aFile(append(append(be32(0x7FFFFFF0), "covr"...), mp4Data(14, pngHead)...)),
		"m4a data 2 GB": m4aFile(mp4Box("covr", append(append(be32(0x7FFFFFF0), "data"...), append(make([]byte, 8), pngHead...)...))),
		"mp3 APIC 2 GB": append(tagV2(3, 0, append([]byte("APIC\x7f\xff\xff\xf0\x00\x00\x00image/png\x00\x03\x00"), pngHead...)), testmedia.Frames(2)...),
		"wav id3 2 GB":  wavWith(slices.Concat([]byte("id3 "), le32(0x7FFFFFF0), id3v23Pictures("T", apic(0, "image/png", 3, []byte("\x00"), pngHead)))),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			path := testmedia.WriteFile(t, t.TempDir(), "hostile.bin", data)
			var ok bool
			n := allocBytes(func() { _, ok = ReadArt(path) })
			if ok {
				t.Error("ReadArt found a picture")
			}
			if n > 256<<10 {
				t.Errorf("ReadArt allocated %d bytes", n)
			}
		})
	}
}

// Reading a large picture costs about the picture, once.
func TestReadArtAllocatesAboutOnePicture(t *testing.T) {
	pic := append(testPNG(t, 4), make([]byte, 4<<20)...)
	size := uint64(len(pic))
	ogg := oggFile(3, 4096, append([]byte("OpusHead"), make([]byte, 11)...),
		append([]byte("OpusTags"), vorbisComment("v", "METADATA_BLOCK_PICTURE="+base64.StdEncoding.EncodeToString(pictureBlock(3, "image/png", "", pic)))...))
	cases := []struct {
		name   string
		data   []byte
		budget uint64
	}{
		{"mp3", append(id3v23Pictures("T", apic(0, "image/png", 3, []byte("\x00"), pic)), testmedia.Frames(2)...), size + 256<<10},
		{"flac", flacFile(flacBlock(flacPicture, true, pictureBlock(3, "image/png", "", pic))), size + 256<<10},
		{"m4a", m4aFile(mp4Box("covr", mp4Data(14, pic))), size + 256<<10},
		{"wav", wavWith(riffChunk("id3 ", id3v23Pictures("T", apic(0, "image/png", 3, []byte("\x00"), pic)))), size + 256<<10},
		{"opus", ogg, size + 256<<10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := testmedia.WriteFile(t, t.TempDir(), "big.bin", c.data)
			var art Art
			n := allocBytes(func() { art, _ = ReadArt(path) })
			if !bytes.Equal(art.Data, pic) {
				t.Fatalf("got %d bytes, want the %d-byte picture", len(art.Data), len(pic))
			}
			t.Logf("allocated %.2f× the picture", float64(n)/float64(size))
			if n > c.budget {
				t.Errorf("allocated %d bytes for a %d-byte picture, budget %d", n, size, c.budget)
			}
		})
	}
}

func TestSniffImage(t *testing.T) {
	for in, want := range map[string]string{
		"\xff\xd8\xff\xe0":              "image/jpeg",
		"\x89PNG\r\n\x1a\nrest":         "image/png",
		"GIF87a..":                      "image/gif",
		"GIF89a..":                      "image/gif",
		"RIFF\x00\x00\x00\x00WEBPVP8 ":  "image/webp",
		"RIFF\x00\x00\x00\x00WAVEfmt ":  "",
		"BM\x00\x00":                    "",
		"\xff\xd8":                      "",
		"<svg xmlns='http://www.w3...'": "",
		"":                              "",
	} {
		if got := sniffImage([]byte(in)); got != want {
			t.Errorf("sniffImage(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzReadArt(f *testing.F) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")
	f.Add(append(id3v23Pictures("T", apic(0, "image/png", 3, []byte("\x00"), png)), testmedia.Frames(1)...))
	f.Add(tagV2(4, 0, frame24("APIC", 0x02, unsynchronise(apic(1, "image/png", 3, []byte{0xFF, 0xFE, 0, 0}, png)))))
	f.Add(tagV2(2, 0, slices.Concat([]byte("PIC\x00\x00\x19\x00PNG\x03\x00"), png)))
	f.Add(flacFile(flacBlock(flacPicture, true, pictureBlock(3, "image/png", "d", png))))
	f.Add(oggFile(3, 64, append([]byte("OpusHead"), make([]byte, 11)...),
		append([]byte("OpusTags"), vorbisComment("v", "METADATA_BLOCK_PICTURE="+base64.StdEncoding.EncodeToString(pictureBlock(3, "image/png", "", png)))...)))
	f.Add(m4aFile(mp4Box("covr", mp4Data(14, png))))
	f.Add(wavWith(riffChunk("id3 ", id3v23Pictures("T", apic(0, "image/png", 3, []byte("\x00"), png)))))
	f.Add(aiffWith(riffChunkBE("ID3 ", id3v23Pictures("T", apic(0, "image/png", 3, []byte("\x00"), png)))))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.bin")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		art, ok := ReadArt(path)
		if !ok {
			return
		}
		if art.MIME != sniffImage(art.Data) || art.MIME == "" || len(art.Data) > MaxArtBytes || art.Hash != hashOf(art.Data) {
			t.Fatalf("bad art: MIME %q, %d bytes, Hash %q", art.MIME, len(art.Data), art.Hash)
		}
		if len(art.Data) > len(data) {
			t.Fatalf("picture of %d bytes from a %d-byte file", len(art.Data), len(data))
		}
	})
}

func BenchmarkReadArt(b *testing.B) {
	pic := append(testPNG(b, 16), make([]byte, 100<<10)...)
	files := map[string][]byte{
		"mp3":  append(id3v23Pictures("T", apic(0, "image/png", 3, []byte("\x00"), pic)), testmedia.Frames(10)...),
		"flac": flacFile(flacBlock(flacPicture, true, pictureBlock(3, "image/png", "", pic))),
		"m4a":  m4aFile(mp4Box("covr", mp4Data(14, pic))),
		"opus": oggFile(3, 4096, append([]byte("OpusHead"), make([]byte, 11)...), append([]byte("OpusTags"), vorbisComment("v", "METADATA_BLOCK_PICTURE="+base64.StdEncoding.EncodeToString(pictureBlock(3, "image/png", "", pic)))...)),
	}
	for name, data := range files {
		b.Run(name, func(b *testing.B) {
			path := testmedia.WriteFile(b, b.TempDir(), "t."+name, data)
			b.ReportAllocs()
			b.SetBytes(int64(len(pic)))
			for b.Loop() {
				if _, ok := ReadArt(path); !ok {
					b.Fatal("no art")
				}
			}
		})
	}
}
